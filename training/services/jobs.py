"""Training jobs: launch, cancel, retry, and the reconciler that never leaves a job running without a worker.

Every state change is a compare-and-set `UPDATE … WHERE status = …`, so a task that runs twice, a cancel that
races a finish, or a reconciler that races a late heartbeat changes a job at most once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotation.models import DatasetSnapshot, Project
from annotation.services import audit
from annotation.services.limits import QueueFull
from rlhf_site.celery import enqueue

from ..engine.config import KINDS, SINGLE_PROCESS, ConfigError, resolve
from ..models import Model, TrainingJob

logger = logging.getLogger(__name__)
Status = TrainingJob.Status


class JobConflict(Exception):
    """The job is not in a state that allows this (409)."""


def _check_snapshot(kind, snapshot: DatasetSnapshot | None) -> None:
    if snapshot is None:
        raise ValidationError({"snapshot": f"a {kind.name} job trains on a snapshot"})
    if snapshot.state != DatasetSnapshot.State.READY:
        raise ValidationError({"snapshot": f"snapshot {snapshot.pk} is {snapshot.state}, not ready"})
    name = f"{kind.snapshot_format}-train.jsonl"
    rows = next((f["rows"] for f in snapshot.files if f["name"] == name), 0)
    if not rows:
        have = sorted(f["name"] for f in snapshot.files if f["name"].endswith(".jsonl") and f["rows"])
        raise ValidationError({"snapshot": (
            f"a {kind.name} job needs {kind.snapshot_format} rows ({name}); snapshot {snapshot.pk} of a "
            f"{snapshot.project.kind} project has none (it has: {', '.join(have) or 'no rows'})")})


def _check_model(field: str, model: Model | None, tasks: tuple[str, ...]) -> None:
    if model is not None and model.task not in tasks:
        raise ValidationError({field: f"{model.name} is a {model.task} model; this kind needs {' or '.join(tasks)}"})


def job_validate(*, kind: str, snapshot=None, base_model=None, reference_model=None, reward_model=None,
                 config=None) -> dict:
    """The resolved config of a launch that would work; ValidationError naming the field otherwise."""
    if kind not in KINDS:
        raise ValidationError({"kind": f"unknown kind; expected one of {sorted(KINDS)}"})
    spec = KINDS[kind]
    try:
        resolved = resolve(kind, config)
    except ConfigError as exc:
        raise ValidationError({e["field"]: e["message"] for e in exc.errors}) from None
    if spec.snapshot == "required":
        _check_snapshot(spec, snapshot)
    elif spec.snapshot == "none" and snapshot is not None:
        raise ValidationError({"snapshot": f"a {kind} job takes no snapshot"})
    if spec.base_model and base_model is None:
        raise ValidationError({"base_model": "required"})
    if not spec.base_model and base_model is not None:
        raise ValidationError({"base_model": f"a {kind} job takes no base model"})
    _check_model("base_model", base_model, spec.base_model_tasks)
    if reference_model is not None and not spec.reference_model:
        raise ValidationError({"reference_model": f"a {kind} job takes no reference model"})
    _check_model("reference_model", reference_model, (Model.Task.CAUSAL_LM,))
    if reward_model is not None and not (spec.reward_model or spec.reward_model_optional):
        raise ValidationError({"reward_model": f"a {kind} job takes no reward model"})
    if spec.reward_model and reward_model is None:
        raise ValidationError({"reward_model": f"a {kind} job needs a reward model (one trained by a reward job)"})
    _check_model("reward_model", reward_model, (Model.Task.SEQUENCE_CLASSIFICATION,))
    if resolved.get("num_gpus", 1) > 1 and kind in SINGLE_PROCESS:
        raise ValidationError({"config.num_gpus": f"a {kind} job runs on one device; several GPUs serve the training "
                                                  "kinds (sft, reward, dpo, kto, rloo, grpo, ppo)"})
    from .loop import loop_validate

    loop_validate(kind, config=resolved, snapshot=snapshot, base_model=base_model)
    return resolved


def _project_id(job: TrainingJob) -> int | None:
    """The project a job trains on (its snapshot's) or writes into (a round's or an AI annotator's), for the audit."""
    if job.snapshot_id:
        return job.snapshot.project_id
    config = job.config if isinstance(job.config, dict) else {}
    wanted = config.get("target_project", config.get("project"))
    return Project.objects.filter(pk=wanted).values_list("pk", flat=True).first() if isinstance(wanted, int) else None


def _enqueue(job_id: int) -> None:
    enqueue("training.run_job", job_id, queue=settings.TRAINING_QUEUE)


@transaction.atomic
def job_launch(*, kind: str, created_by, snapshot=None, base_model=None, reference_model=None, reward_model=None,
               config=None) -> TrainingJob:
    """Record a queued job (its config resolved) and wake a training worker."""
    if kind == TrainingJob.Kind.EVALUATE and reference_model is None and base_model is not None:
        reference_model = base_model.parent  # a policy is judged against the model it was trained from
        if reference_model is None:
            raise ValidationError({"reference_model": f"{base_model.name} was not trained here: choose the "
                                                      "reference to compare it with"})
    resolved = job_validate(kind=kind, snapshot=snapshot, base_model=base_model, reference_model=reference_model,
                            reward_model=reward_model, config=config)
    # Counted under a lock on the user's row, so two launches at once cannot both take the last place (429).
    get_user_model().objects.select_for_update().filter(pk=created_by.pk).values_list("pk", flat=True).first()
    active = TrainingJob.objects.filter(created_by=created_by, status__in=(Status.QUEUED, Status.RUNNING)).count()
    if active >= settings.TRAINING_MAX_ACTIVE_JOBS_PER_USER:
        raise QueueFull(f"you have {active} jobs queued or running (the limit is "
                        f"{settings.TRAINING_MAX_ACTIVE_JOBS_PER_USER}, TRAINING_MAX_ACTIVE_JOBS_PER_USER): wait for "
                        "one to finish or cancel one")
    job = TrainingJob.objects.create(kind=kind, snapshot=snapshot, base_model=base_model,
                                     reference_model=reference_model, reward_model=reward_model, config=resolved,
                                     max_steps=resolved["max_steps"] if resolved.get("max_steps", 0) > 0 else None,
                                     max_attempts=settings.TRAINING_MAX_ATTEMPTS, created_by=created_by)
    audit.record(actor=created_by, action="job.launch", target=job, project=_project_id(job),
                 changes={"kind": [None, kind], "status": [None, job.status]})
    _enqueue(job.pk)
    return job


@transaction.atomic
def job_cancel(*, job: TrainingJob, cancelled_by) -> TrainingJob:
    """A queued job ends at once; a running one is told to stop and ends within one training step."""
    now = timezone.now()
    if TrainingJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
            status=Status.CANCELLED, cancelled_by=cancelled_by, cancel_requested_at=now, finished_at=now):
        changes = {"status": [Status.QUEUED, Status.CANCELLED]}
    elif TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING, cancel_requested_at__isnull=True).update(
            cancelled_by=cancelled_by, cancel_requested_at=now):
        changes = {"cancel_requested": [False, True]}
    else:
        job.refresh_from_db()
        if job.status != Status.RUNNING:
            raise JobConflict(f"job {job.pk} is {job.status}; only a queued or running job can be cancelled")
        changes = None  # asked to stop already: nothing new to record
    job.refresh_from_db()
    if changes:
        audit.record(actor=cancelled_by, action="job.cancel", target=job, project=_project_id(job), changes=changes)
    return job


