"""A broker that is down when work is created: the row is committed, the request succeeds, and the wake-up is
left to the reconcilers (tests/training/test_broker_restart.py shows them sending it again)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from annotation.models import DatasetSnapshot

from .conftest import test_database_url as database_url

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_snapshot_created_while_the_broker_is_down_is_kept_pending(lead, pairwise_project):
    script = ("from django.contrib.auth import get_user_model\n"
              "from annotation.models import Project\n"
              "from annotation.services.snapshots import snapshot_create\n"
              f"s = snapshot_create(project=Project.objects.get(pk={pairwise_project.pk}), "
              f"created_by=get_user_model().objects.get(pk={lead.pk}))\n"
              "print('created', s.pk, s.state)\n")
    closed = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "DATABASE_URL": database_url(),
                                                       "REDIS_URL": closed, "CELERY_BROKER_URL": closed})
    assert done.returncode == 0, done.stderr[-2000:]
    snapshot = DatasetSnapshot.objects.get(project=pairwise_project)
    assert f"created {snapshot.pk} pending" in done.stdout and snapshot.state == "pending"
    assert "the broker did not take annotation.build_snapshot" in done.stderr
