from django.urls import path
from rest_framework.routers import DefaultRouter

from . import views_annotate, views_audit, views_auth, views_import, views_projects, views_snapshots

router = DefaultRouter(trailing_slash=True)
router.register("users", views_auth.UserViewSet, basename="user")
router.register("audit", views_audit.AuditEventViewSet, basename="audit-event")
router.register("projects", views_projects.ProjectViewSet, basename="project")
router.register("me/annotations", views_annotate.MyAnnotationViewSet, basename="my-annotation")
router.register("me/skipped", views_annotate.MySkippedViewSet, basename="my-skipped")

assignment_submit = views_annotate.AssignmentViewSet.as_view({"post": "submit"})
assignment_skip = views_annotate.AssignmentViewSet.as_view({"post": "skip"})
assignment_unskip = views_annotate.AssignmentViewSet.as_view({"post": "unskip"})
import_items = views_import.ImportViewSet.as_view({"post": "create"})
import_preview = views_import.ImportViewSet.as_view({"post": "preview"})
curation_rules = views_projects.CurationViewSet.as_view({"get": "rules", "put": "rules"})
curation_preview = views_projects.CurationViewSet.as_view({"post": "preview"})
project_snapshots = views_snapshots.ProjectSnapshotViewSet.as_view({"get": "list", "post": "create"})
snapshot_detail = views_snapshots.SnapshotViewSet.as_view({"get": "retrieve"})

urlpatterns = [
    path("auth/csrf/", views_auth.CsrfView.as_view()),
    path("auth/login/", views_auth.LoginView.as_view()),
    path("auth/logout/", views_auth.LogoutView.as_view()),
    path("auth/me/", views_auth.MeView.as_view()),
    path("auth/token/", views_auth.TokenView.as_view()),
    path("projects/<int:pk>/next/", views_annotate.NextView.as_view()),
    path("assignments/<int:pk>/submit/", assignment_submit),
    path("assignments/<int:pk>/skip/", assignment_skip),
    path("assignments/<int:pk>/unskip/", assignment_unskip),
    path("projects/<int:pk>/import/", import_items),
    path("projects/<int:pk>/import/preview/", import_preview),
    path("projects/<int:pk>/curation/", curation_rules),
    path("projects/<int:pk>/curation/preview/", curation_preview),
    path("projects/<int:pk>/snapshots/", project_snapshots),
    path("snapshots/<int:pk>/", snapshot_detail),
    path("snapshots/<int:pk>/files/<str:name>", views_snapshots.SnapshotFileView.as_view()),
    *router.urls,
]
