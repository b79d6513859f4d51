from django.conf import settings
from django.contrib import admin
from django.http import HttpResponse, HttpResponseNotFound
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView


def spa(request):
    """Every non-API path is the single-page app; it routes on the client."""
    index = settings.FRONTEND_DIST / "index.html"
    if not index.exists():
        return HttpResponseNotFound("The web app is not built yet: run `make frontend` (or `make run`).")
    return HttpResponse(index.read_bytes(), content_type="text/html; charset=utf-8")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("training.api.urls")),
    path("api/", include("annotation.api.urls")),
    re_path(r"^(?!api/|admin/|static/).*$", spa),
]

# Django's own 404 and 500 (no route matched, an error outside DRF): the API's JSON shape under /api/.
handler404 = "annotation.api.errors.not_found"
handler500 = "annotation.api.errors.server_error"
