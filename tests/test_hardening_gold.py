"""Gold items look like any other item to an annotator: no count, status or error tells them apart."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, Item

from . import factories
from .test_assignment import next_item, submit


def remaining(client, project) -> int:
    return client.get(f"/api/projects/{project.id}/").json()["my_progress"]["remaining"]


def gold_project(api, lead, members, *, n_items: int, n_gold: int, gold_ratio: float, overlap: int):
    project = factories.project("pairwise", gold_ratio=gold_ratio, annotations_per_item=overlap,
                                members={lead: "lead", **{m: "annotator" for m in members}})
    factories.items(project, n_items)
    gold = list(Item.objects.filter(project=project).order_by("id")[:n_gold])
    for item in gold:
        r = api(lead).post(f"/api/projects/{project.id}/items/{item.id}/gold/",
                           {"is_gold": True, "expected": {"chosen": item.response_ids[0], "strength": 2}}, format="json")
        assert r.status_code == 200, r.json()
    return project, {item.id for item in gold}


def test_remaining_drops_by_one_for_every_lease_gold_or_not_and_reaches_zero_with_the_last_item(api, lead, annotator):
    random.seed(5)
    project, gold_ids = gold_project(api, lead, [annotator], n_items=8, n_gold=3, gold_ratio=0.4, overlap=1)
    client = api(annotator)
    served = []
    before = remaining(client, project)
    assert before == 8
    while (r := next_item(client, project)).status_code == 200:
        data = r.json()
        served.append(data["item"]["id"])
        after_lease = remaining(client, project)
        assert after_lease == before - 1, (data["item"]["id"] in gold_ids, before, after_lease)
        assert submit(client, data["assignment"], {"tie": True}).status_code == 201
        assert remaining(client, project) == after_lease
        before = after_lease
    assert r.status_code == 204 and before == 0
    assert sorted(served) == sorted(Item.objects.filter(project=project).values_list("id", flat=True))
    assert gold_ids & set(served[:-1]) and set(served) - gold_ids  # gold was mixed in, not only at the end


def test_without_a_gold_ratio_gold_items_are_neither_served_nor_counted(api, lead, annotator):
    project, gold_ids = gold_project(api, lead, [annotator], n_items=4, n_gold=2, gold_ratio=0.0, overlap=1)
    client = api(annotator)
    assert remaining(client, project) == 2
    served = []
    while (r := next_item(client, project)).status_code == 200:
        served.append(r.json()["item"]["id"])
        submit(client, r.json()["assignment"], {"tie": True})
    assert not gold_ids & set(served) and len(served) == 2 and remaining(client, project) == 0


def test_a_gold_item_handed_out_beyond_its_overlap_takes_every_annotators_answer(api, lead):
    users = [factories.user() for _ in range(3)]
    project, gold_ids = gold_project(api, lead, users, n_items=2, n_gold=1, gold_ratio=1.0, overlap=1)
    leases = [next_item(api(u), project).json() for u in users]
    assert {lease["item"]["id"] for lease in leases} == gold_ids  # each annotator is measured on the gold item
    for user, lease in zip(users, leases, strict=True):
        r = submit(api(user), lease["assignment"], {"tie": True})
        assert r.status_code == 201, r.content
    item = Item.objects.get(pk=next(iter(gold_ids)))
    assert (item.n_submitted, item.n_leased) == (3, 0)
    assert item.open_slots == project.annotations_per_item - item.n_submitted - item.n_leased
    assert Annotation.objects.filter(item=item).count() == 3


def one_item_project(api, lead, users, *, gold: bool):
    return gold_project(api, lead, users, n_items=1, n_gold=1 if gold else 0, gold_ratio=1.0 if gold else 0.0,
                        overlap=1)[0]


@pytest.mark.parametrize("gold", [False, True])
def test_an_answer_to_a_complete_item_can_no_longer_be_changed_gold_or_not(api, lead, annotator, gold):
    project = one_item_project(api, lead, [annotator], gold=gold)
    lease = next_item(api(annotator), project).json()
    answer = submit(api(annotator), lease["assignment"], {"tie": True}).json()
    r = api(annotator).patch(f"/api/me/annotations/{answer['id']}/", {"tie": True, "rationale": "again"}, format="json")
    assert r.status_code == 409 and "complete" in r.json()["detail"]


@pytest.mark.parametrize("gold", [False, True])
def test_a_late_answer_whose_slot_another_annotator_took_is_refused_gold_or_not(api, lead, annotator, annotator2, gold):
    project = one_item_project(api, lead, [annotator, annotator2], gold=gold)
    mine = next_item(api(annotator), project).json()
    Assignment.objects.filter(pk=mine["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    theirs = next_item(api(annotator2), project).json()
    assert theirs["item"]["id"] == mine["item"]["id"]
    r = submit(api(annotator), mine["assignment"], {"tie": True})
    assert r.status_code == 409 and "slot has been taken" in r.json()["detail"]
