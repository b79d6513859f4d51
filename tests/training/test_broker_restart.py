"""Redis restarted, its data lost, while work is queued: no job is lost.

Job state lives in the database; the broker only carries wake-ups. Snapshot builds, an agreement recompute and a
training job are queued on a Redis of the test's own (tests/faults.py), which is then restarted without its data
before any worker took them. A worker started afterwards finds nothing on the broker; the reconcilers
(`annotation.wake_lost`, `training.reconcile_jobs`) send the wake-ups again, and every one of them completes.
"""

import json
import subprocess
import sys

import pytest

from annotation.models import AgreementReport, DatasetSnapshot
from training.models import TrainingJob

from ..conftest import test_database_url as database_url  # aliased: pytest would collect a test_ name
from ..conftest import wait_for
from ..faults import PrivateRedis
from .conftest import ROOT, Worker

pytestmark = [pytest.mark.worker, pytest.mark.training]

ENQUEUE = """
import json
from django.contrib.auth import get_user_model
from annotation.models import DatasetSnapshot
from annotation.services.quality import DEFAULT_FILTERS, agreement_report_get, agreement_request
from annotation.services.snapshots import snapshot_create
from training.models import Model
from training.services.jobs import job_launch
args = json.loads({args!r})
snapshot = DatasetSnapshot.objects.select_related("project").get(pk=args["snapshot"])
admin = get_user_model().objects.get(pk=args["admin"])
built = [snapshot_create(project=snapshot.project, created_by=admin, seed=seed).pk for seed in (11, 12)]
report = agreement_report_get(project=snapshot.project, filters=DEFAULT_FILTERS)
assert agreement_request(report=report)
job = job_launch(kind="reward", created_by=admin, snapshot=snapshot, base_model=Model.objects.get(pk=args["model"]),
                 config={{"max_steps": 2, "per_device_train_batch_size": 4, "max_length": 64}})
print(json.dumps({{"snapshots": built, "report": report.pk, "job": job.pk}}))
"""
RECONCILE = """
from annotation.tasks import wake_lost
from training.tasks import reconcile_jobs
print(wake_lost(), reconcile_jobs())
"""


@pytest.fixture
def redis(monkeypatch):
    """A private Redis as the broker of every process this test starts; wake-ups re-sent after a second."""
    server = PrivateRedis()
    server.start()
    for name, value in {"REDIS_URL": server.url, "CELERY_BROKER_URL": server.url, "TRAINING_QUEUE": "gpu",
                        "WAKEUP_RESEND_SECONDS": "1", "TRAINING_REQUEUE_SECONDS": "1",
                        "DATABASE_URL": database_url()}.items():
        monkeypatch.setenv(name, value)
    yield server
    server.stop()


def manage_shell(code: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_work_queued_on_a_redis_that_restarts_without_its_data_is_sent_again_and_completes(
        transactional_db, admin, tiny_model, preference_snapshot, redis, tmp_path):
    args = json.dumps({"snapshot": preference_snapshot.pk, "admin": admin.pk, "model": tiny_model.pk})
    queued = json.loads(manage_shell(ENQUEUE.format(args=args)))
    assert (redis.queued("default"), redis.queued("gpu")) == (3, 1)  # the wake-ups reached the broker

    redis.stop()
    redis.start()
    assert (redis.queued("default"), redis.queued("gpu")) == (0, 0)  # and were lost with it
    worker = Worker(tmp_path, "default,gpu", "both")
    try:
        woken_and_done(queued, worker)
    finally:
        worker.stop()


def woken_and_done(queued: dict, worker: Worker) -> None:
    log = worker.log_path
    wait_for(lambda: "ready." in log.read_text(), timeout=60, what="the worker", log_path=log)
    snapshots = DatasetSnapshot.objects.filter(pk__in=queued["snapshots"])
    assert set(snapshots.values_list("state", flat=True)) == {"pending"}  # nothing reached the worker
    assert AgreementReport.objects.get(pk=queued["report"]).status == "pending"
    assert TrainingJob.objects.get(pk=queued["job"]).status == "queued"

    manage_shell(RECONCILE)
    wait_for(lambda: set(snapshots.values_list("state", flat=True)) == {"ready"}, timeout=120,
             what="the snapshots to be built", log_path=log)
    wait_for(lambda: AgreementReport.objects.get(pk=queued["report"]).status == "ready", timeout=120,
             what="the agreement report", log_path=log)
    wait_for(lambda: TrainingJob.objects.get(pk=queued["job"]).is_finished, timeout=300,
             what="the training job", log_path=log)
    job = TrainingJob.objects.get(pk=queued["job"])
    assert job.status == "succeeded", (job.error, job.log_tail[-2000:])
    assert job.attempts == 1  # woken again, run once