@transaction.atomic
def job_retry(*, job: TrainingJob, retried_by=None) -> TrainingJob:
    """Queue a failed or cancelled job again; it resumes from its last checkpoint if one was kept."""
    if not TrainingJob.objects.filter(pk=job.pk, status__in=(Status.FAILED, Status.CANCELLED)).update(
            status=Status.QUEUED, attempts=0, error="", cancel_requested_at=None, cancelled_by=None,
            finished_at=None, queued_at=timezone.now(), heartbeat_at=None):
        job.refresh_from_db()
        raise JobConflict(f"job {job.pk} is {job.status}; only a failed or cancelled job can be retried")
    before = job.status
    _enqueue(job.pk)
    job.refresh_from_db()
    audit.record(actor=retried_by, action="job.retry", target=job, project=_project_id(job),
                 changes={"status": [before, job.status]})
    return job


def jobs_reconcile(*, now=None) -> dict[str, list[int]]:
    """Requeue (or, out of attempts, fail) running jobs whose heartbeat went stale; re-send lost wake-ups.

    Runs every TRAINING_RECONCILE_SECONDS from beat. A stale heartbeat means the worker died (kill -9, a lost
    machine): the engine dies with it (it is the worker's child, bound to it by PDEATHSIG), so requeueing
    cannot run one job twice at once.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TRAINING_STALE_SECONDS)
    out = {"requeued": [], "failed": [], "cancelled": [], "woken": []}
    dead = TrainingJob.objects.filter(Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale),
                                      status=Status.RUNNING)
    for job in dead:
        lost = (f"attempt {job.attempts}: the worker {job.worker_host or '?'} stopped sending heartbeats "
                f"(last at {job.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC)" if job.heartbeat_at else
                f"attempt {job.attempts}: the worker {job.worker_host or '?'} died before its first heartbeat")
        running = TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING, attempts=job.attempts,
                                             heartbeat_at=job.heartbeat_at)
        if job.cancel_requested_at:
            if running.update(status=Status.CANCELLED, finished_at=now, error=lost):
                out["cancelled"].append(job.pk)
        elif job.attempts >= job.max_attempts:
            if running.update(status=Status.FAILED, finished_at=now, error=(
                    f"{lost}. Gave up after {job.attempts} of {job.max_attempts} attempts: each attempt's worker "
                    "died. Look for out-of-memory kills in the worker's host log, then retry.")):
                out["failed"].append(job.pk)
        elif running.update(status=Status.QUEUED, queued_at=now, error=f"{lost}; requeued to resume from its last "
                                                                         "checkpoint"):
            _enqueue(job.pk)
            out["requeued"].append(job.pk)
    lost_wakeups = now - timedelta(seconds=settings.TRAINING_REQUEUE_SECONDS)
    for job_id in TrainingJob.objects.filter(status=Status.QUEUED, queued_at__lt=lost_wakeups).values_list("pk",
                                                                                                          flat=True):
        # The broker may have lost the message (Redis restarted): send it again. A duplicate is harmless:
        # only one run claims the job.
        if TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED).update(queued_at=now):
            _enqueue(job_id)
            out["woken"].append(job_id)
    if any(out.values()):
        logger.warning("training reconciler: %s", out)
    return out
