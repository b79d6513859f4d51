"""What an annotator reads and changes of their own work: their answers, their skipped items, a project's minimum
demonstration length, and gold feedback once an answer is stored."""

import pytest

from annotation.models import Assignment, Item

from . import factories
from .test_assignment import next_item, submit


def skip(client, assignment_id, reason=""):
    return client.post(f"/api/assignments/{assignment_id}/skip/", {"reason": reason}, format="json")


def unskip(client, assignment_id):
    return client.post(f"/api/assignments/{assignment_id}/unskip/")


def test_the_history_lists_ones_answers_with_their_prompt_and_whether_they_can_still_change(api, annotator,
                                                                                            pairwise_project):
    client = api(annotator)
    lease = next_item(client, pairwise_project).json()
    chosen = lease["item"]["responses"][1]["id"]
    assert submit(client, lease["assignment"], {"chosen": chosen, "strength": 3}).status_code == 201
    rows = client.get(f"/api/me/annotations/?project={pairwise_project.id}").json()["results"]
    assert len(rows) == 1 and rows[0]["editable"] is True
    assert rows[0]["prompt"].startswith("Question number")
    detail = client.get(f"/api/me/annotations/{rows[0]['id']}/").json()
    assert [r["id"] for r in detail["shown"]["responses"]] == [r["id"] for r in lease["item"]["responses"]]
    assert detail["shown"]["conversation"] == lease["item"]["conversation"]
    Item.objects.filter(pk=lease["item"]["id"]).update(n_submitted=pairwise_project.annotations_per_item)
    assert client.get(f"/api/me/annotations/{rows[0]['id']}/").json()["editable"] is False


def test_a_skipped_item_is_listed_and_taken_back_becomes_the_lease_next_returns(api, annotator, pairwise_project):
    client = api(annotator)
    first = next_item(client, pairwise_project).json()
    assert skip(client, first["assignment"], "unsure").status_code == 200
    second = next_item(client, pairwise_project).json()  # a live lease on another item meanwhile
    skipped = client.get(f"/api/me/skipped/?project={pairwise_project.id}").json()["results"]
    assert [(s["assignment"], s["item"], s["reason"]) for s in skipped] == [(first["assignment"], first["item"]["id"], "unsure")]
    assert skipped[0]["prompt"].startswith("Question number")

    r = unskip(client, first["assignment"])
    assert r.status_code == 200 and r.json()["status"] == "leased"
    again = next_item(client, pairwise_project).json()
    assert again["assignment"] == first["assignment"] and again["item"] == first["item"]
    assert Assignment.objects.get(pk=second["assignment"]).status == "expired"  # its slot went back
    for item_id in (first["item"]["id"], second["item"]["id"]):
        item = Item.objects.get(pk=item_id)
        assert item.open_slots == pairwise_project.annotations_per_item - item.n_submitted - item.n_leased
    assert client.get("/api/me/skipped/").json()["results"] == []
    assert submit(client, again["assignment"], {"tie": True}).status_code == 201


def test_unskip_is_refused_for_a_live_lease_a_full_item_and_someone_elses_skip(api, annotator, annotator2,
                                                                              pairwise_project):
    client = api(annotator)
    lease = next_item(client, pairwise_project).json()
    assert unskip(client, lease["assignment"]).status_code == 409
    skip(client, lease["assignment"])
    assert unskip(api(annotator2), lease["assignment"]).status_code == 404
    Item.objects.filter(pk=lease["item"]["id"]).update(open_slots=0)
    r = unskip(client, lease["assignment"])
    assert r.status_code == 409 and "all the answers it needs" in r.json()["errors"][0]["message"]
    assert Assignment.objects.get(pk=lease["assignment"]).status == "skipped"


def test_a_demonstration_shorter_than_the_projects_minimum_is_refused_naming_text(api, lead, annotator):
    project = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(project, 2)
    r = api(lead).patch(f"/api/projects/{project.id}/", {"min_demonstration_chars": 20}, format="json")
    assert r.status_code == 200 and r.json()["min_demonstration_chars"] == 20
    client = api(annotator)
    lease = next_item(client, project).json()
    r = submit(client, lease["assignment"], {"text": "   too short     "})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "text", "message": "at least 20 characters in this project (this one has 9)"}]
    assert Assignment.objects.get(pk=lease["assignment"]).status == "leased"  # nothing half-written
    r = submit(client, lease["assignment"], {"text": "x" * 20})
    assert r.status_code == 201
    r = client.patch(f"/api/me/annotations/{r.json()['id']}/", {"text": "short"}, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "text"
    assert api(lead).patch(f"/api/projects/{project.id}/", {"min_demonstration_chars": -1},
                           format="json").status_code == 400


def gold_setup(api, lead, annotator, *, feedback: bool):
    project = factories.project("pairwise", gold_ratio=1.0, annotations_per_item=1, gold_feedback=feedback,
                                members={lead: "lead", annotator: "annotator"})
    factories.items(project, 3)
    gold = Item.objects.filter(project=project).order_by("id").first()
    r = api(lead).post(f"/api/projects/{project.id}/items/{gold.id}/gold/",
                       {"is_gold": True, "expected": {"chosen": gold.response_ids[0], "strength": 2}}, format="json")
    assert r.status_code == 200
    return project, gold


@pytest.mark.parametrize("right", [True, False])
def test_with_gold_feedback_on_the_stored_answer_to_a_gold_item_says_whether_it_matched(api, lead, annotator, right):
    project, gold = gold_setup(api, lead, annotator, feedback=True)
    client = api(annotator)
    lease = next_item(client, project).json()
    assert lease["item"]["id"] == gold.id and "gold" not in str(sorted(lease))  # nothing before answering
    winner = gold.response_ids[0] if right else gold.response_ids[1]
    r = submit(client, lease["assignment"], {"chosen": winner, "strength": 1})
    assert r.status_code == 201 and r.json()["gold_feedback"] == {"matched": right}
    # A work item: no key at all, so a missing key does not tell an item apart from gold either way.
    lease = next_item(client, project).json()
    r = submit(client, lease["assignment"], {"tie": True})
    assert r.status_code == 201 and "gold_feedback" not in r.json()


def test_gold_feedback_is_off_by_default(api, lead, annotator):
    project, gold = gold_setup(api, lead, annotator, feedback=False)
    assert api(annotator).get(f"/api/projects/{project.id}/").json()["gold_feedback"] is False
    client = api(annotator)
    lease = next_item(client, project).json()
    r = submit(client, lease["assignment"], {"chosen": gold.response_ids[1], "strength": 1})
    assert r.status_code == 201 and "gold_feedback" not in r.json()
