"""Reads shared by views and tasks, with the visibility rule: admins see every job and model; a project's
leads see the jobs trained on its snapshots and the models they produced, and the models nobody trained
here (base models); everyone else sees nothing (404)."""

from django.db.models import Q, QuerySet

from annotation.models import Membership

from .models import Constitution, Model, TrainingJob, TrainingMetric

JOB_RELATED = ("snapshot__project", "base_model", "reference_model", "reward_model", "output_model", "created_by",
               "cancelled_by")


def _led_projects(user) -> QuerySet:
    return Membership.objects.filter(user=user, role=Membership.Role.LEAD).values("project_id")


def job_list_for_user(user) -> QuerySet[TrainingJob]:
    """Jobs on a snapshot of a project the user leads, or writing into / answering such a project."""
    jobs = TrainingJob.objects.select_related(*JOB_RELATED)
    if user.is_staff:
        return jobs
    led = led_project_ids(user)
    return jobs.filter(Q(snapshot__project__in=led) | Q(config__target_project__in=led) | Q(config__project__in=led))


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


def model_list_for_user(user, *, kind: str | None = None, task: str | None = None) -> QuerySet[Model]:
    models = Model.objects.select_related("job__snapshot__project", "parent")
    models = models.filter(kind=kind) if kind else models
    models = models.filter(task=task) if task else models
    if user.is_staff:
        return models
    led = _led_projects(user)
    if not led.exists():  # base models too are for those who launch rounds: annotators and outsiders see none
        return models.none()
    return models.filter(Q(job__isnull=True) | Q(job__snapshot__project__in=led))


def model_list_for_project(project_id: int) -> QuerySet[Model]:
    return Model.objects.select_related("job__snapshot__project", "parent").filter(
        job__snapshot__project_id=project_id)


def constitution_list_for_project(project_id: int) -> QuerySet[Constitution]:
    return Constitution.objects.filter(project_id=project_id)


def metric_list_for_job(job: TrainingJob, *, after: int | None = None) -> QuerySet[TrainingMetric]:
    metrics = TrainingMetric.objects.filter(job=job).order_by("step")
    return metrics.filter(step__gt=after) if after is not None else metrics


def led_project_ids(user) -> list[int]:
    return list(_led_projects(user).values_list("project_id", flat=True))


def model_comparisons(project_id: int):
    """Every answered comparison between two different models on the project's items (for the arena table)."""
    from annotation.answers import ranking_groups
    from annotation.models import Annotation, Item, Response

    from .arena import Comparison

    items = dict(Item.objects.filter(project_id=project_id).values_list("id", "response_ids"))
    names = dict(Response.objects.filter(prompt__project_id=project_id).exclude(model_name="").values_list(
        "id", "model_name"))
    out = []
    for item_id, preference, ranking in Annotation.objects.filter(project_id=project_id).values_list(
            "item_id", "preference", "ranking"):
        ids = items.get(item_id) or []
        if preference is not None and len(ids) == 2:
            first, second = names.get(ids[0]), names.get(ids[1])
            if first and second and first != second:
                out.append(Comparison(item_id, first, second, 1.0 if preference < 0 else 0.0 if preference > 0 else 0.5))
        elif ranking:
            groups = ranking_groups(ranking)
            rank = {rid: g for g, group in enumerate(groups) for rid in group}
            for i, a in enumerate(ids):
                for b in ids[i + 1:]:
                    ma, mb = names.get(a), names.get(b)
                    if ma and mb and ma != mb and a in rank and b in rank:
                        out.append(Comparison(item_id, ma, mb, 1.0 if rank[a] < rank[b] else 0.0 if rank[a] > rank[b]
                                              else 0.5))
    return out


def project_lineage(project_id: int) -> dict:
    """Snapshots → jobs → models → generated rounds → the next snapshots, as nodes and edges."""
    from annotation.models import DatasetSnapshot, Response

    nodes, edges = {}, []

    def node(key, type_, label, **extra):
        nodes.setdefault(key, {"id": key, "type": type_, "label": label, **extra})

    snapshots = DatasetSnapshot.objects.filter(project_id=project_id).order_by("id")
    for s in snapshots:
        node(f"snapshot:{s.pk}", "snapshot", f"snapshot {s.pk}", status=s.state)
    jobs = TrainingJob.objects.select_related("base_model", "reference_model", "reward_model").filter(
        Q(snapshot__project_id=project_id) | Q(config__target_project=project_id) | Q(config__project=project_id))
    for job in jobs.order_by("id"):
        key = f"job:{job.pk}"
        node(key, "job", f"{job.kind} {job.pk}", status=job.status, kind=job.kind)
        if job.snapshot_id:
            node(f"snapshot:{job.snapshot_id}", "snapshot", f"snapshot {job.snapshot_id}")
            edges.append({"from": f"snapshot:{job.snapshot_id}", "to": key, "label": "trains on"})
        for role, model in (("base", job.base_model), ("reference", job.reference_model),
                            ("reward", job.reward_model)):
            if model is not None:
                node(f"model:{model.pk}", "model", model.name, kind=model.kind)
                edges.append({"from": f"model:{model.pk}", "to": key, "label": role})
        output = Model.objects.filter(job=job).first()
        if output:
            node(f"model:{output.pk}", "model", output.name, kind=output.kind)
            edges.append({"from": key, "to": f"model:{output.pk}", "label": "produced"})
        if job.kind in (TrainingJob.Kind.GENERATE, TrainingJob.Kind.CONSTITUTIONAL) and Response.objects.filter(generated_by_job_id=job.pk).exists():
            target = job.config.get("target_project")
            node(f"round:{job.pk}", "round", f"round from job {job.pk}", project=target)
            edges.append({"from": key, "to": f"round:{job.pk}", "label": "wrote"})
            for s in DatasetSnapshot.objects.filter(project_id=target, created_at__gt=job.finished_at or job.created_at):
                node(f"snapshot:{s.pk}", "snapshot", f"snapshot {s.pk}", status=s.state)
                edges.append({"from": f"round:{job.pk}", "to": f"snapshot:{s.pk}", "label": "answered into"})
    return {"nodes": list(nodes.values()), "edges": edges}
