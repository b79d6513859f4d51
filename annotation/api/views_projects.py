import re
from functools import cached_property

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from .. import json_input
from ..models import Adjudication, Item, Project
from ..selectors import (
    ItemStatus,
    annotations_for_item,
    item_list_for_lead,
    items_for_lead,
    my_progress_for_user,
    project_get_for_user,
    project_list_for_user,
    project_member,
    project_progress,
    project_roles_for_user,
    prompt_excerpts,
)
from ..services.adjudications import adjudication_set, adjudication_withdraw
from ..services.curation import curation_preview, curation_rules_save
from ..services.projects import item_set_gold, membership_remove, membership_set, project_create, project_update
from ..services.quality import agreement_report_current, agreement_report_get, agreement_request
from .permissions import IsAdmin, IsProjectLead, IsProjectMember
from .serializers import (
    AdjudicationIn,
    AdjudicationOut,
    GoldIn,
    ItemLeadOut,
    LeadAnnotationOut,
    MembershipIn,
    MembershipOut,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
)

ITEM_STATUSES = tuple(ItemStatus.values)
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")
_BOOLEAN_FILTERS = ("is_gold", "flagged", "adjudicated")
_METADATA_KEY = re.compile(r"^[\w.-]{1,100}$")


def _boolean(params, name: str, errors: dict) -> bool | None:
    raw = (params.get(name) or "").lower()
    value = True if raw in _TRUE else False if raw in _FALSE else None
    if raw and value is None:
        errors[name] = "must be true or false"
    return value


def _share(params, name: str, errors: dict) -> float | None:
    raw = params.get(name) or None
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        value = None
    if raw is not None and (value is None or not 0 <= value <= 1):  # NaN fails the range too
        errors[name] = "must be a number from 0 to 1"
    return value


def _text(params, name: str, errors: dict) -> str | None:
    raw = params.get(name) or None
    if raw is not None and json_input.NUL in raw:
        errors[name] = json_input.NUL_MESSAGE
    return raw


def _metadata(params, errors: dict) -> dict[str, str]:
    """`metadata=key=value`, repeatable; every one must match."""
    out = {}
    for raw in params.getlist("metadata"):
        key, sep, value = raw.partition("=")
        if not sep or not _METADATA_KEY.match(key) or json_input.NUL in value:
            errors["metadata"] = "must be key=value, the key letters, digits, '_', '.' or '-' (e.g. source=forum)"
        else:
            out[key] = value
    return out


def item_filters(project, params) -> dict:
    """Validate the item list's query string: each bad value is a 400 naming its parameter."""
    errors, out = {}, {}
    out["status"] = params.get("status") or None
    if out["status"] is not None and out["status"] not in ITEM_STATUSES:
        errors["status"] = f"must be one of {list(ITEM_STATUSES)}"
    out.update({name: _boolean(params, name, errors) for name in _BOOLEAN_FILTERS})
    out.update({name: _share(params, name, errors) for name in ("min_agreement", "max_agreement")})
    if out["min_agreement"] is not None and out["max_agreement"] is not None \
            and out["min_agreement"] > out["max_agreement"]:
        errors["min_agreement"] = "must not be above max_agreement"
    out.update({name: _text(params, name, errors) for name in ("q", "model")})
    out["metadata"] = _metadata(params, errors)
    username = _text(params, "annotator", errors)
    out["annotator"] = None
    if username and "annotator" not in errors:
        out["annotator"] = project_member(project, username)
        if out["annotator"] is None:
            errors["annotator"] = f"no member of this project is named {username!r}"
    if errors:
        raise serializers.ValidationError(errors)
    return out


