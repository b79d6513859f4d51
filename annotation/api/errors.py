"""One error shape for the whole API: {"errors": [{"field": ..., "message": ...}]}.

DRF's errors go through ``exception_handler``; Django's own (no route matched, an error outside DRF)
through ``not_found`` and ``server_error``, wired in rlhf_site/urls.py, which keep Django's HTML pages
for the paths outside /api/. A database that cannot be reached (restarting, failed over) answers 503 with
Retry-After, inside DRF or out: the request can be repeated, and nothing was half-written (each write is one
transaction).
"""

import logging
import sys

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..answers import AnswerError
from ..importing import ImportError_
from ..services.assignments import AssignmentConflict
from ..services.limits import QueueFull
from .parsers import RequestTooLarge

logger = logging.getLogger(__name__)
DATABASE_UNAVAILABLE = "The database is unavailable for a moment; try again shortly."
RETRY_AFTER_SECONDS = 5


class TooManyQueued(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "too much work queued"
    default_code = "queue_full"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "conflict"
    default_code = "conflict"


def error_list(detail, prefix: str = "") -> list[dict]:
    """A serializer's errors in the API's shape: [{field, message}], nested fields dotted (criteria.honesty.tie)."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.extend(error_list(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            return [{"field": prefix or "non_field_errors", "message": str(v)} for v in detail]
        out = []
        for i, value in enumerate(detail):
            out.extend(error_list(value, f"{prefix}[{i}]"))
        return out
    return [{"field": prefix or "non_field_errors", "message": str(detail)}]


class DatabaseUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE
    default_code = "database_unavailable"


def _database_down(exc) -> bool:
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
        return True
    return False


def exception_handler(exc, context):
    if isinstance(exc, (AnswerError, ImportError_)):
        return Response({"errors": exc.errors}, status=status.HTTP_400_BAD_REQUEST)
    if _database_down(exc):
        exc = DatabaseUnavailable()
    elif isinstance(exc, AssignmentConflict):
        exc = Conflict(str(exc))
    elif isinstance(exc, QueueFull):
        exc = TooManyQueued(str(exc))
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, ObjectDoesNotExist):
        exc = Http404()
    elif isinstance(exc, RequestDataTooBig):  # Django's own limit on form fields
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields or files, a malformed upload...
        exc = exceptions.ParseError(str(exc) or "the request could not be read")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": error_list(response.data)}
    else:
        message = response.data.get("detail", str(exc)) if isinstance(response.data, dict) else str(exc)
        response.data = {"detail": str(message), "errors": [{"field": None, "message": str(message)}]}
    return response


def _is_api(request) -> bool:
    return request.path_info == "/api" or request.path_info.startswith("/api/")


def _error_response(message: str, status_code: int) -> JsonResponse:
    return JsonResponse({"detail": message, "errors": [{"field": None, "message": message}]}, status=status_code)


def not_found(request, exception=None):
    """handler404: an /api/ path no route matches answers in the API's shape."""
    if _is_api(request):
        return _error_response("Not found.", status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: an unexpected error on an /api/ path answers in the API's shape (the traceback is logged).

    Django calls it inside its `except` block, so the exception is at hand: one from the database (met outside
    DRF, in a middleware's session read, say) is a 503 there too.
    """
    if _database_down(sys.exc_info()[1]):
        response = _error_response(DATABASE_UNAVAILABLE, status.HTTP_503_SERVICE_UNAVAILABLE)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if _is_api(request):
        return _error_response("A server error occurred.", status.HTTP_500_INTERNAL_SERVER_ERROR)
    return defaults.server_error(request)
