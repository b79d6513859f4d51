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
