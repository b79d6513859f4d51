import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")

app = Celery("rlhf_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
        app.send_task(task_name, args=args, **({"queue": queue} if queue else {}))

    if on_commit:
        transaction.on_commit(send)
    else:
        send()
