from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("training-jobs", views.TrainingJobViewSet, basename="training-job")
router.register("models", views.ModelViewSet, basename="model")

urlpatterns = [
    path("projects/<int:pk>/models/", views.ProjectModelsView.as_view()),
    path("projects/<int:pk>/constitutions/", views.ProjectConstitutionsView.as_view()),
    path("projects/<int:pk>/model-strengths/", views.ProjectModelStrengthsView.as_view()),
    path("projects/<int:pk>/lineage/", views.ProjectLineageView.as_view()),
    *router.urls,
]