ITEM_FILTER_PARAMETERS = [
    OpenApiParameter("status", str, enum=list(ITEM_STATUSES)), OpenApiParameter("is_gold", bool),
    OpenApiParameter("flagged", bool, description="items with (true) or without (false) a flagged answer"),
    OpenApiParameter("adjudicated", bool), OpenApiParameter("min_agreement", float),
    OpenApiParameter("max_agreement", float),
    OpenApiParameter("q", str, description="text in the prompt or a response (case-insensitive)"),
    OpenApiParameter("metadata", str, many=True, description="key=value, repeatable"),
    OpenApiParameter("annotator", str, description="username: items they answered"),
    OpenApiParameter("model", str, description="a response's model name"),
]


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
        roles = project_roles_for_user(user)
        if user.is_staff:
            roles = {pid: roles.get(pid, "admin") for pid in self.get_queryset().values_list("id", flat=True)}
        context["roles"] = roles
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
            rows = project.memberships.select_related("user").order_by("user__username")
            return Response(MembershipOut(rows, many=True).data)
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

    @extend_schema(parameters=ITEM_FILTER_PARAMETERS, responses={200: ItemLeadOut(many=True)})
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        project = self.project
        items = item_list_for_lead(project, **item_filters(project, request.query_params))
        page = self.paginate_queryset(items)
        return self.get_paginated_response(ItemLeadOut(page, many=True).data)

    @extend_schema(parameters=ITEM_FILTER_PARAMETERS, responses={200: ItemLeadOut},
                   description="The item, its responses and answers, the lead's ruling, and the previous and next "
                               "item of the list the same filters give (`neighbours`).")
    @action(detail=True, methods=["get"], url_path=r"items/(?P<item_id>[0-9]+)")
    def item_detail(self, request, pk=None, item_id=None):
        project = self.project
        item = get_object_or_404(items_for_lead(project), pk=item_id)
        data = ItemLeadOut(item).data
        responses = {r.pk: r for r in item.prompt.responses.all()}
        data["responses"] = [{"id": rid, "text": responses[rid].text, "model": responses[rid].model_name}
                             for rid in item.response_ids if rid in responses]
        data["metadata"] = item.prompt.metadata
        data["answers"] = LeadAnnotationOut(annotations_for_item(item), many=True).data
        ruling = Adjudication.objects.filter(item=item).select_related("decided_by").first()
        data["adjudication"] = AdjudicationOut(ruling).data if ruling else None
        listed = item_list_for_lead(project, **item_filters(project, request.query_params)).values_list("id", flat=True)
        data["neighbours"] = {"previous": listed.filter(id__lt=item.id).order_by("-id").first(),
                              "next": listed.filter(id__gt=item.id).order_by("id").first()}
        return Response(data)

    @extend_schema(methods=["PUT"], request=AdjudicationIn, responses={200: AdjudicationOut})
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @action(detail=True, methods=["put", "delete"], url_path=r"items/(?P<item_id>[0-9]+)/adjudication")
    def item_adjudication(self, request, pk=None, item_id=None):
        """Settle the item (replacing any earlier ruling), or withdraw the ruling."""
        project = self.project
        item = get_object_or_404(Item.objects.select_related("project"), pk=item_id, project=project)
        if request.method == "DELETE":  # idempotent: withdrawing a ruling that is not there leaves none too
            adjudication_withdraw(item=item, actor=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        ruling = adjudication_set(item=item, decided_by=request.user, payload=request.data)
        return Response(AdjudicationOut(ruling).data)

    @extend_schema(request=GoldIn, responses={200: ItemLeadOut})
    @action(detail=True, methods=["post"], url_path=r"items/(?P<item_id>[0-9]+)/gold")
    def item_gold(self, request, pk=None, item_id=None):
        project = self.project
        item = get_object_or_404(Item.objects.select_related("prompt", "project"), pk=item_id, project=project)
        data = GoldIn(data=request.data)
        data.is_valid(raise_exception=True)
        item = item_set_gold(item=item, actor=request.user, **data.validated_data)
        return Response(ItemLeadOut(item).data)

    @extend_schema(
        parameters=[OpenApiParameter("criterion", str), OpenApiParameter("since", str, description="date or date-time"),
                    OpenApiParameter("until", str), OpenApiParameter("annotators", str, description="comma-separated usernames")],
        responses={200: inline_serializer("Agreement", {"status": serializers.CharField(), "stale": serializers.BooleanField(),
                                                        "computed_at": serializers.DateTimeField()}),
                   202: inline_serializer("AgreementPending", {"status": serializers.CharField()})},
        summary="Agreement, reliability and bias (computed by a worker; 202 while the first computation runs)",
    )
    @action(detail=True, methods=["get"])
    def agreement(self, request, pk=None):
        project = self.project
        report = agreement_report_get(project=project, filters=agreement_filters(project, request.query_params))
        current = agreement_report_current(report)
        if not current:
            agreement_request(report=report)
        if report.data is None:
            return Response({"status": "pending", "filters": report.filters}, status=status.HTTP_202_ACCEPTED)
        data = {**report.data, "contested_items": contested_with_prompts(report.data.get("contested_items"))}
        return Response({"status": "ready" if current else "refreshing", "stale": not current,
                         "computed_at": report.computed_at, "seconds": report.seconds, "filters": report.filters,
                         **data})

    @extend_schema(responses={200: inline_serializer("Progress", {"items": serializers.DictField(),
                                                                  "annotations": serializers.IntegerField(),
                                                                  "annotators": serializers.ListField()})})
    @action(detail=True, methods=["get"])
    def progress(self, request, pk=None):
        return Response(project_progress(self.project))


PROMPT_EXCERPT = 120


def contested_with_prompts(rows: list[dict] | None) -> list[dict]:
    """The report's most contested items, each with an excerpt of its prompt (read now: the report keeps ids)."""
    rows = rows or []
    prompts = prompt_excerpts([row["item"] for row in rows], PROMPT_EXCERPT)
    return [{**row, "prompt": prompts.get(row["item"], "")} for row in rows]


def agreement_filters(project, params) -> dict:
    """Validate the query string into the normalised filters a report is keyed by."""
    from django.utils.dateparse import parse_date, parse_datetime

    filters, errors = {}, []
    criterion = params.get("criterion") or None
    if criterion is not None:
        if criterion not in (project.criteria or []):
            errors.append({"field": "criterion", "message": f"unknown criterion; this project has {project.criteria}"})
        filters["criterion"] = criterion
    for name in ("since", "until"):
        raw = params.get(name)
        if raw:
            try:  # well-formed but impossible (2026-02-30) raises
                parsed = parse_datetime(raw)
                if parsed is None and (day := parse_date(raw)):
                    parsed = f"{day.isoformat()}T00:00:00+00:00"
            except ValueError:
                parsed = None
            if not parsed:
                errors.append({"field": name, "message": "must be a date (2026-11-25) or an ISO date-time"})
            else:
                filters[name] = parsed if isinstance(parsed, str) else parsed.isoformat()
    if params.get("annotators"):  # empty: left out, like since= and until=
        names = sorted({a.strip() for a in params["annotators"].split(",") if a.strip()})
        if not names:  # "annotators=," would be the unfiltered report under another key
            errors.append({"field": "annotators", "message": "give at least one username (a,b), or leave it out"})
        elif any(json_input.NUL in name for name in names):
            errors.append({"field": "annotators", "message": json_input.NUL_MESSAGE})
        filters["annotators"] = names
    if errors:
        raise serializers.ValidationError({e["field"]: e["message"] for e in errors})
    return filters


class CurationViewSet(ProjectScoped, viewsets.GenericViewSet):
    """The project's saved curation rules, and a preview of what any rules keep."""

    queryset = Project.objects.none()

    @extend_schema(request=inline_serializer("CurationRules", {"rules": serializers.DictField()}),
                   responses={200: inline_serializer("CurationRulesOut", {"rules": serializers.DictField()})})
    def rules(self, request, pk=None):
        project = self.project
        if request.method == "PUT":
            if not isinstance(request.data, dict) or "rules" not in request.data:
                raise serializers.ValidationError({"rules": 'required: {"rules": {...}}; {"rules": {}} clears them'})
            project = curation_rules_save(project=project, rules=request.data["rules"], actor=request.user)
        return Response({"rules": project.curation_rules})

    @extend_schema(request=inline_serializer("CurationPreviewIn", {"rules": serializers.DictField()}),
                   # initial and remaining are null where the kind has no curation (demonstration projects).
                   responses={200: inline_serializer("CurationPreview", {
                       "initial": serializers.DictField(allow_null=True), "preview": serializers.ListField(),
                       "remaining": serializers.DictField(allow_null=True)})},
                   summary="How many items and answers each rule removes, and what remains")
    def preview(self, request, pk=None):
        project = self.project
        rules = request.data.get("rules", project.curation_rules) if isinstance(request.data, dict) else None
        return Response(curation_preview(project=project, rules=rules))
