from functools import cached_property

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ..models import Project
from ..selectors import (
    contested_item_list_for_lead,
    item_detail_get_for_lead,
    item_get_for_lead,
    item_list_for_lead,
    item_neighbours_for_lead,
    membership_list_for_lead,
    my_progress_for_user,
    project_get_for_user,
    project_list_for_user,
    project_progress,
    project_roles_for_user,
)
from ..services.adjudications import adjudication_set, adjudication_withdraw
from ..services.curation import curation_preview, curation_rules_save
from ..services.projects import item_set_gold, membership_remove, membership_set, project_create, project_update
from ..services.quality import agreement_report_current, agreement_report_get, agreement_request
from .answer_in import ADJUDICATION_IN, checked
from .curation_in import CurationPreviewIn, CurationRulesIn
from .params import AgreementFiltersIn, ItemFiltersIn, query_params
from .permissions import IsAdmin, IsProjectLead, IsProjectMember
from .serializers import (
    AdjudicationIn,
    AdjudicationOut,
    GoldIn,
    ItemDetailOut,
    ItemLeadOut,
    MembershipIn,
    MembershipOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
)


class ProjectScoped:
    """Routes under /api/projects/{pk}/: lead-only unless a view says otherwise (`IsProjectMember`). The project is
    read once, with the caller's role; a caller turned away there gets a 404, as for a project that is not there."""

    permission_classes = [IsAuthenticated, IsProjectLead]

    @cached_property
    def visible_project(self) -> Project | None:
        return project_get_for_user(self.request.user, self.kwargs["pk"])

    @property
    def project(self) -> Project:
        if self.visible_project is None:
            raise Http404
        return self.visible_project

    def permission_denied(self, request, message=None, code=None):
        if request.user.is_authenticated and "pk" in self.kwargs:
            raise Http404
        super().permission_denied(request, message=message, code=code)


