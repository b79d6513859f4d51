"""The lead's item list and item page: filters, neighbours, "needs more annotators" and adjudication."""

import pytest

from annotation.models import Adjudication, Annotation, AuditEvent, Item, Prompt, Response
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next, assignment_skip
from annotation.services.curation import curation_apply

from . import factories


def answer(project, user, *, first_better: bool = True, strength: int = 2, flags=()):
    lease = assignment_next(project=project, user=user)
    chosen = lease.response_ids[0 if first_better else 1]
    annotation, _ = annotation_submit(assignment_id=lease.pk, user=user,
                                      payload={"chosen": chosen, "strength": strength, "flags": list(flags)})
    return annotation


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def listed(api, lead, pairwise_project):
    url = f"/api/projects/{pairwise_project.id}/items/"
    return lambda query="": ids(api(lead).get(f"{url}?{query}"))


def test_text_search_finds_the_prompt_and_the_response_text(listed, pairwise_project):
    items = list(pairwise_project.items.order_by("id"))
    Response.objects.filter(pk=items[3].response_ids[1]).update(text="An answer about Kangaroos")
    assert listed("q=question%20number%202") == [items[2].id]
    assert listed("q=kangaroo") == [items[3].id]
    assert listed("q=no%20such%20words") == []


def test_metadata_filters_compare_values_as_text_and_all_must_match(listed, pairwise_project):
    items = list(pairwise_project.items.order_by("id"))
    Prompt.objects.filter(pk=items[0].prompt_id).update(metadata={"source": "forum", "turns": 3})
    Prompt.objects.filter(pk=items[1].prompt_id).update(metadata={"source": "forum", "turns": 1})
    assert listed("metadata=source=forum") == [items[0].id, items[1].id]
    assert listed("metadata=source=forum&metadata=turns=3") == [items[0].id]
    assert listed("metadata=source=mail") == []


def test_annotator_flagged_model_and_agreement_filters(listed, pairwise_project, annotator, annotator2):
    first = answer(pairwise_project, annotator, flags=["pii"])
    answer(pairwise_project, annotator2)
    items = list(pairwise_project.items.order_by("id"))
    assert listed(f"annotator={annotator.username}") == [first.item_id]
    assert listed("flagged=true") == [first.item_id]
    assert first.item_id not in listed("flagged=false") and len(listed("flagged=false")) == 4
    Response.objects.filter(pk=items[4].response_ids[0]).update(model_name="gpt-x")
    assert listed("model=gpt-x") == [items[4].id]
    Item.objects.filter(pk=items[0].id).update(agreement=0.5)
    Item.objects.filter(pk=items[1].id).update(agreement=1.0)
    assert listed("min_agreement=0.4&max_agreement=0.6") == [items[0].id]
    assert listed("min_agreement=0.9") == [items[1].id]


@pytest.mark.parametrize("query, field", [
    ("min_agreement=abc", "min_agreement"), ("max_agreement=1.5", "max_agreement"),
    ("min_agreement=nan", "min_agreement"), ("min_agreement=0.8&max_agreement=0.2", "min_agreement"),
    ("flagged=perhaps", "flagged"), ("adjudicated=2", "adjudicated"), ("metadata=nokey", "metadata"),
    ("metadata==x", "metadata"), ("annotator=nobody", "annotator"), ("q=a%00b", "q"), ("model=%00", "model"),
    ("status=stuck", "status"),
])
def test_a_bad_filter_value_is_a_400_naming_its_parameter(api, lead, pairwise_project, query, field):
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/items/?{query}")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, r.content


def test_the_item_page_names_its_neighbours_within_the_same_filter(api, lead, pairwise_project):
    items = [i.id for i in pairwise_project.items.order_by("id")]
    Prompt.objects.filter(items__id__in=[items[0], items[2], items[4]]).update(metadata={"keep": "yes"})
    url = f"/api/projects/{pairwise_project.id}/items/{items[2]}/"
    assert api(lead).get(url).json()["neighbours"] == {"previous": items[1], "next": items[3]}
    assert api(lead).get(url + "?metadata=keep=yes").json()["neighbours"] == {"previous": items[0], "next": items[4]}
    last = api(lead).get(f"/api/projects/{pairwise_project.id}/items/{items[4]}/?metadata=keep=yes").json()
    assert last["neighbours"] == {"previous": items[2], "next": None}
    assert api(lead).get(url + "?min_agreement=x").status_code == 400


