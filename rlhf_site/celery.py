import logging
import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")

app = Celery("rlhf_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger("rlhf_site.celery")


def ensure_broker_folders() -> None:
    """The filesystem transport expects its folders to exist before anyone publishes."""
    from django.conf import settings

    for key in ("data_folder_in", "processed_folder", "control_folder"):
        folder = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}).get(key)
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)


def enqueue(task_name: str, *args, queue: str | None = None, on_commit: bool = True) -> None:
    """Send a task by its registered `name=`. Services enqueue this way and never import a tasks module (which
    imports the services): the dependency runs one way. On commit by default, so a task never reads a row that
    was rolled back; `on_commit=False` sends at once (a wake-up sent again, nothing written first)."""
    from django.db import transaction

    def send() -> None:
        # The row this wakes a worker for is committed: a broker that is down must not turn that into an error.
        # What was not sent is sent again by the reconcilers (annotation.wake_lost, training.reconcile_jobs).
        try:
            app.send_task(task_name, args=args, **({"queue": queue} if queue else {}))
        except Exception as exc:  # kombu's OperationalError, a refused or reset connection, ...
            logger.warning("the broker did not take %s%s (%s); the reconciler will send it again", task_name,
                           args, exc)

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
