"""Redis restarted, its data lost, while work is queued: no job is lost.

Job state lives in the database; the broker only carries wake-ups. Snapshot builds, an agreement recompute and a
training job are queued on a Redis of the test's own (tests/faults.py), which is then restarted without its data
before any worker took them. A worker started afterwards finds nothing on the broker; the reconcilers
(`annotation.wake_lost`, `training.reconcile_jobs`) send the wake-ups again, and every one of them completes.
"""

import json
import os
import subprocess
import sys

import pytest

from annotation.models import AgreementReport, DatasetSnapshot
from training.models import TrainingJob

from ..conftest import test_database_url as database_url  # aliased: pytest would collect a test_ name
from ..conftest import wait_for
from ..faults import PrivateRedis
from .conftest import ROOT

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
def redis():
    server = PrivateRedis()
    server.start()
    yield server
    server.stop()


def app_env(redis: PrivateRedis) -> dict:
    """This test's processes: the test database, the private Redis as broker, wake-ups re-sent after a second."""
    return {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url,
            "TRAINING_QUEUE": "gpu", "WAKEUP_RESEND_SECONDS": "1", "TRAINING_REQUEUE_SECONDS": "1",
            "HF_HUB_OFFLINE": "1"}


def manage_shell(code: str, env: dict) -> str:
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture
def worker(redis, tmp_path):
    """A worker on both queues, started only when the test asks (after the restart)."""
    procs = []

    def start():
        log = open(tmp_path / "worker.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "rlhf_site", "worker", "-Q", "default,gpu", "--pool", "solo",
             "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=app_env(redis), stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = tmp_path / "worker.log"
        procs.append((proc, log))
        return proc

    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_work_queued_on_a_redis_that_restarts_without_its_data_is_sent_again_and_completes(
        transactional_db, admin, tiny_model, preference_snapshot, redis, worker):
    env = app_env(redis)
    args = json.dumps({"snapshot": preference_snapshot.pk, "admin": admin.pk, "model": tiny_model.pk})
    queued = json.loads(manage_shell(ENQUEUE.format(args=args), env))
    assert (redis.queued("default"), redis.queued("gpu")) == (3, 1)  # the wake-ups reached the broker

    redis.stop()
    redis.start()
    assert (redis.queued("default"), redis.queued("gpu")) == (0, 0)  # and were lost with it
    proc = worker()
    wait_for(lambda: "ready." in open(proc.log_path).read(), timeout=60, what="the worker", log_path=proc.log_path)
    snapshots = DatasetSnapshot.objects.filter(pk__in=queued["snapshots"])
    assert set(snapshots.values_list("state", flat=True)) == {"pending"}  # nothing reached the worker
    assert AgreementReport.objects.get(pk=queued["report"]).status == "pending"
    assert TrainingJob.objects.get(pk=queued["job"]).status == "queued"

    manage_shell(RECONCILE, env)
    wait_for(lambda: set(snapshots.values_list("state", flat=True)) == {"ready"}, timeout=120,
             what="the snapshots to be built", log_path=proc.log_path)
    wait_for(lambda: AgreementReport.objects.get(pk=queued["report"]).status == "ready", timeout=120,
             what="the agreement report", log_path=proc.log_path)
    wait_for(lambda: TrainingJob.objects.get(pk=queued["job"]).is_finished, timeout=300,
             what="the training job", log_path=proc.log_path)
    job = TrainingJob.objects.get(pk=queued["job"])
    assert job.status == "succeeded", (job.error, job.log_tail[-2000:])
    assert job.attempts == 1  # woken again, run once