def test_an_item_everyone_has_answered_or_skipped_needs_more_annotators(api, lead, annotator, annotator2):
    project = factories.project("pairwise", annotations_per_item=3,
                                members={lead: "lead", annotator: "annotator", annotator2: "annotator"})
    factories.items(project, 2)
    url = f"/api/projects/{project.id}/items/"
    answered = answer(project, annotator).item_id
    assert api(lead).get(f"{url}{answered}/").json()["status"] == "in_progress"  # annotator2 may still answer it
    lease = assignment_next(project=project, user=annotator2)
    assert lease.item_id == answered
    assignment_skip(assignment_id=lease.pk, user=annotator2, reason="unsure")
    detail = api(lead).get(f"{url}{answered}/").json()
    assert detail["status"] == "needs_annotators" and detail["n_submitted"] == 1
    assert ids(api(lead).get(f"{url}?status=needs_annotators")) == [answered]
    assert answered not in ids(api(lead).get(f"{url}?status=in_progress"))
    progress = api(lead).get(f"/api/projects/{project.id}/progress/").json()["items"]
    assert progress["needs_annotators"] == 1 and progress["in_progress"] == 0 and progress["open"] == 1
    # A third annotator joins: the item can be finished again.
    newcomer = factories.user("ann3")
    project.memberships.create(user=newcomer, role="annotator")
    assert api(lead).get(f"{url}{answered}/").json()["status"] == "in_progress"


@pytest.fixture
def contested(pairwise_project, annotator, annotator2):
    """One item answered both ways: annotator says the first is better, annotator2 the second (strength 3)."""
    a = answer(pairwise_project, annotator, first_better=True, strength=1)
    lease = assignment_next(project=pairwise_project, user=annotator2)
    assert lease.item_id == a.item_id
    b, _ = annotation_submit(assignment_id=lease.pk, user=annotator2,
                             payload={"chosen": lease.response_ids[1], "strength": 3})
    return Item.objects.get(pk=a.item_id), a, b


