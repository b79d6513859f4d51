from celery import shared_task

from .services.jobs import jobs_reconcile
from .services.runner import job_run


@shared_task(name="training.run_job", acks_late=False)
def run_job(job_id: int) -> str | None:
    """Run one training job (hours, maybe). Acknowledged on receipt: state lives in the job row, and a worker
    that dies mid-run is found by the reconciler, not by the broker's redelivery."""
    return job_run(job_id=job_id)


@shared_task(name="training.reconcile_jobs")
def reconcile_jobs() -> dict:
    """Periodic (beat): running jobs whose worker died are requeued or failed; lost wake-ups are sent again."""
    return jobs_reconcile()
