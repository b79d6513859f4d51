from celery import shared_task

from .services.assignments import leases_reclaim


@shared_task(name="annotation.reclaim_expired_leases")
def reclaim_expired_leases(project_id: int | None = None) -> int:
    """Periodic sweep (beat, every minute): expired leases give their slots back."""
    return leases_reclaim(project_id=project_id)
