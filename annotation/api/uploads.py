"""Multipart bodies are checked before anything reads them.

Django writes a multipart body to memory or disk in full as soon as anything touches ``request.POST`` or
``request.FILES`` (the CSRF check of a session-authenticated request does), before a view could look at it.
So, ahead of that: a multipart body is taken only on a route that expects a file (the import), only from a
signed-in user, and only up to the import limit, by its Content-Length and by the bytes actually streamed.
"""

import re

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import JsonResponse
from rest_framework import exceptions

from .authentication import TokenAuthentication
from .parsers import RequestTooLarge

UPLOAD_ROUTES = re.compile(r"^/api/projects/[^/]+/import/(preview/)?$")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


def upload_limit() -> int:
    """The most bytes a multipart request may carry: one import file and its framing."""
    return settings.IMPORT_MAX_BYTES + MULTIPART_OVERHEAD


def _refusal(message: str, status: int, **headers) -> JsonResponse:
    response = JsonResponse({"detail": message, "errors": [{"field": None, "message": message}]}, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _signed_in(request) -> bool:
    if getattr(request, "_force_auth_user", None) is not None:  # DRF's test client; DRF's Request honours it too
        return True
    try:
        if TokenAuthentication().authenticate(request) is not None:
            return True
    except exceptions.AuthenticationFailed:
        return False
    return request.user.is_authenticated


class CountingUploadHandler(FileUploadHandler):
    """Stops the upload once the file parts pass the import limit, whatever Content-Length said."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.IMPORT_MAX_BYTES:
            raise RequestTooLarge(settings.IMPORT_MAX_BYTES)
        return raw_data  # handed on to the next handler, which stores it

    def file_complete(self, file_size):
        return None


class UploadGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.content_type == "multipart/form-data":
            refused = self.refuse(request)
            if refused is not None:
                return refused
            request.upload_handlers.insert(0, CountingUploadHandler(request))
        return self.get_response(request)

    @staticmethod
    def refuse(request) -> JsonResponse | None:
        if request.method != "POST" or not UPLOAD_ROUTES.match(request.path_info):
            return _refusal("multipart/form-data is accepted only by the import route; send JSON", 415)
        if not _signed_in(request):
            return _refusal("Authentication credentials were not provided.", 401, **{"WWW-Authenticate": "Token"})
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refusal("the Content-Length header is not a number", 400)
        if length > upload_limit():
            return _refusal(RequestTooLarge.message(settings.IMPORT_MAX_BYTES), 413)
        return None
