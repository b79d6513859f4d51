"""Many annotators at once: nothing over-assigned, lost or counted twice (PostgreSQL row locks; SQLite serialised)."""

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotation.models import Annotation, Assignment, Item

from . import factories

pytestmark = [pytest.mark.django_db(transaction=True)]

N_ANNOTATORS = 32
N_ITEMS = 60
OVERLAP = 3


def work(user, project_id: int, accepted: list, errors: list, barrier: threading.Barrier) -> None:
    client = APIClient()
    client.force_authenticate(user)
    rng = random.Random(user.pk)
    try:
        barrier.wait()
        while True:
            r = client.post(f"/api/projects/{project_id}/next/")
            if r.status_code == 204:
                # Nothing open for this annotator now. A lease another annotator holds can still come back
                # (a skip returns its slot), so stop only once no lease is live in the project.
                if not Assignment.objects.filter(project_id=project_id, status="leased").exists():
                    return
                time.sleep(0.005)
                continue
            assert r.status_code == 200, r.content
            data = r.json()
            if rng.random() < 0.05:
                client.post(f"/api/assignments/{data['assignment']}/skip/", {"reason": "load test"}, format="json")
                continue
            choice = rng.choice(data["item"]["responses"])["id"]
            s = client.post(f"/api/assignments/{data['assignment']}/submit/", {"chosen": choice, "strength": 2},
                            format="json", HTTP_IDEMPOTENCY_KEY=f"{user.pk}-{data['assignment']}")
            assert s.status_code == 201, s.content
            accepted.append((data["item"]["id"], user.pk, s.json()["id"]))
    except BaseException as exc:  # surfaced by the main thread
        errors.append(exc)
    finally:
        connection.close()


@pytest.mark.postgres
def test_dozens_of_annotators_at_once_never_break_overlap_or_lose_an_answer(requires_postgres):
    run_annotators_at_once(N_ANNOTATORS, N_ITEMS)


@pytest.mark.django_db(transaction=True)
def test_on_sqlite_simultaneous_annotators_are_serialised_and_still_correct():
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant of the concurrency test (PostgreSQL runs the full one above)")
    run_annotators_at_once(8, 20)


def run_annotators_at_once(n_annotators: int, n_items: int) -> None:
    lead = factories.user("lead-c")
    project = factories.project("pairwise", annotations_per_item=OVERLAP, members={lead: "lead"})
    factories.items(project, n_items)
    users = [factories.user(f"c{i}") for i in range(n_annotators)]
    for u in users:
        project.memberships.create(user=u, role="annotator")
    accepted, errors = [], []
    barrier = threading.Barrier(n_annotators)
    threads = [threading.Thread(target=work, args=(u, project.id, accepted, errors, barrier)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors[:3]
    assert all(not t.is_alive() for t in threads)

    stored = set(Annotation.objects.filter(project=project).values_list("item_id", "annotator_id", "id"))
    assert stored == set(accepted)  # every accepted submit is stored, and nothing else
    pairs = Counter((item, annotator) for item, annotator, _ in accepted)
    assert max(pairs.values()) == 1  # no (item, annotator) pair repeats
    per_item = Counter(item for item, _, _ in accepted)
    skippers = Counter(Assignment.objects.filter(project=project, status="skipped").values_list("item_id", flat=True))
    for item in Item.objects.filter(project=project):
        # Every item reached, never passed, its overlap; unless so many skipped it that too few annotators were left.
        expected = min(OVERLAP, n_annotators - skippers[item.id])
        assert per_item[item.id] == expected, (item.id, per_item[item.id], skippers[item.id])
        assert (item.n_submitted, item.n_leased, item.open_slots) == (expected, 0, OVERLAP - expected)  # no drift
    assert not Assignment.objects.filter(project=project, status="leased").exists()
