# Tasks are thin: ids in, a service call out. Services send tasks by name (rlhf_site.celery.enqueue) and never
# import this module, so these imports run one way.
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from .services.assignments import leases_reclaim
from .services.quality import agreement_run, agreement_wake_lost
from .services.snapshots import snapshot_build, snapshots_reconcile, snapshots_wake_lost


@shared_task(name="annotation.reclaim_expired_leases")
def reclaim_expired_leases(project_id: int | None = None) -> int:
    """Periodic sweep (beat, every minute): expired leases give their slots back."""
    return leases_reclaim(project_id=project_id)


@shared_task(name="annotation.compute_agreement")
def compute_agreement(report_id: int) -> None:
    """Recompute one agreement report (heavy: numpy over every answer of the project)."""
    agreement_run(report_id=report_id)


@shared_task(name="annotation.build_snapshot")
def build_snapshot(snapshot_id: int) -> None:
    """Build one dataset snapshot's files (streams the project's items and answers)."""
    snapshot_build(snapshot_id=snapshot_id)


@shared_task(name="annotation.reconcile_snapshots")
def reconcile_snapshots() -> list[int]:
    """Periodic (beat, every minute): a snapshot whose builder died is marked failed, never left building."""
    return snapshots_reconcile()


@shared_task(name="annotation.wake_lost")
def wake_lost() -> dict:
    """Periodic (beat, every minute): snapshots and agreement reports still pending after WAKEUP_RESEND_SECONDS,
    and agreement reports still running AGREEMENT_STALE_SECONDS after they started, are sent to a worker again. State lives in the database; the broker only carries wake-ups, and may lose them."""
    older_than = timedelta(seconds=settings.WAKEUP_RESEND_SECONDS)
    return {"snapshots": snapshots_wake_lost(older_than=older_than),
            "agreement": agreement_wake_lost(older_than=older_than,
                                             stale_after=timedelta(seconds=settings.AGREEMENT_STALE_SECONDS))}
