"""Reads shared by views and tasks, with the visibility rule: admins see every job and model; a project's
leads see the jobs trained on its snapshots and the models they produced, and the models nobody trained
here (base models); everyone else sees nothing (404)."""

from django.db.models import Q, QuerySet

from annotation.models import Membership

from .models import Model, TrainingJob, TrainingMetric

JOB_RELATED = ("snapshot__project", "base_model", "reference_model", "reward_model", "output_model", "created_by",
               "cancelled_by")


def _led_projects(user) -> QuerySet:
    return Membership.objects.filter(user=user, role=Membership.Role.LEAD).values("project_id")


def job_list_for_user(user) -> QuerySet[TrainingJob]:
    jobs = TrainingJob.objects.select_related(*JOB_RELATED)
    if user.is_staff:
        return jobs
    return jobs.filter(snapshot__project__in=_led_projects(user))


def job_list_filtered(jobs: QuerySet[TrainingJob], *, kind=None, status=None, project=None, model=None):
    if kind:
        jobs = jobs.filter(kind=kind)
    if status:
        jobs = jobs.filter(status=status)
    if project is not None:
        jobs = jobs.filter(snapshot__project_id=project)
    if model is not None:
        jobs = jobs.filter(Q(base_model_id=model) | Q(reference_model_id=model) | Q(reward_model_id=model)
                           | Q(output_model__id=model))
    return jobs


def model_list_for_user(user) -> QuerySet[Model]:
    models = Model.objects.select_related("job__snapshot__project", "parent")
    if user.is_staff:
        return models
    return models.filter(Q(job__isnull=True) | Q(job__snapshot__project__in=_led_projects(user)))


def model_list_for_project(project_id: int) -> QuerySet[Model]:
    return Model.objects.select_related("job__snapshot__project", "parent").filter(
        job__snapshot__project_id=project_id)


def metric_list_for_job(job: TrainingJob, *, after: int | None = None) -> QuerySet[TrainingMetric]:
    metrics = TrainingMetric.objects.filter(job=job).order_by("step")
    return metrics.filter(step__gt=after) if after is not None else metrics
