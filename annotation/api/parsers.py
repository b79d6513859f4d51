"""Request body parsers: DRF's, bounded in size and refusing what PostgreSQL or the encoders would fail on later.

DRF reads a JSON or form body from the stream whole, without Django's DATA_UPLOAD_MAX_MEMORY_SIZE check,
and its JSON parser recurses (deep nesting raised RecursionError, a 500, before any authentication). These
read at most the limit, parse JSON with orjson, and refuse a NUL character or nesting past
json_input.MAX_DEPTH with a 400 naming the field.
"""

from django.conf import settings
from django.http import QueryDict
from rest_framework import parsers, status
from rest_framework.exceptions import APIException, ParseError, ValidationError

from .. import json_input


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit: int | None = None):
        super().__init__(self.message(settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit))

    @staticmethod
    def message(limit: int) -> str:
        return f"the request body is larger than the limit of {limit / 1048576:.1f} MB"


def read_bounded(stream) -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    data = stream.read() if limit is None else stream.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise RequestTooLarge()
    return data


def refuse_problem(value, *, text: bool = True) -> None:
    problem = json_input.first_problem(value, text=text)
    if problem is not None:
        field, message = problem
        raise ValidationError({field or "non_field_errors": message})


class JSONParser(parsers.JSONParser):
    """JSON bodies, at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, no NUL in any string, at most 64 levels deep."""

    check = True

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        data = read_bounded(stream)
        try:
            if encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
                data = data.decode(encoding)
            value = json_input.loads(data)
        except (UnicodeDecodeError, json_input.MalformedJSON) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if self.check:
            refuse_problem(value)
        return value


class ImportJSONParser(JSONParser):
    """An import body: its lines are checked one by one, with their line numbers (annotation.importing)."""

    check = False


def _refuse_nul_fields(data: QueryDict) -> None:
    for key, values in data.lists():
        if json_input.NUL in key or any(json_input.NUL in value for value in values):
            raise ValidationError({key: json_input.NUL_MESSAGE})


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        data = QueryDict(read_bounded(stream), encoding=encoding)
        _refuse_nul_fields(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """Only the import route takes multipart; annotation.api.uploads has checked the sender and the size first.

    Django's parser bounds the fields (RequestDataTooBig, a 413) and the counting upload handler the file.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _refuse_nul_fields(parsed.data)
        return parsed
