"""A real Celery worker process consumes the configured broker and writes to the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Assignment, Item
from annotation.services.assignments import assignment_next
from annotation.tasks import reclaim_expired_leases

from . import factories
from .conftest import wait_for

pytestmark = pytest.mark.worker


def test_a_real_worker_reclaims_expired_leases_sent_through_the_broker(live_worker):
    annotator = factories.user("w1")
    project = factories.project("pairwise", members={annotator: "annotator"})
    factories.items(project, 2)
    lease = assignment_next(project=project, user=annotator)
    Assignment.objects.filter(pk=lease.pk).update(expires_at=timezone.now() - timedelta(seconds=5))

    reclaim_expired_leases.delay(project.id)

    wait_for(lambda: Assignment.objects.get(pk=lease.pk).status == "expired", timeout=90,
             what="the worker to reclaim the lease", log_path=live_worker.log_path)
    item = Item.objects.get(pk=lease.item_id)
    assert (item.n_leased, item.open_slots) == (0, project.annotations_per_item)
    assert live_worker.poll() is None  # still running: a real process, not eager mode
