"""Training jobs and the model registry over HTTP (see docs/API.md, "Training").

Admins launch, cancel and retry; leads of a snapshot's project read its jobs and models; others get 404.
"""

from dataclasses import asdict

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from annotation.api.errors import Conflict
from annotation.api.params import query_params
from annotation.api.permissions import IsAdmin
from annotation.api.views_projects import ProjectScoped

from ..arena import model_strengths
from ..engine.config import KINDS, json_schema
from ..models import Model, TrainingJob
from ..selectors import (
    constitution_list_for_project,
    job_list_filtered,
    job_list_for_user,
    led_project_ids,
    metric_list_for_job,
    model_comparisons,
    model_list_for_project,
    model_list_for_user,
    project_lineage,
)
from ..services.constitutions import constitution_create
from ..services.jobs import JobConflict, job_cancel, job_launch, job_retry, job_validate
from ..services.loop import generation_preview
from .serializers import (
    ConstitutionIn,
    ConstitutionOut,
    JobFiltersIn,
    JobIn,
    JobOut,
    KindOut,
    LineageGraphOut,
    LogOut,
    LogQueryIn,
    MetricOut,
    MetricsOut,
    MetricsQueryIn,
    ModelFiltersIn,
    ModelOut,
    PreviewOut,
    StrengthsOut,
)

MAX_LOG_LINES = 2000


def kind_description(name: str) -> dict:
    kind = KINDS[name]
    base_kinds = ["base", "policy"] + (["reward"] if name == "reward" else [])
    return {**{k: v for k, v in asdict(kind).items() if k != "config"}, "kind": kind.name,
            "base_model_kinds": base_kinds, "base_model_tasks": list(kind.base_model_tasks),
            "schema": json_schema(name)}


class TrainingJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = JobOut

    def get_permissions(self):
        if self.action in ("cancel", "retry"):
            return [IsAdmin()]
        return super().get_permissions()

    def _may_launch(self, data: dict) -> None:
        """Admins launch anything; a project's lead may start a new round into it, or its AI annotator."""
        user = self.request.user
        if user.is_staff:
            return
        target = (data.get("config") or {}).get({"generate": "target_project", "ai_annotate": "project"}.get(
            data.get("kind"), ""), None) if isinstance(data.get("config"), dict) else None
        if not (isinstance(target, int) and target in led_project_ids(user)):
            raise PermissionDenied("only administrators can launch this job (leads may start a new round or an AI "
                                   "annotator for a project they lead)")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TrainingJob.objects.none()
        jobs = job_list_for_user(self.request.user)
        if self.action != "list":
            return jobs
        return job_list_filtered(jobs, **query_params(JobFiltersIn, self.request))

    @extend_schema(parameters=[JobFiltersIn])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=JobIn, responses={201: JobOut}, summary="Launch a training job (admins)")
    def create(self, request):
        self._may_launch(request.data if isinstance(request.data, dict) else {})
        data = JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        job = job_launch(created_by=request.user, **data.validated_data)
        return Response(JobOut(self.get_queryset().get(pk=job.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=JobIn, responses=PreviewOut, summary="What a generate job would create, without launching")
    @action(detail=False, methods=["post"])
    def preview(self, request):
        self._may_launch(request.data if isinstance(request.data, dict) else {})
        data = JobIn(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["kind"] != TrainingJob.Kind.GENERATE:
            raise ValidationError({"kind": "only a generate job has a preview"})
        config = job_validate(**{k: v for k, v in data.validated_data.items()})
        return Response(generation_preview(config=config, snapshot=data.validated_data.get("snapshot")))

    @extend_schema(responses=KindOut(many=True), summary="Job kinds and the JSON schema of each kind's config")
    @action(detail=False, methods=["get"], pagination_class=None)
    def kinds(self, request):
        return Response([kind_description(name) for name in KINDS])

    @extend_schema(parameters=[MetricsQueryIn], responses=MetricsOut, summary="Every logged step, oldest first")
    @action(detail=True, methods=["get"], pagination_class=None)
    def metrics(self, request, pk=None):
        job = self.get_object()
        after = query_params(MetricsQueryIn, request).get("after")
        rows = list(metric_list_for_job(job, after=after))
        last = rows[-1].step if rows else after
        return Response({"results": MetricOut(rows, many=True).data, "last_step": last})

    @extend_schema(parameters=[LogQueryIn], responses=LogOut, summary="The tail of the engine's log")
    @action(detail=True, methods=["get"], pagination_class=None)
    def log(self, request, pk=None):
        job = self.get_object()
        wanted = min(query_params(LogQueryIn, request).get("lines") or 200, MAX_LOG_LINES)
        lines = job.log_tail.splitlines()[-wanted:]
        return Response({"text": "\n".join(lines), "lines": len(lines)})

    @extend_schema(request=None, responses=JobOut, summary="Cancel: within one training step (admins)")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._change(job_cancel, cancelled_by=request.user)

    @extend_schema(request=None, responses=JobOut, summary="Queue a failed or cancelled job again (admins)")
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        return self._change(job_retry, retried_by=request.user)

    def _change(self, change, **by) -> Response:
        """Apply a state change to this job and answer the job as it is now; a change its state refuses is a 409."""
        job = self.get_object()
        try:
            change(job=job, **by)
        except JobConflict as exc:
            raise Conflict(str(exc)) from None
        return Response(JobOut(self.get_queryset().get(pk=job.pk)).data)


class ModelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ModelOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Model.objects.none()
        filters = query_params(ModelFiltersIn, self.request) if self.action == "list" else {}
        return model_list_for_user(self.request.user, **filters)

    @extend_schema(parameters=[ModelFiltersIn])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class ProjectModelsView(ProjectScoped, ListAPIView):
    """`/api/projects/{id}/models/`: the models trained from the project's snapshots (leads, admins)."""

    serializer_class = ModelOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Model.objects.none()
        return model_list_for_project(self.project.pk)


class ProjectConstitutionsView(ProjectScoped, GenericAPIView):
    """`/api/projects/{id}/constitutions/`: the project's constitutions for Constitutional AI (leads, admins)."""

    serializer_class = ConstitutionOut
    pagination_class = None

    @extend_schema(responses=ConstitutionOut(many=True))
    def get(self, request, pk=None):
        project = self.project
        return Response(ConstitutionOut(constitution_list_for_project(project.pk), many=True).data)

    @extend_schema(request=ConstitutionIn, responses={201: ConstitutionOut})
    def post(self, request, pk=None):
        project = self.project
        data = ConstitutionIn(data=request.data)
        data.is_valid(raise_exception=True)
        constitution = constitution_create(project=project, created_by=request.user, **data.validated_data)
        return Response(ConstitutionOut(constitution).data, status=status.HTTP_201_CREATED)


class ProjectModelStrengthsView(ProjectScoped, GenericAPIView):
    """`/api/projects/{id}/model-strengths/`: Bradley-Terry strengths of the models whose answers people compared."""

    serializer_class = StrengthsOut

    @extend_schema(responses=StrengthsOut)
    def get(self, request, pk=None):
        project = self.project
        return Response({"models": model_strengths(model_comparisons(project.pk))})


class ProjectLineageView(ProjectScoped, GenericAPIView):
    """`/api/projects/{id}/lineage/`: snapshots → jobs → models → generated rounds → the next snapshots."""

    serializer_class = LineageGraphOut

    @extend_schema(responses=LineageGraphOut)
    def get(self, request, pk=None):
        project = self.project
        return Response(project_lineage(project.pk))
