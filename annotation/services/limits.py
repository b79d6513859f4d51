"""Bounds on the work one project may queue for the workers (snapshot builds, agreement recomputes)."""

from django.db.models import QuerySet

from ..models import Project


class QueueFull(Exception):
    """The project already has as much of this work queued or running as it may (429)."""


def project_queue_check(*, project: Project, active: QuerySet, limit: int, what: str, setting: str) -> None:
    """Refuse one more of `active` beyond `limit`. Locks the project's row until the transaction ends, so two
    requests at once are counted one after the other and cannot both take the last place."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).first()
    count = active.count()
    if count >= limit:
        raise QueueFull(f"this project already has {count} {what} queued or running (the limit is {limit}, "
                        f"{setting}): wait for one to finish")
