"""Training jobs and the model registry over HTTP (see docs/API.md, "Training").

Admins launch, cancel and retry; leads of a snapshot's project read its jobs and models; others get 404.
"""

from dataclasses import asdict

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from annotation.api.errors import Conflict
from annotation.api.permissions import IsAdmin
from annotation.api.views_projects import ProjectScoped

from ..arena import model_strengths
from ..engine.config import KINDS, json_schema
from ..models import Constitution, Model, TrainingJob
from ..selectors import (
    job_list_filtered,
    job_list_for_user,
    led_project_ids,
    metric_list_for_job,
    model_comparisons,
    model_list_for_project,
    model_list_for_user,
    project_lineage,
)
from ..services.jobs import JobConflict, job_cancel, job_launch, job_retry, job_validate
from ..services.loop import generation_preview
from .serializers import (
    ConstitutionIn,
    ConstitutionOut,
    JobIn,
    JobOut,
    KindOut,
    LineageGraphOut,
    LogOut,
    MetricOut,
    MetricsOut,
    ModelOut,
    PreviewOut,
    StrengthsOut,
)

MAX_LOG_LINES = 2000


def _int_param(params, name: str, *, minimum: int = 0) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if not value.isascii() or not value.isdigit() or int(value) < minimum:
        raise ValidationError({name: f"must be a whole number of at least {minimum}"})
    return int(value)


def _choice_param(params, name: str, choices) -> str | None:
    value = params.get(name) or None
    if value is not None and value not in choices:
        raise ValidationError({name: f"must be one of {sorted(choices)}"})
    return value


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
        params = self.request.query_params
        return job_list_filtered(jobs, kind=_choice_param(params, "kind", KINDS),
                                 status=_choice_param(params, "status", TrainingJob.Status.values),
                                 project=_int_param(params, "project"), model=_int_param(params, "model"))

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("status", str),
                               OpenApiParameter("project", int), OpenApiParameter("model", int)])
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

    @extend_schema(parameters=[OpenApiParameter("after", int, description="only steps after this one")],
                   responses=MetricsOut, summary="Every logged step, oldest first")
    @action(detail=True, methods=["get"], pagination_class=None)
    def metrics(self, request, pk=None):
        job = self.get_object()
        rows = list(metric_list_for_job(job, after=_int_param(request.query_params, "after")))
        last = rows[-1].step if rows else _int_param(request.query_params, "after")
        return Response({"results": MetricOut(rows, many=True).data, "last_step": last})

    @extend_schema(parameters=[OpenApiParameter("lines", int)], responses=LogOut,
                   summary="The tail of the engine's log")
    @action(detail=True, methods=["get"], pagination_class=None)
    def log(self, request, pk=None):
        job = self.get_object()
        wanted = min(_int_param(request.query_params, "lines", minimum=1) or 200, MAX_LOG_LINES)
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
        models = model_list_for_user(self.request.user)
        if self.action == "list":
            params = self.request.query_params
            kind = _choice_param(params, "kind", Model.Kind.values)
            task = _choice_param(params, "task", Model.Task.values)
            models = models.filter(kind=kind) if kind else models
            models = models.filter(task=task) if task else models
        return models

    @extend_schema(parameters=[OpenApiParameter("kind", str), OpenApiParameter("task", str)])
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
        return Response(ConstitutionOut(Constitution.objects.filter(project=project), many=True).data)

    @extend_schema(request=ConstitutionIn, responses={201: ConstitutionOut})
    def post(self, request, pk=None):
        project = self.project
        data = ConstitutionIn(data=request.data)
        data.is_valid(raise_exception=True)
        constitution = Constitution.objects.create(project=project, created_by=request.user, **data.validated_data)
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
