import os

import pytest
from django.db import connection
from rest_framework.test import APIClient

from . import factories

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_report_header(config):
    url = os.environ.get("DATABASE_URL")
    return [f"database: {'PostgreSQL (' + url.rsplit('@', 1)[-1] + ')' if url else 'SQLite (embedded default)'}",
            f"broker: {os.environ.get('REDIS_URL') or os.environ.get('CELERY_BROKER_URL') or 'embedded filesystem broker'}"]


@pytest.fixture(autouse=True)
def _no_failed_sign_ins():
    """The sign-in throttles count failures in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def admin_user(db):
    return factories.user("admin1", staff=True)


@pytest.fixture
def lead(db):
    return factories.user("lead1")


@pytest.fixture
def annotator(db):
    return factories.user("ann1")


@pytest.fixture
def annotator2(db):
    return factories.user("ann2")


@pytest.fixture
def outsider(db):
    return factories.user("outsider1")


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def api():
    """api(user) -> an APIClient authenticated as that user (None: anonymous)."""
    return client_for


@pytest.fixture
def pairwise_project(db, lead, annotator, annotator2):
    p = factories.project("pairwise", members={lead: "lead", annotator: "annotator", annotator2: "annotator"})
    factories.items(p, 5)
    return p


@pytest.fixture
def requires_postgres():
    if not is_postgres():
        pytest.skip("needs PostgreSQL (set DATABASE_URL): row locks under concurrency cannot be tested on SQLite")


def test_database_url() -> str:
    """A DATABASE_URL that points subprocesses (worker, server) at the test database."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def live_worker(transactional_db, tmp_path, request):
    """A real `celery worker` process on the configured broker (Redis, or the embedded filesystem one). Indirect
    parameters: {"pool": "prefork" (default solo), "env": {...}} for the worker's process."""
    import subprocess
    import sys
    from pathlib import Path

    from rlhf_site.celery import app, ensure_broker_folders

    ensure_broker_folders()
    # A queue of this test run's own: two runs on one broker (a developer and CI, say) must not take
    # each other's tasks, whose rows live in the other run's test database.
    queue = f"test-{os.getpid()}"
    default_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    options = getattr(request, "param", {})
    env = {**os.environ, "DATABASE_URL": test_database_url(), "HF_HUB_OFFLINE": "1", **options.get("env", {})}
    log = open(tmp_path / "worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "rlhf_site", "worker", "-Q", queue, "--pool", options.get("pool", "solo"),
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=Path(__file__).resolve().parent.parent, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    proc.log_path = tmp_path / "worker.log"
    yield proc
    app.conf.task_default_queue = default_queue
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def wait_for(predicate, *, timeout: float = 60, what: str = "condition", log_path=None):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tail = open(log_path).read()[-3000:] if log_path else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}\n{tail}")
