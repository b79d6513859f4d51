"""Dataset snapshots over HTTP: create (answered at once, built by a worker), list, read, download.

Leads of the project and admins only; anyone else gets 404. A snapshot is never changed
or deleted through the API: these views map GET and POST only, so PATCH, PUT and DELETE
answer 405.
"""

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.response import Response

from .. import artifacts, snapshots
from ..artifacts import snapshot_prefix
from ..models import DatasetSnapshot
from ..selectors import snapshot_file_path, snapshot_list_for_lead, snapshot_list_for_user
from ..services.snapshots import snapshot_create
from .views_projects import ProjectScoped

CONTENT_TYPES = {"jsonl": "application/jsonl", "parquet": "application/vnd.apache.parquet"}


class SnapshotIn(serializers.Serializer):
    rules = serializers.DictField(required=False, help_text="Curation rules; the project's saved rules when left out.")
    test_fraction = serializers.FloatField(required=False, default=0.1, help_text="Share of prompts held out, 0..0.9.")
    seed = serializers.IntegerField(required=False, default=0, help_text="Fixes the split and the pseudonyms.")
    options = serializers.DictField(required=False, default=dict,
                                    help_text='{"parquet": bool, "ranking_pairs": "all" | "best_vs_rest"}')


class SnapshotFileOut(serializers.Serializer):
    name = serializers.CharField()
    rows = serializers.IntegerField()
    sha256 = serializers.CharField()
    bytes = serializers.IntegerField()
    url = serializers.CharField()


class SnapshotOut(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    files = serializers.SerializerMethodField()
    fingerprint = serializers.SerializerMethodField(help_text="sha256 of the files' sha256sum listing")

    class Meta:
        model = DatasetSnapshot
        fields = ["id", "project", "state", "rules", "options", "test_fraction", "seed", "counts", "files",
                  "fingerprint", "library_version", "error", "created_by", "created_at", "finished_at"]

    @extend_schema_field(SnapshotFileOut(many=True))
    def get_files(self, snapshot) -> list[dict]:
        return [{**f, "url": f"/api/snapshots/{snapshot.pk}/files/{f['name']}"} for f in snapshot.files]

    def get_fingerprint(self, snapshot) -> str | None:
        return snapshots.fingerprint(snapshot.files) if snapshot.state == DatasetSnapshot.State.READY else None


class ProjectSnapshotViewSet(ProjectScoped, viewsets.GenericViewSet):
    """`/api/projects/{id}/snapshots/`: the project's snapshots, newest first; POST asks for a new one."""

    queryset = DatasetSnapshot.objects.none()
    serializer_class = SnapshotOut
    pagination_class = None

    def list(self, request, pk=None):
        project = self.project
        return Response(SnapshotOut(snapshot_list_for_lead(project), many=True).data)

    @extend_schema(request=SnapshotIn, responses={202: SnapshotOut},
                   summary="Freeze the curated answers into a snapshot (built by a worker; answers 202 at once)")
    def create(self, request, pk=None):
        project = self.project
        data = SnapshotIn(data=request.data)
        data.is_valid(raise_exception=True)
        snapshot = snapshot_create(project=project, created_by=request.user, **data.validated_data)
        return Response(SnapshotOut(snapshot).data, status=status.HTTP_202_ACCEPTED)


class SnapshotViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """`/api/snapshots/{id}/`: metadata, counts and the files with their hashes."""

    serializer_class = SnapshotOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DatasetSnapshot.objects.none()
        return snapshot_list_for_user(self.request.user)


class _AnyAccept(BaseContentNegotiation):
    """A download is bytes whatever the client accepts; errors still render as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class SnapshotFileView(GenericAPIView):
    """`/api/snapshots/{id}/files/{name}`: one file of a ready snapshot, as stored."""

    content_negotiation_class = _AnyAccept
    serializer_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return DatasetSnapshot.objects.none()
        return snapshot_list_for_user(self.request.user)

    @extend_schema(responses={(200, kind): OpenApiTypes.BINARY for kind in [*CONTENT_TYPES.values(),
                                                                           "application/octet-stream"]},
                   summary="Download one snapshot file (its sha256 is the ETag)")
    def get(self, request, pk=None, name=None):
        snapshot = self.get_object()
        path = snapshot_file_path(snapshot=snapshot, name=name)
        if path is None:
            raise Http404
        if path.exists():
            stream = open(path, "rb")
        elif artifacts.store().exists(f"{snapshot_prefix(snapshot.pk)}/{name}"):  # built on another machine
            stream = artifacts.store().open(f"{snapshot_prefix(snapshot.pk)}/{name}", "rb")
        else:
            raise Http404
        digest = next(f["sha256"] for f in snapshot.files if f["name"] == name)
        response = FileResponse(stream, as_attachment=True, filename=name,
                                content_type=CONTENT_TYPES.get(name.rsplit(".", 1)[-1], "application/octet-stream"))
        response["ETag"] = f'"{digest}"'
        return response
