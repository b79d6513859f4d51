"""Training tests: tiny random models, real snapshots built by the annotation services, and a real Celery
worker consuming a training queue of this test run's own."""

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from annotation.models import Assignment, Item
from annotation.services.annotations import annotation_submit
from annotation.services.snapshots import snapshot_build, snapshot_create
from training.models import TrainingJob
from training.services.registry import model_register

from .. import factories
from ..conftest import test_database_url, wait_for

ROOT = Path(__file__).resolve().parents[2]
GOOD = "Here is a careful, kind and complete answer to your question."
BAD = "no"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def artifacts(settings, tmp_path, monkeypatch):
    """Private artifact, cache and work folders, for this process and any worker it starts."""
    values = {"ARTIFACT_ROOT": tmp_path / "artifacts", "ARTIFACT_CACHE_DIR": tmp_path / "cache",
              "TRAINING_WORK_ROOT": tmp_path / "work"}
    for name, path in values.items():
        setattr(settings, name, path)
        monkeypatch.setenv(name, str(path))
    settings.STORAGES = {**settings.STORAGES, "artifacts": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(values["ARTIFACT_ROOT"]), "allow_overwrite": True}}}
    from django.core.files.storage import storages

    storages._storages.pop("artifacts", None)
    yield values["ARTIFACT_ROOT"]
    storages._storages.pop("artifacts", None)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """One tiny random Llama-style model for the whole run (its tokenizer trained on the test texts)."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    texts = tmp_path_factory.getbasetemp() / "texts.txt"
    texts.write_text("\n".join([GOOD, BAD, "Question number 1: what is 1 + 1?", "Answer 0 to 1 long"]))
    subprocess.run([sys.executable, "-m", "training.engine", "tiny-model", str(folder), "--texts", str(texts)],
                   cwd=ROOT, check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return folder


@pytest.fixture
def tiny_model(artifacts, tiny_folder):
    return model_register(name="tiny", folder=tiny_folder)


@pytest.fixture(scope="session")
def tiny_reward_folder(tiny_folder, tmp_path_factory) -> Path:
    """The tiny model's backbone with a fresh one-label head: a (random) reward model that reads its tokens."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = tmp_path_factory.mktemp("tiny-reward") / "model"
    AutoModelForSequenceClassification.from_pretrained(tiny_folder, num_labels=1).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tiny_folder).save_pretrained(folder)
    return folder


@pytest.fixture
def tiny_reward_model(artifacts, tiny_reward_folder):
    return model_register(name="tiny-reward", folder=tiny_reward_folder, kind="reward")


def _answer(user, item: Item, payload: dict):
    assignment = Assignment.objects.create(project=item.project, item=item, annotator=user,
                                           shown_order=list(item.response_ids),
                                           expires_at=timezone.now() + timedelta(hours=1))
    Item.objects.filter(pk=item.pk).update(n_leased=F("n_leased") + 1, open_slots=F("open_slots") - 1)
    return annotation_submit(assignment_id=assignment.pk, user=user, payload=payload)[0]


def _snapshot(project, user):
    snapshot = snapshot_create(project=project, created_by=user, enqueue=False, test_fraction=0.25, seed=1)
    return snapshot_build(snapshot_id=snapshot.pk)


@pytest.fixture
def admin(db):
    return factories.user("trainer", staff=True)


@pytest.fixture
def sft_snapshot(artifacts, admin):
    """A demonstration project, every prompt answered with the same good reply: SFT rows."""
    annotator = factories.user()
    project = factories.project("demonstration", members={annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 24)
    for item in Item.objects.filter(project=project):
        _answer(annotator, item, {"text": GOOD})
    return _snapshot(project, admin)


@pytest.fixture
def preference_snapshot(artifacts, admin):
    """A pairwise project whose annotators always prefer the good reply: preference and KTO rows."""
    lead, a, b = factories.user(), factories.user(), factories.user()
    project = factories.project("pairwise", members={lead: "lead", a: "annotator", b: "annotator"},
                                annotations_per_item=2)
    factories.items(project, 24)
    from annotation.models import Response

    for item in Item.objects.filter(project=project).order_by("id"):
        good_first = item.pk % 2 == 0
        Response.objects.filter(pk=item.response_ids[0]).update(text=GOOD if good_first else BAD)
        Response.objects.filter(pk=item.response_ids[1]).update(text=BAD if good_first else GOOD)
        for user in (a, b):
            _answer(user, item, {"chosen": item.response_ids[0 if good_first else 1], "strength": 3})
    snapshot = _snapshot(project, admin)
    snapshot.lead = lead
    return snapshot


class Worker:
    """A real `celery worker` on this run's own training queue; `kill()` is a kill -9."""

    def __init__(self, tmp_path: Path, queue: str, name: str):
        self.log_path = tmp_path / f"{name}.log"
        self.log = open(self.log_path, "w")
        env = {**os.environ, "DATABASE_URL": test_database_url(), "HF_HUB_OFFLINE": "1", "TRAINING_QUEUE": queue,
               "TRAINING_HEARTBEAT_SECONDS": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "rlhf_site", "worker", "-Q", queue, "--pool", "solo", "-n",
             f"{name}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@pytest.fixture
def training_worker(transactional_db, artifacts, settings, tmp_path):
    """start() -> a Worker on a training queue of this run's own (a developer's run and CI's never mix)."""
    from rlhf_site.celery import ensure_broker_folders

    ensure_broker_folders()
    settings.TRAINING_QUEUE = f"test-gpu-{os.getpid()}"
    workers = []

    def start(name: str = "gpu") -> Worker:
        worker = Worker(tmp_path, settings.TRAINING_QUEUE, f"{name}{len(workers)}")
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for_job(job_id: int, done, *, worker: Worker | None = None, timeout: float = 240, what: str = "the job"):
    """Wait until done(job) holds; the worker's log and the job's log tail explain a timeout."""
    def check():
        return done(TrainingJob.objects.get(pk=job_id))

    try:
        wait_for(check, timeout=timeout, what=what, log_path=worker.log_path if worker else None)
    except AssertionError as exc:
        job = TrainingJob.objects.get(pk=job_id)
        raise AssertionError(f"{exc}\njob {job.status}: {job.error}\n{job.log_tail[-3000:]}") from None
    return TrainingJob.objects.get(pk=job_id)
