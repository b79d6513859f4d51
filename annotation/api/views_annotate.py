"""The annotator's hot path: next, submit, skip; and their own answers."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import json_input
from ..models import Annotation, Assignment
from ..selectors import (
    annotation_list_for_annotator,
    item_shown,
    project_for_member,
    skipped_list_for_annotator,
)
from ..services.annotations import annotation_submit, annotation_update
from ..services.assignments import Lease, assignment_next, assignment_skip, assignment_unskip
from .answer_in import ANSWER_IN, checked
from .params import MineFiltersIn, query_params
from .serializers import (
    AnswerIn,
    AssignmentOut,
    MyAnnotationDetailOut,
    MyAnnotationListOut,
    MyAnnotationOut,
    MySkippedOut,
    SkipIn,
)

MAX_ID = 2**63 - 1  # a bigint; SQLite refuses a larger integer in the hand-written SQL outright


def _existing_id(pk: int) -> int:
    if pk > MAX_ID:
        raise Http404
    return pk


def assignment_payload(lease: Lease) -> dict:
    conversation, texts = lease.shown or item_shown(lease.item_id)  # a new lease comes with its texts
    return {
        "assignment": lease.pk,
        "expires_at": lease.expires_at,
        "item": {
            "id": lease.item_id,
            "conversation": conversation,
            "responses": [{"id": rid, "text": texts[rid]} for rid in lease.shown_order],
        },
    }


# One instance each, built once: a ModelSerializer builds its fields from the model on every instantiation (about a
# millisecond a response on the hot path), and to_representation keeps no state, so one serves every request.
_ASSIGNMENT_OUT = AssignmentOut()
_ANSWER_OUT = MyAnnotationOut()


def _mine(request) -> dict:
    """The own-lists' filter as the selectors take it: {project_id} when the query string names a project."""
    project = query_params(MineFiltersIn, request).get("project")
    return {} if project is None else {"project_id": project}


class NextView(APIView):
    @extend_schema(request=None, responses={200: AssignmentOut, 204: None},
                   summary="Lease the caller's next item (or return the lease they hold)")
    def post(self, request, pk: int):
        project = project_for_member(request.user, _existing_id(pk))
        if project is None:
            raise Http404
        lease = assignment_next(project=project, user=request.user)
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(_ASSIGNMENT_OUT.to_representation(assignment_payload(lease)))


class AssignmentViewSet(viewsets.GenericViewSet):
    queryset = Assignment.objects.none()

    def get_serializer_class(self):  # what OPTIONS describes, for the route's POST
        return SkipIn if self.action_map.get("post") == "skip" else AnswerIn

    @extend_schema(
        request=AnswerIn, responses={201: MyAnnotationOut, 200: MyAnnotationOut},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     description="Repeat a submit safely: the same key returns the first answer.")],
        summary="Submit the answer to a leased item",
    )
    def submit(self, request, pk=None):
        key = request.headers.get("Idempotency-Key") or None
        problem = key is not None and ("at most 200 characters" if len(key) > 200 else
                                       json_input.NUL_MESSAGE if json_input.NUL in key else None)
        if problem:
            return Response({"errors": [{"field": "Idempotency-Key", "message": problem}]},
                            status=status.HTTP_400_BAD_REQUEST)
        annotation, created = annotation_submit(assignment_id=_existing_id(pk), user=request.user,
                                                idempotency_key=key, **checked(ANSWER_IN, request.data))
        data = _ANSWER_OUT.to_representation(annotation)
        if annotation.gold_feedback is not None:  # the answer is committed: now it may say whether gold matched
            data["gold_feedback"] = annotation.gold_feedback
        return Response(data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=SkipIn, responses={200: None}, summary="Skip a leased item; it will not come back")
    def skip(self, request, pk=None):
        data = SkipIn(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = assignment_skip(assignment_id=pk, user=request.user, reason=data.validated_data["reason"])
        return Response({"assignment": assignment.pk, "status": assignment.status})

    @extend_schema(request=None, responses={200: None},
                   summary="Take a skipped item back: it becomes the caller's lease, which next then returns")
    def unskip(self, request, pk=None):
        assignment = assignment_unskip(assignment_id=_existing_id(pk), user=request.user)
        return Response({"assignment": assignment.pk, "status": assignment.status,
                         "expires_at": assignment.expires_at})


@extend_schema_view(list=extend_schema(parameters=[MineFiltersIn]))
class MyAnnotationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_value_regex = "[0-9]+"  # /api/me/annotations/abc/ matches no route: a 404

    def get_serializer_class(self):
        return MyAnnotationDetailOut if self.action == "retrieve" else MyAnnotationListOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no real user
            return Annotation.objects.none()
        return annotation_list_for_annotator(self.request.user, **_mine(self.request))

    @extend_schema(request=AnswerIn, responses={200: MyAnnotationListOut},
                   summary="Change one's own answer while its item is not complete")
    def partial_update(self, request, pk=None):
        annotation = annotation_update(annotation_id=pk, user=request.user, **checked(ANSWER_IN, request.data))
        return Response(MyAnnotationListOut(annotation).data)


@extend_schema_view(list=extend_schema(parameters=[MineFiltersIn]))
class MySkippedViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's skipped items, latest first; POST /api/assignments/{assignment}/unskip/ takes one back."""

    serializer_class = MySkippedOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        return skipped_list_for_annotator(self.request.user, **_mine(self.request))