class ProjectViewSet(ProjectScoped, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Projects: the caller's list; one project for its members; its settings, members, items, agreement and
    progress for its leads (and admins); new projects for admins."""

    serializer_class = ProjectOut
    lookup_value_regex = "[0-9]+"  # /api/projects/abc/... matches no route: a 404, not a failed integer lookup

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Project.objects.none()
        return project_list_for_user(self.request.user).order_by("id")

    def get_permissions(self):
        if self.action == "list":
            return [IsAuthenticated()]
        if self.action == "retrieve":  # annotators read the project they work in (its guidelines, their progress)
            return [IsAuthenticated(), IsProjectMember()]
        if self.action == "create":
            return [IsAuthenticated(), IsAdmin()]
        return super().get_permissions()

    def get_object(self):
        return self.project  # read once, with the caller's role, by the permission check

    def get_serializer_context(self):
        context = super().get_serializer_context()
        user = self.request.user
        context["roles"] = roles = project_roles_for_user(user)
        context["progress"] = my_progress_for_user(user, list(roles))
        return context

    @extend_schema(request=ProjectIn, responses={201: ProjectOut})
    def create(self, request):
        data = ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_create(created_by=request.user, **data.validated_data)
        return Response(ProjectOut(project, context={"roles": {project.id: "admin"}}).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProjectPatch, responses={200: ProjectOut})
    def partial_update(self, request, pk=None):
        project = self.project
        data = ProjectPatch(project, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        project = project_update(project=project, actor=request.user, **data.validated_data)
        return Response(ProjectOut(project, context=self.get_serializer_context()).data)

    @extend_schema(methods=["GET"], responses={200: MembershipOut(many=True)})
    @extend_schema(methods=["POST"], request=MembershipIn, responses={201: MembershipOut})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # a project's few members, in one list
    def members(self, request, pk=None):
        project = self.project
        if request.method == "GET":
            return Response(MembershipOut(membership_list_for_lead(project), many=True).data)
        data = MembershipIn(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(project=project, username=data.validated_data["user"], role=data.validated_data["role"],
                                    actor=request.user)
        return Response(MembershipOut(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["delete"], url_path=r"members/(?P<username>[\w.@+-]+)")
    def member_remove(self, request, pk=None, username=None):
        project = self.project
        if not membership_remove(project=project, username=username, actor=request.user):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[ItemFiltersIn], responses={200: ItemLeadOut(many=True)})
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        project = self.project
        items = item_list_for_lead(project, **query_params(ItemFiltersIn, request, project))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ItemLeadOut(page, many=True).data)

    @extend_schema(parameters=[ItemFiltersIn], responses={200: ItemDetailOut},
                   description="The item, its responses and answers, the lead's ruling, and the previous and next "
                               "item of the list the same filters give (`neighbours`).")
    @action(detail=True, methods=["get"], url_path=r"items/(?P<item_id>[0-9]+)")
    def item_detail(self, request, pk=None, item_id=None):
        project = self.project
        item = item_detail_get_for_lead(project, item_id)
        neighbours = item_neighbours_for_lead(project, item, **query_params(ItemFiltersIn, request, project))
        return Response(ItemDetailOut(item, context={"neighbours": neighbours}).data)

    @extend_schema(methods=["PUT"], request=AdjudicationIn, responses={200: AdjudicationOut})
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(detail=True, methods=["put", "delete"], url_path=r"items/(?P<item_id>[0-9]+)/adjudication")
    def item_adjudication(self, request, pk=None, item_id=None):
        """Settle the item (replacing any earlier ruling), or withdraw the ruling."""
        project = self.project
        item = item_get_for_lead(project, item_id)
        if request.method == "DELETE":  # idempotent: withdrawing a ruling that is not there leaves none too
            adjudication_withdraw(item=item, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        ruling = adjudication_set(item=item, decided_by=request.user, **checked(ADJUDICATION_IN, request.data))
        return Response(AdjudicationOut(ruling).data)

    @extend_schema(request=GoldIn, responses={200: ItemLeadOut})
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item_id>[0-9]+)/gold")
    def item_gold(self, request, pk=None, item_id=None):
        project = self.project
        item = item_get_for_lead(project, item_id)
        data = GoldIn(data=request.data)
        data.is_valid(raise_exception=True)
        item = item_set_gold(item=item, actor=request.user, **data.validated_data)
        return Response(ItemLeadOut(item).data)

    @extend_schema(
        parameters=[AgreementFiltersIn],
        responses={200: inline_serializer("Agreement", {"status": serializers.CharField(), "stale": serializers.BooleanField(),
                                                        "computed_at": serializers.DateTimeField()}),
                   202: inline_serializer("AgreementPending", {"status": serializers.CharField()})},
        summary="Agreement, reliability and bias (computed by a worker; 202 while the first computation runs)",
    )
    @action(detail=True, methods=["get"])
    def agreement(self, request, pk=None):
        project = self.project
        report = agreement_report_get(project=project, filters=query_params(AgreementFiltersIn, request, project))
        current = agreement_report_current(report)
        if not current:
            agreement_request(report=report)
        if report.data is None:
            return Response({"status": "pending", "filters": report.filters}, status=status.HTTP_202_ACCEPTED)
        data = {**report.data, "contested_items": contested_item_list_for_lead(report.data.get("contested_items"))}
        return Response({"status": "ready" if current else "refreshing", "stale": not current,
                         "computed_at": report.computed_at, "seconds": report.seconds, "filters": report.filters,
                         **data})

    @extend_schema(responses={200: inline_serializer("Progress", {"items": serializers.DictField(),
                                                                  "annotations": serializers.IntegerField(),
                                                                  "annotators": serializers.ListField()})})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        return Response(project_progress(self.project))


class CurationViewSet(ProjectScoped, viewsets.GenericViewSet):
    """The project's saved curation rules, and a preview of what any rules keep."""

    queryset = Project.objects.none()

    @extend_schema(request=CurationRulesIn,
                   responses={200: inline_serializer("CurationRulesOut", {"rules": serializers.DictField()})})
    def rules(self, request, pk=None):
        project = self.project
        if request.method == "PUT":
            body = CurationRulesIn(data=request.data)
            body.is_valid(raise_exception=True)
            project = curation_rules_save(project=project, rules=body.validated_data["rules"], actor=request.user)
        return Response({"rules": project.curation_rules})

    @extend_schema(request=CurationPreviewIn,
                   # initial and remaining are null where the kind has no curation (demonstration projects).
                   responses={200: inline_serializer("CurationPreview", {
                       "initial": serializers.DictField(allow_null=True), "preview": serializers.ListField(),
                       "remaining": serializers.DictField(allow_null=True)})},
                   summary="How many items and answers each rule removes, and what remains")
    def preview(self, request, pk=None):
        project = self.project
        body = CurationPreviewIn(data=request.data)
        body.is_valid(raise_exception=True)
        rules = body.validated_data.get("rules", project.curation_rules)
        return Response(curation_preview(project=project, rules=rules))
