"""An Idempotency-Key repeats one answer; it never silently swallows a different one."""

from annotation.models import Annotation

from .test_assignment import next_item, submit


def test_a_key_reused_with_a_different_answer_is_refused_and_the_first_answer_is_kept(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    first, second = (r["id"] for r in data["item"]["responses"])
    payload = {"chosen": first, "strength": 3, "rationale": "clearer"}
    assert submit(api(annotator), data["assignment"], payload, key="k-1").status_code == 201
    r = submit(api(annotator), data["assignment"], {"chosen": second, "strength": 1}, key="k-1")
    assert r.status_code == 409
    assert "different answer" in r.json()["errors"][0]["message"]
    stored = Annotation.objects.get()
    assert (stored.rationale, stored.preference) == ("clearer", -3 if first == stored.item.response_ids[0] else 3)
    repeat = submit(api(annotator), data["assignment"], payload, key="k-1")
    assert repeat.status_code == 200 and repeat.json()["id"] == stored.id


def test_a_reused_key_with_a_malformed_answer_is_a_different_answer_too(api, annotator, pairwise_project):
    data = next_item(api(annotator), pairwise_project).json()
    assert submit(api(annotator), data["assignment"], {"tie": True}, key="k-2").status_code == 201
    r = submit(api(annotator), data["assignment"], {"chosen": "nope"}, key="k-2")
    assert r.status_code == 409 and "different answer" in r.json()["detail"]
    assert Annotation.objects.get().preference == 0
