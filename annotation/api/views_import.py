"""Importing items into a project: a JSON body or a JSONL / CSV / JSON file, written, or only previewed."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from .. import importing
from ..services.imports import import_limits, items_import_preview, items_import_records
from .parsers import FormParser, ImportJSONParser, MultiPartParser
from .serializers import ImportPreview, ImportResult
from .views_projects import ProjectScoped

IMPORT_REQUEST = {
    "application/json": inline_serializer("ImportBody", {"items": serializers.ListField()}),
    "multipart/form-data": inline_serializer("ImportFile", {"file": serializers.FileField()}),
}


def _records(request, errors: importing.Errors):
    """(line, object) pairs: a body's items, or an uploaded file's lines read as they are needed."""
    upload = request.FILES.get("file")
    if upload is None:
        return importing.body_records(request.data, errors)
    return importing.records(upload.file, upload.name or "upload.jsonl", errors, import_limits())


class ImportViewSet(ProjectScoped, viewsets.GenericViewSet):
    """POST /api/projects/{id}/import/ writes; POST /api/projects/{id}/import/preview/ only says what it would do."""

    parser_classes = [ImportJSONParser, MultiPartParser, FormParser]

    @extend_schema(request=IMPORT_REQUEST, responses={201: ImportResult},
                   summary="Import prompts and responses (JSON body, or a JSONL / CSV / JSON file upload)")
    def create(self, request, pk=None):
        project = self.project
        errors = importing.Errors()
        result = items_import_records(project=project, records=_records(request, errors), errors=errors)
        return Response(result, status=status.HTTP_201_CREATED)

    @extend_schema(request=IMPORT_REQUEST, responses={200: ImportPreview},
                   summary="Check an import without writing: the counts it would give, its first rows, every problem")
    def preview(self, request, pk=None):
        project = self.project
        errors = importing.Errors()
        return Response(items_import_preview(project=project, records=_records(request, errors), errors=errors))
