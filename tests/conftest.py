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