def test_a_lead_settles_a_contested_item_replaces_and_withdraws_the_ruling(api, lead, pairwise_project, contested):
    item, first, second = contested
    url = f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/"
    r = api(lead).put(url, {"from_answer": second.id, "note": "B cites the source"}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["preference"] == 3 and r.json()["from_answer"] == second.id
    assert r.json()["decided_by"] == lead.username and r.json()["decided_at"]
    detail = api(lead).get(f"/api/projects/{pairwise_project.id}/items/{item.id}/").json()
    assert detail["adjudication"]["note"] == "B cites the source" and detail["adjudicated"] is True
    own = api(lead).put(url, {"chosen": item.response_ids[0], "strength": 2, "note": "on reflection A"}, format="json")
    assert own.json()["preference"] == -2 and own.json()["from_answer"] is None
    assert Adjudication.objects.filter(item=item).count() == 1
    assert ids(api(lead).get(f"/api/projects/{pairwise_project.id}/items/?adjudicated=true")) == [item.id]
    assert api(lead).delete(url).status_code == 204
    assert not Adjudication.objects.filter(item=item).exists()
    events = list(AuditEvent.objects.filter(target_id=str(item.id)).order_by("id").values_list("action", "changes"))
    assert [action for action, _ in events] == ["item.adjudicate", "item.adjudicate", "item.adjudication_withdraw"]
    assert events[1][1]["preference"] == [3, -2] and events[1][1]["note"] == ["B cites the source", "on reflection A"]
    assert api(lead).get(f"/api/projects/{pairwise_project.id}/items/{item.id}/").json()["adjudication"] is None


@pytest.mark.parametrize("body, field", [
    ({"from_answer": 1}, "note"), ({"note": "  ", "preference": 1}, "note"),
    ({"note": "x", "from_answer": 999999}, "from_answer"), ({"note": "x", "from_answer": True}, "from_answer"),
    ({"note": "x", "preference": 4}, "preference"), ({"note": "x", "preference": "1"}, "preference"),
    ({"note": "x"}, "chosen"), ({"note": "x", "chosen": 10**9, "strength": 2}, "chosen"),
    ({"note": "x\x00"}, "note"),
])
def test_a_bad_ruling_is_a_400_naming_the_field_and_writes_nothing(api, lead, pairwise_project, contested, body, field):
    item = contested[0]
    r = api(lead).put(f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/", body, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, r.content
    assert not Adjudication.objects.exists()


def test_an_answer_of_another_item_cannot_be_the_ruling(api, lead, pairwise_project, contested, annotator):
    other = answer(pairwise_project, annotator)
    item = contested[0]
    r = api(lead).put(f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/",
                      {"from_answer": other.id, "note": "x"}, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "from_answer"


def test_curation_uses_the_ruling_as_the_consensus_unless_told_to_ignore_it(api, lead, pairwise_project, contested):
    item, first, second = contested
    url = f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/"
    api(lead).put(url, {"from_answer": first.id, "note": "A is right"}, format="json")
    rules = {"min_item_agreement": 0.9}
    used = curation_apply(project=pairwise_project, rules=rules)
    at = list(used.result.items).index(item.id)  # an agreement of 0 would drop it; the ruling keeps it
    assert used.result.consensus[at] == -1 and used.result.margin[at] == 1.0 and used.result.adjudicated[at]
    ignored = curation_apply(project=pairwise_project, rules={**rules, "adjudication": "ignore"})
    assert item.id not in ignored.result.items.tolist()
    bad = api(lead).post(f"/api/projects/{pairwise_project.id}/curation/preview/",
                         {"rules": {"adjudication": "maybe"}}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "adjudication"


def test_a_ranking_ruling_orders_the_item_in_curation(api, lead, annotator, annotator2):
    project = factories.project("ranking", ranking_size=3, annotations_per_item=2,
                                members={lead: "lead", annotator: "annotator", annotator2: "annotator"})
    factories.items(project, 1)
    item = project.items.get()
    a, b, c = item.response_ids
    for user, order in ((annotator, [a, b, c]), (annotator2, [c, b, a])):
        lease = assignment_next(project=project, user=user)
        annotation_submit(assignment_id=lease.pk, user=user, payload={"ranking": order})
    r = api(lead).put(f"/api/projects/{project.id}/items/{item.id}/adjudication/",
                      {"ranking": [b, [a, c]], "note": "b is best; a and c alike"}, format="json")
    assert r.status_code == 200 and r.json()["ranking"] == [[b], sorted([a, c])]
    curated = curation_apply(project=project, rules={})
    directions = dict(zip(((int(curated.units.unit_first[u]), int(curated.units.unit_second[u]))
                           for u in curated.result.items), curated.pair_direction.tolist(), strict=True))
    assert directions[(min(a, b), max(a, b))] == (1 if b > a else -1)  # b ahead of a
    assert directions[(min(b, c), max(b, c))] == (-1 if b < c else 1)  # b ahead of c
    assert directions[(min(a, c), max(a, c))] == 0
    assert Annotation.objects.filter(item=item).count() == 2


def test_the_snapshot_marks_the_adjudicated_row_with_its_note_and_counts_it(api, lead, pairwise_project, contested,
                                                                            settings, tmp_path):
    from .test_snapshots import build, rows

    settings.ARTIFACT_ROOT = tmp_path
    item, first, second = contested
    api(lead).put(f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/",
                  {"from_answer": second.id, "note": "B is right"}, format="json")
    answer(pairwise_project, contested[1].annotator)  # another item, settled by its answers alone
    snapshot = build(pairwise_project, lead, test_fraction=0.0)
    assert snapshot.state == "ready", snapshot.error
    (row,) = [r for r in rows(snapshot, "preference-train.jsonl") if r["item_id"] == item.id]
    second_text = Response.objects.get(pk=item.response_ids[1]).text
    assert row["chosen"][0]["content"] == second_text and row["margin"] == 3.0
    assert row["adjudicated"] is True and row["adjudication_note"] == "B is right"
    assert snapshot.counts["adjudicated"] == 1 and "adjudicated" in snapshot.counts["units"]
    others = [r for r in rows(snapshot, "preference-train.jsonl") if r["item_id"] != item.id]
    assert len(others) == 1 and others[0]["adjudicated"] is False and others[0]["adjudication_note"] is None
