import random
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation.models import Annotation, Assignment, Item
from annotation.services.projects import project_update

from . import factories


def next_item(client, project):
    return client.post(f"/api/projects/{project.id}/next/")


def submit(client, assignment_id, payload, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/assignments/{assignment_id}/submit/", payload, format="json", **headers)


def answer_first_shown(client, project):
    r = next_item(client, project)
    if r.status_code == 204:
        return None
    data = r.json()
    assert submit(client, data["assignment"], {"chosen": data["item"]["responses"][0]["id"], "strength": 1}).status_code == 201
    return data


def make_annotators(project, n):
    users = [factories.user() for _ in range(n)]
    for u in users:
        project.memberships.create(user=u, role="annotator")
    return users


def test_next_returns_the_item_with_its_responses_and_a_lease(api, annotator, pairwise_project):
    r = next_item(api(annotator), pairwise_project)
    assert r.status_code == 200
    data = r.json()
    assert set(data) == {"assignment", "expires_at", "item"}
    assert set(data["item"]) == {"id", "conversation", "responses"}  # nothing about gold or other answers
    assert len(data["item"]["responses"]) == 2
    assert data["item"]["conversation"][-1]["role"] == "user"
    item = Item.objects.select_related("prompt").get(pk=data["item"]["id"])
    assert (item.n_leased, item.open_slots) == (1, 2)
    # The texts as stored, in the order this lease shows them (next's claim reads them in the same statement).
    assert data["item"]["conversation"] == item.prompt.conversation
    assert [(r["id"], r["text"]) for r in data["item"]["responses"]] == [
        (rid, item.prompt.responses.get(pk=rid).text) for rid in Assignment.objects.get(pk=data["assignment"]).shown_order]


def test_calling_next_while_holding_a_live_lease_returns_the_same_assignment(api, annotator, pairwise_project):
    first = next_item(api(annotator), pairwise_project).json()
    again = next_item(api(annotator), pairwise_project).json()
    assert first == again
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_it_never_assigns_an_item_twice_to_one_annotator_and_then_answers_204(api, annotator, pairwise_project):
    client = api(annotator)
    seen = []
    while (data := answer_first_shown(client, pairwise_project)) is not None:
        seen.append(data["item"]["id"])
    assert len(seen) == len(set(seen)) == 5
    assert next_item(client, pairwise_project).status_code == 204


def test_an_item_is_never_handed_out_beyond_its_overlap(api, pairwise_project):
    annotators = make_annotators(pairwise_project, 6)
    leases = [next_item(api(u), pairwise_project) for u in annotators]
    # 5 items x overlap 3 = 15 slots; 6 live leases fit, and breadth-first puts them on 2 items.
    counts = {}
    for r in leases:
        counts[r.json()["item"]["id"]] = counts.get(r.json()["item"]["id"], 0) + 1
    assert sorted(counts.values()) == [3, 3]
    more = make_annotators(pairwise_project, 12)
    served = [next_item(api(u), pairwise_project).status_code for u in more]
    assert served.count(200) == 9 and served.count(204) == 3
    for item in Item.objects.filter(project=pairwise_project):
        assert item.n_leased + item.n_submitted <= 3 and item.open_slots == 3 - item.n_leased - item.n_submitted


def test_breadth_first_items_closest_to_completion_go_first(api, pairwise_project):
    a, b, c = make_annotators(pairwise_project, 3)
    first = answer_first_shown(api(a), pairwise_project)["item"]["id"]
    assert answer_first_shown(api(b), pairwise_project)["item"]["id"] == first
    assert answer_first_shown(api(c), pairwise_project)["item"]["id"] == first
    assert Item.objects.get(pk=first).status == "complete"


def test_an_expired_lease_returns_its_slot_to_the_pool(api, pairwise_project):
    project_update(project=pairwise_project, annotations_per_item=1)
    users = make_annotators(pairwise_project, 6)
    held = [next_item(api(u), pairwise_project).json()["item"]["id"] for u in users[:5]]
    assert next_item(api(users[5]), pairwise_project).status_code == 204
    Assignment.objects.filter(annotator=users[0]).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = next_item(api(users[5]), pairwise_project)
    assert r.status_code == 200 and r.json()["item"]["id"] == held[0]
    assert Assignment.objects.get(annotator=users[0]).status == "expired"


def test_an_expired_leaseholder_can_get_the_item_again_if_the_slot_is_free(api, annotator, pairwise_project):
    first = next_item(api(annotator), pairwise_project).json()
    Assignment.objects.filter(pk=first["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    again = next_item(api(annotator), pairwise_project).json()
    assert again["item"]["id"] == first["item"]["id"] and again["assignment"] == first["assignment"]


def test_a_submit_after_expiry_is_accepted_while_the_slot_is_free(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    Assignment.objects.filter(pk=data["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = submit(api(annotator), data["assignment"], {"tie": True})
    assert r.status_code == 201
    item = Item.objects.get(pk=data["item"]["id"])
    assert (item.n_submitted, item.n_leased, item.open_slots) == (1, 0, 2)


def test_a_submit_after_the_slot_was_lost_gets_409(api, annotator, annotator2, pairwise_project):
    project_update(project=pairwise_project, annotations_per_item=1)
    Item.objects.filter(project=pairwise_project).exclude(pk=pairwise_project.items.first().pk).delete()
    mine = next_item(api(annotator), pairwise_project).json()
    Assignment.objects.filter(pk=mine["assignment"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    theirs = answer_first_shown(api(annotator2), pairwise_project)
    assert theirs["item"]["id"] == mine["item"]["id"]
    r = submit(api(annotator), mine["assignment"], {"tie": True})
    assert r.status_code == 409
    assert "slot has been taken" in r.json()["detail"]
    assert Annotation.objects.filter(annotator=annotator).count() == 0
    assert Item.objects.get(pk=mine["item"]["id"]).n_submitted == 1


def test_the_same_submit_with_the_same_idempotency_key_returns_the_first_answer(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    payload = {"chosen": data["item"]["responses"][1]["id"], "strength": 3}
    first = submit(api(annotator), data["assignment"], payload, key="abc-123")
    second = submit(api(annotator), data["assignment"], payload, key="abc-123")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Annotation.objects.count() == 1
    assert Item.objects.get(pk=data["item"]["id"]).n_submitted == 1


def test_a_second_submit_without_a_key_is_refused_and_points_to_the_edit_route(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    assert submit(api(annotator), data["assignment"], {"tie": True}).status_code == 201
    r = submit(api(annotator), data["assignment"], {"tie": True})
    assert r.status_code == 409 and "PATCH /api/me/annotations/" in r.json()["detail"]
    assert Annotation.objects.count() == 1


def test_the_database_refuses_a_second_answer_per_item_and_annotator(pairwise_project, annotator):
    from django.db import IntegrityError, transaction

    item = pairwise_project.items.first()
    a1 = Assignment.objects.create(project=pairwise_project, item=item, annotator=annotator, expires_at=timezone.now(),
                                   status="submitted")  # one live lease per annotator and project
    Annotation.objects.create(project=pairwise_project, item=item, annotator=annotator, assignment=a1, preference=1)
    other = pairwise_project.items.last()
    a2 = Assignment.objects.create(project=pairwise_project, item=other, annotator=annotator, expires_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Annotation.objects.create(project=pairwise_project, item=item, annotator=annotator, assignment=a2, preference=1)


def test_pairwise_answers_are_stored_relative_to_the_stored_order_whatever_was_shown(api, pairwise_project):
    random.seed(7)
    users = make_annotators(pairwise_project, 12)
    orders = set()
    for user in users:
        data = next_item(api(user), pairwise_project).json()
        item = Item.objects.get(pk=data["item"]["id"])
        shown = [r["id"] for r in data["item"]["responses"]]
        orders.add(tuple(shown) == tuple(item.response_ids))
        submit(api(user), data["assignment"], {"chosen": item.response_ids[1], "strength": 2})
        annotation = Annotation.objects.get(annotator=user)
        assert annotation.preference == 2
        assert annotation.shown_order == shown
    assert orders == {True, False}  # both orders were shown


def test_ties_both_bad_criteria_and_extras_are_stored(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    item = Item.objects.get(pk=data["item"]["id"])
    payload = {"tie": True, "both_bad": True, "rationale": "both wrong", "flags": ["unsafe"], "confidence": 4,
               "time_spent_ms": 5400, "criteria": {"helpfulness": {"chosen": item.response_ids[0], "strength": 3},
                                                   "honesty": {"tie": True}}}
    assert submit(api(annotator), data["assignment"], payload).status_code == 201
    a = Annotation.objects.get()
    assert (a.preference, a.both_bad, a.criteria, a.flags, a.confidence, a.time_spent_ms) == (
        0, True, {"helpfulness": -3, "honesty": 0}, ["unsafe"], 4, 5400)


@pytest.mark.parametrize("payload, field, message", [
    ({"chosen": 999999, "strength": 1}, "chosen", "must be one of this item's responses"),
    ({"strength": 1}, "chosen", "required"),
    ({"chosen": "first", "strength": 2}, "chosen", "must be one of"),
    ({"chosen": None, "tie": False}, "chosen", "required"),
    ("CHOSEN", "strength", "1 (slightly)"),
    ({"tie": True, "confidence": 9}, "confidence", "1 to 5"),
    ({"tie": True, "criteria": {"beauty": {"tie": True}}}, "criteria.beauty", "unknown criterion"),
    ({"tie": True, "criteria": {"honesty": {"chosen": 999999}}}, "criteria.honesty.chosen", "must be one of"),
    ({"tie": True, "flags": "unsafe"}, "flags", "list"),
    ({"tie": True, "time_spent_ms": -5}, "time_spent_ms", "milliseconds"),
])
def test_invalid_answers_name_their_field(api, annotator, pairwise_project, payload, field, message):
    data = next_item(api(annotator), pairwise_project).json()
    if payload == "CHOSEN":
        payload = {"chosen": data["item"]["responses"][0]["id"], "strength": 5}
    r = submit(api(annotator), data["assignment"], payload)
    assert r.status_code == 400
    errors = r.json()["errors"]
    assert errors[0]["field"] == field and message in errors[0]["message"], errors
    assert Annotation.objects.count() == 0
    assert Assignment.objects.get(pk=data["assignment"]).status == "leased"


def test_a_project_without_ties_refuses_a_tie(api, annotator, pairwise_project):
    pairwise_project.allow_tie = False
    pairwise_project.save()
    data = next_item(api(annotator), pairwise_project).json()
    r = submit(api(annotator), data["assignment"], {"tie": True})
    assert r.json()["errors"] == [{"field": "tie", "message": "this project does not allow ties"}]


def test_ranking_answers_must_list_every_response_once(api, lead, annotator):
    project = factories.project("ranking", members={lead: "lead", annotator: "annotator"})
    factories.items(project, 2)
    data = next_item(api(annotator), project).json()
    ids = [r["id"] for r in data["item"]["responses"]]
    assert len(ids) == 4
    r = submit(api(annotator), data["assignment"], {"ranking": ids[:3] + ids[:1]})
    assert r.json()["errors"] == [{"field": "ranking", "message": "must list all 4 responses exactly once"}]
    best_first = list(reversed(ids))
    crit = {"harmlessness": {"ranking": ids}}
    assert submit(api(annotator), data["assignment"], {"ranking": best_first, "criteria": crit}).status_code == 201
    a = Annotation.objects.get()
    assert a.ranking == best_first and a.criteria == {"harmlessness": ids}


def test_demonstrations_store_the_written_text(api, lead, annotator):
    project = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(project, 1)
    data = next_item(api(annotator), project).json()
    assert data["item"]["responses"] == []
    assert submit(api(annotator), data["assignment"], {"text": ""}).json()["errors"][0]["field"] == "text"
    assert submit(api(annotator), data["assignment"], {"text": "**4**, because 2+2=4."}).status_code == 201
    assert Annotation.objects.get().text == "**4**, because 2+2=4."


def test_a_skipped_item_does_not_come_back_and_frees_its_slot(api, annotator, pairwise_project):
    client = api(annotator)
    data = next_item(client, pairwise_project).json()
    r = client.post(f"/api/assignments/{data['assignment']}/skip/", {"reason": "not my language"}, format="json")
    assert r.status_code == 200
    a = Assignment.objects.get(pk=data["assignment"])
    assert (a.status, a.skip_reason) == ("skipped", "not my language")
    item = Item.objects.get(pk=data["item"]["id"])
    assert (item.n_leased, item.open_slots) == (0, 3)
    seen = set()
    while (d := answer_first_shown(client, pairwise_project)) is not None:
        seen.add(d["item"]["id"])
    assert data["item"]["id"] not in seen and len(seen) == 4
    assert submit(client, data["assignment"], {"tie": True}).status_code == 409


def test_annotators_cannot_touch_other_annotators_assignments_or_answers(api, annotator, annotator2, pairwise_project):
    data = answer_first_shown(api(annotator), pairwise_project)
    mine = Annotation.objects.get(annotator=annotator)
    assert api(annotator2).get(f"/api/me/annotations/{mine.id}/").status_code == 404
    assert api(annotator2).get("/api/me/annotations/").json()["results"] == []
    assert submit(api(annotator2), data["assignment"], {"tie": True}).status_code == 404
    assert api(annotator2).patch(f"/api/me/annotations/{mine.id}/", {"tie": True}, format="json").status_code == 404
    assert api(annotator2).get(f"/api/projects/{pairwise_project.id}/items/{data['item']['id']}/").status_code == 404


def test_an_annotator_reads_and_changes_their_answer_until_the_item_is_complete(api, annotator, pairwise_project):
    a, b = make_annotators(pairwise_project, 2)
    data = answer_first_shown(api(annotator), pairwise_project)
    mine = api(annotator).get(f"/api/me/annotations/?project={pairwise_project.id}").json()["results"]
    assert [m["item"] for m in mine] == [data["item"]["id"]]
    r = api(annotator).patch(f"/api/me/annotations/{mine[0]['id']}/", {"tie": True, "rationale": "on reflection"}, format="json")
    assert r.status_code == 200 and r.json()["preference"] == 0 and r.json()["rationale"] == "on reflection"
    answer_first_shown(api(a), pairwise_project)
    answer_first_shown(api(b), pairwise_project)
    r = api(annotator).patch(f"/api/me/annotations/{mine[0]['id']}/", {"tie": True}, format="json")
    assert r.status_code == 409 and "complete" in r.json()["detail"]


def test_gold_items_are_mixed_in_at_the_configured_ratio_and_look_like_any_other(api, lead, annotator):
    random.seed(11)
    project = factories.project("pairwise", gold_ratio=0.2, annotations_per_item=1,
                                members={lead: "lead", annotator: "annotator"})
    factories.items(project, 400)
    gold_ids = list(Item.objects.filter(project=project).order_by("id").values_list("id", flat=True)[:100])
    for item in Item.objects.filter(pk__in=gold_ids):
        r = api(lead).post(f"/api/projects/{project.id}/items/{item.id}/gold/",
                           {"is_gold": True, "expected": {"chosen": item.response_ids[0], "strength": 2}}, format="json")
        assert r.status_code == 200 and r.json()["gold_answer"] == -2
    served_gold = 0
    for _ in range(200):
        data = answer_first_shown(api(annotator), project)
        assert "is_gold" not in data["item"]
        served_gold += data["item"]["id"] in gold_ids
    assert 0.13 <= served_gold / 200 <= 0.27, served_gold


def test_gold_accuracy_and_progress_per_annotator(api, lead, annotator, annotator2, pairwise_project):
    for item in pairwise_project.items.all():
        api(lead).post(f"/api/projects/{pairwise_project.id}/items/{item.id}/gold/",
                       {"is_gold": True, "expected": {"chosen": item.response_ids[0], "strength": 1}}, format="json")
    pairwise_project.gold_ratio = 1.0
    pairwise_project.save()
    for user, pick in ((annotator, 0), (annotator2, 1)):
        client = api(user)
        for _ in range(2):
            data = next_item(client, pairwise_project).json()
            item = Item.objects.get(pk=data["item"]["id"])
            submit(client, data["assignment"], {"chosen": item.response_ids[pick], "strength": 2, "time_spent_ms": 4000})
    next_item(api(annotator), pairwise_project)
    d = next_item(api(annotator2), pairwise_project).json()
    api(annotator2).post(f"/api/assignments/{d['assignment']}/skip/", {}, format="json")
    progress = api(lead).get(f"/api/projects/{pairwise_project.id}/progress/").json()
    rows = {r["username"]: r for r in progress["annotators"]}
    assert rows["ann1"] == {"username": "ann1", "done": 2, "skipped": 0, "in_progress": 1, "median_seconds": 4.0,
                            "gold_answered": 2, "gold_accuracy": 1.0}
    assert rows["ann2"]["gold_accuracy"] == 0.0 and rows["ann2"]["skipped"] == 1
    assert progress["annotations"] == 4 and progress["items"]["total"] == 5


def test_leads_list_items_by_status_and_read_one_with_all_answers(api, lead, pairwise_project):
    users = make_annotators(pairwise_project, 3)
    for u in users:
        answer_first_shown(api(u), pairwise_project)
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/items/?status=complete")
    assert r.json()["count"] == 1
    item_id = r.json()["results"][0]["id"]
    assert api(lead).get(f"/api/projects/{pairwise_project.id}/items/?status=open").json()["count"] == 4
    detail = api(lead).get(f"/api/projects/{pairwise_project.id}/items/{item_id}/").json()
    assert sorted(a["annotator"] for a in detail["answers"]) == sorted(u.username for u in users)
    assert [r["id"] for r in detail["responses"]] == Item.objects.get(pk=item_id).response_ids


def test_my_projects_show_done_and_remaining_for_me(api, annotator, pairwise_project):
    answer_first_shown(api(annotator), pairwise_project)
    row = api(annotator).get("/api/projects/").json()["results"][0]
    assert row["my_progress"] == {"done": 1, "skipped": 0, "remaining": 4}
    assert row["role"] == "annotator"


def test_an_annotator_far_ahead_of_the_others_still_gets_every_item_they_have_not_seen(api, annotator, pairwise_project,
                                                                                       monkeypatch):
    from annotation.services import assignments

    monkeypatch.setattr(assignments, "WINDOW", 2)  # the bounded window fills with the caller's own items quickly
    other = make_annotators(pairwise_project, 1)[0]
    first_of_other = answer_first_shown(api(other), pairwise_project)["item"]["id"]
    seen = []
    while (data := answer_first_shown(api(annotator), pairwise_project)) is not None:
        seen.append(data["item"]["id"])
    # Breadth-first puts the other annotator's item first; then fresh items; nothing is missed or repeated.
    assert seen[0] == first_of_other
    assert sorted(seen) == sorted(pairwise_project.items.values_list("id", flat=True))


def test_when_the_window_holds_only_the_callers_items_and_nothing_is_fresh_it_walks_the_rest(api, annotator,
                                                                                             pairwise_project, monkeypatch):
    from annotation.services import assignments

    monkeypatch.setattr(assignments, "WINDOW", 1)
    project_update(project=pairwise_project, annotations_per_item=1)
    for other in make_annotators(pairwise_project, 5):  # one answer on each item from someone else
        answer_first_shown(api(other), pairwise_project)
    project_update(project=pairwise_project, annotations_per_item=3)  # every item in progress, none fresh
    seen = []
    while (data := answer_first_shown(api(annotator), pairwise_project)) is not None:
        seen.append(data["item"]["id"])
    assert sorted(seen) == sorted(pairwise_project.items.values_list("id", flat=True))


def statements(captured) -> int:
    """Statements a request ran, leaving out the test transaction's savepoints."""
    return sum(not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN")) for q in captured.captured_queries)


@pytest.mark.parametrize("size", [4, 400])
def test_next_and_submit_run_a_fixed_number_of_statements_whatever_the_project_size(db, size):
    """The hot path stays a handful of constant statements: nothing per item, per answer or per annotator."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    users = [factories.user() for _ in range(3)]
    project = factories.project("pairwise", members={u: "annotator" for u in users})
    factories.items(project, size)
    counts = []
    for user in users * 2:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION="Token " + Token.objects.get_or_create(user=user)[0].key)
        with CaptureQueriesContext(connection) as on_next:
            data = next_item(client, project).json()
        with CaptureQueriesContext(connection) as on_submit:
            r = submit(client, data["assignment"], {"chosen": data["item"]["responses"][0]["id"], "strength": 2})
        assert r.status_code == 201
        counts.append((statements(on_next), statements(on_submit)))
    # next: token, project, live lease, reclaim, at most three claims (in progress, fresh, anywhere), counter,
    # lease, payload; submit: token, lock, counter, answer, assignment (the agreement flag runs after commit).
    assert max(n for n, _ in counts) <= 10
    assert max(s for _, s in counts) <= 5
