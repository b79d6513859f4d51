"""Agreement figures, computed by a real worker, served to leads only; curation rules and their preview."""

import random

import pytest

from annotation.models import AgreementReport, Annotation
from annotation.services.quality import agreement_compute
from bench import curation_proof

from . import factories
from .conftest import wait_for
from .test_assignment import make_annotators, next_item, submit


def answer_all(api, project, users, pick):
    """Every user answers every item; pick(user_index, item) -> (stored index chosen, strength) or 'tie'."""
    for u_index, user in enumerate(users):
        while (r := next_item(api(user), project)).status_code == 200:
            data = r.json()
            ids = sorted(x["id"] for x in data["item"]["responses"])
            choice = pick(u_index, data["item"]["id"])
            payload = {"tie": True} if choice == "tie" else {"chosen": ids[choice[0]], "strength": choice[1]}
            assert submit(api(user), data["assignment"], payload).status_code == 201


@pytest.fixture
def answered(db, api, lead):
    """4 items x 3 annotators with known answers: items 1-2 unanimous, item 3 split 2-1, item 4 has a tie."""
    project = factories.project("pairwise", annotations_per_item=3, members={lead: "lead"})
    factories.items(project, 4)
    users = make_annotators(project, 3)
    items = list(project.items.order_by("id").values_list("id", flat=True))
    plan = {items[0]: [(0, 2)] * 3, items[1]: [(1, 3)] * 3, items[2]: [(0, 1), (0, 2), (1, 1)],
            items[3]: [(0, 1), "tie", (0, 3)]}
    answer_all(api, project, users, lambda u, item: plan[item][u])
    return project


def test_the_agreement_endpoint_is_computed_by_the_worker_and_matches_the_definitions(api, lead, answered, live_worker):
    url = f"/api/projects/{answered.id}/agreement/"
    first = api(lead).get(url)
    assert first.status_code == 202 and first.json()["status"] == "pending"
    wait_for(lambda: api(lead).get(url).status_code == 200, timeout=120, what="the agreement report",
             log_path=live_worker.log_path)
    data = api(lead).get(url).json()
    assert data["status"] == "ready" and data["stale"] is False
    assert (data["n_items"], data["n_annotations"]) == (4, 12)
    # MT-Bench pairs: items 1, 2 agree 3/3; item 3 1/3; item 4: pairs (A,tie) no, (A,A) yes, (tie,A) no -> 1/3.
    assert data["percent_agreement"]["with_ties"] == pytest.approx(8 / 12)
    # Without ties, item 4 keeps only the (A, A) pair: 3 + 3 + 1 + 1 agreeing of 3 + 3 + 3 + 1.
    assert data["percent_agreement"]["without_ties"] == pytest.approx(8 / 10)

    assert all(k["n_items"] == 4 for k in data["cohen_kappa"]) and len(data["cohen_kappa"]) == 3
    for key in ("fleiss_kappa", "leave_one_out_agreement", "krippendorff_alpha", "confidence_intervals", "annotators",
                "label_distribution", "item_agreement_histogram", "contested_items", "over_time"):
        assert key in data, key
    assert set(data["krippendorff_alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    usernames = {a["annotator"] for a in data["annotators"]}
    assert usernames == set(Annotation.objects.filter(project=answered).values_list("annotator__username", flat=True))
    # Per-item agreement lands on the items, so leads can list the contested ones.
    contested = api(lead).get(f"/api/projects/{answered.id}/items/?max_agreement=0.5").json()
    assert contested["count"] == 2


def test_a_new_answer_makes_the_report_stale_and_the_worker_refreshes_it(api, lead, answered, live_worker):
    url = f"/api/projects/{answered.id}/agreement/"
    api(lead).get(url)
    wait_for(lambda: api(lead).get(url).status_code == 200, timeout=120, what="the first report",
             log_path=live_worker.log_path)
    late = make_annotators(answered, 1)[0]
    answered.annotations_per_item = 4
    answered.save()
    answered.items.update(open_slots=1)
    data = next_item(api(late), answered).json()
    submit(api(late), data["assignment"], {"tie": True})
    wait_for(lambda: api(lead).get(url).json().get("n_annotations") == 13, timeout=120,
             what="the refreshed report", log_path=live_worker.log_path)
    assert AgreementReport.objects.get(project=answered).status == "ready"


def test_annotators_and_outsiders_cannot_reach_agreement(api, annotator, outsider, pairwise_project):
    for user in (annotator, outsider):
        assert api(user).get(f"/api/projects/{pairwise_project.id}/agreement/").status_code == 404


def test_agreement_filters_are_validated_by_name(api, lead, pairwise_project):
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/agreement/?criterion=beauty&since=yesterday")
    assert r.status_code == 400
    assert {e["field"] for e in r.json()["errors"]} == {"criterion", "since"}


def test_criterion_and_annotator_filters_change_what_is_counted(db, lead, api, answered):
    users = sorted(set(Annotation.objects.filter(project=answered).values_list("annotator__username", flat=True)))
    report, _ = agreement_compute(answered, {"annotators": users[:2]})
    assert report["n_annotations"] == 8
    report, _ = agreement_compute(answered, {"criterion": "helpfulness"})
    assert report["n_annotations"] == 0


def test_curation_rules_are_saved_validated_and_previewed(api, lead, answered):
    url = f"/api/projects/{answered.id}/curation/"
    bad = api(lead).put(url, {"rules": {"ties": "sometimes"}}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "ties"
    unknown = api(lead).put(url, {"rules": {"min_vibes": 1}}, format="json")
    assert unknown.json()["errors"][0]["field"] == "min_vibes"
    rules = {"min_item_agreement": 0.5, "ties": "drop"}
    assert api(lead).put(url, {"rules": rules}, format="json").json() == {"rules": rules}
    preview = api(lead).post(url + "preview/", {"rules": rules}, format="json").json()
    steps = {step["rule"]: step for step in preview["preview"]}
    assert preview["initial"] == {"answers": 12, "items": 4}
    assert steps["min_item_agreement"]["removed_items"] == 2 and steps["min_item_agreement"]["removed_answers"] == 6
    assert preview["remaining"]["items"] == 2 and preview["remaining"]["answers"] == 6
    assert api(lead).post(url + "preview/", {"rules": {}}, format="json").json()["remaining"]["items"] == 4


def test_a_preview_that_leaves_the_rules_out_previews_the_saved_rules(api, lead, answered):
    url = f"/api/projects/{answered.id}/curation/"
    rules = {"min_item_agreement": 0.5, "ties": "drop"}
    api(lead).put(url, {"rules": rules}, format="json")
    for body, content_type in [("{}", "application/json"), ('{"other": 1}', "application/json"),
                               ("", "application/x-www-form-urlencoded")]:
        preview = api(lead).generic("POST", url + "preview/", body, content_type=content_type).json()
        assert preview["rules"] == rules and preview["remaining"]["items"] == 2, body


def test_simulated_annotators_through_the_api_dawid_skene_recovers_accuracy_and_curation_beats_majority(db, api, lead):
    rng = random.Random(3)
    project = factories.project("pairwise", annotations_per_item=5, members={lead: "lead"})
    raw = list(enumerate(curation_proof.import_lines(300, rng), start=1))
    from annotation.importing import validate_lines
    from annotation.services.imports import items_import

    items_import(project=project, lines=validate_lines(raw, kind="pairwise", responses_per_item=2))
    people, clients = [], {}
    for name, accuracy in curation_proof.ANNOTATORS:
        user = factories.user(name)
        project.memberships.create(user=user, role="annotator")
        people.append(curation_proof.Simulated(name, accuracy))
        clients[name] = api(user)
    truth = curation_proof.item_truth(project)
    assert curation_proof.annotate_until_done(clients, project.id, people, truth, rng) == 1500
    report, _ = agreement_compute(project, {})
    actual = curation_proof.empirical_accuracy(project, truth)
    for row in report["annotators"]:
        assert row["ds_reliability"] == pytest.approx(actual[row["annotator"]], abs=0.05), row["annotator"]
    majority = curation_proof.majority_accuracy(project, truth)
    curated, kept = curation_proof.curated_accuracy(project, truth)
    assert curated > majority and kept >= 250, (curated, majority, kept)


@pytest.mark.parametrize("rules, field", [
    ({"min_item_agreement": 2}, "min_item_agreement"),
    ({"min_answers_per_item": 2.5}, "min_answers_per_item"),
    ({"min_abs_strength": -1}, "min_abs_strength"),
    ({"exclude_flagged": "yes"}, "exclude_flagged"),
    ({"consensus": "vibes"}, "consensus"),
])
def test_out_of_range_curation_rules_are_refused_naming_the_rule(api, lead, pairwise_project, rules, field):
    r = api(lead).post(f"/api/projects/{pairwise_project.id}/curation/preview/", {"rules": rules}, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field


def test_an_answer_that_lands_while_the_report_is_computed_gets_a_recompute_of_its_own(transactional_db):
    """Its own refresh finds the report running and changes nothing; the run that ends after it must go again."""
    import threading

    from django.db import connection

    from annotation.services.annotations import annotation_submit
    from annotation.services.assignments import assignment_next
    from annotation.services.quality import agreement_report_current, agreement_report_get, agreement_run

    users = [factories.user() for _ in range(3)]
    project = factories.project("pairwise", annotations_per_item=3, members={u: "annotator" for u in users})
    factories.items(project, 3)
    for user in users[:2]:
        while (lease := assignment_next(project=project, user=user)) is not None:
            annotation_submit(assignment_id=lease.pk, user=user, payload={"chosen": lease.response_ids[0],
                                                                          "strength": 2})
    report = agreement_report_get(project=project, filters={})
    late = assignment_next(project=project, user=users[2])

    def answer_once_it_runs(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "annotation_agreementreport"') and "running" in (params or ()):
            submit = threading.Thread(target=lambda: (annotation_submit(
                assignment_id=late.pk, user=users[2], payload={"tie": True}), connection.close()))
            submit.start()  # on another connection, committed before the worker reads the answers
            submit.join()
        return result

    with connection.execute_wrapper(answer_once_it_runs):
        agreement_run(report_id=report.pk)
    report.refresh_from_db()
    assert not agreement_report_current(report)  # stamped with the answers as they were when it started
    assert report.status == "pending"  # and asked again, not left stale until the next answer or visit
    agreement_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.data["n_annotations"] == 7 and agreement_report_current(report) and report.status == "ready"


def test_a_report_left_running_by_a_dead_worker_is_sent_again_and_finished(api, lead, answered, live_worker):
    from datetime import timedelta

    from django.utils import timezone

    from annotation.services.quality import agreement_report_get, agreement_wake_lost

    report = agreement_report_get(project=answered, filters={})
    started = timezone.now() - timedelta(minutes=20)  # what a worker killed mid-compute leaves behind
    AgreementReport.objects.filter(pk=report.pk).update(status="running", requested_at=started)
    fresh = timedelta(minutes=30)
    assert agreement_wake_lost(older_than=timedelta(minutes=5), stale_after=fresh) == []  # may still be computing
    assert agreement_wake_lost(older_than=timedelta(minutes=5), stale_after=timedelta(minutes=15)) == [report.pk]
    url = f"/api/projects/{answered.id}/agreement/"
    wait_for(lambda: api(lead).get(url).status_code == 200, timeout=120, what="the report sent again",
             log_path=live_worker.log_path)
    assert api(lead).get(url).json()["n_annotations"] == 12


def test_progress_shows_the_reports_own_speed_and_gold_accuracy_per_annotator(api, lead, answered):
    """Computed once (`annotator_speed_and_gold`): the progress page and the agreement report cannot disagree."""
    items = list(answered.items.order_by("id"))
    for item in items[:3]:
        assert api(lead).post(f"/api/projects/{answered.id}/items/{item.id}/gold/", {
            "is_gold": True, "expected": {"chosen": item.response_ids[0], "strength": 1}}, format="json").status_code == 200
    spent = {a.pk: 1000 * (i % 5 + 1) for i, a in enumerate(Annotation.objects.filter(project=answered).order_by("id"))}
    for pk, ms in spent.items():
        Annotation.objects.filter(pk=pk).update(time_spent_ms=ms)
    report, _ = agreement_compute(answered, {})
    progress = api(lead).get(f"/api/projects/{answered.id}/progress/").json()
    by_name = {row["annotator"]: row for row in report["annotators"]}
    assert {row["username"] for row in progress["annotators"]} == set(by_name)
    for row in progress["annotators"]:
        mine = by_name[row["username"]]
        assert row["gold_answered"] == mine["gold_answers"] == 3
        assert row["gold_accuracy"] == round(mine["gold_accuracy"], 4)
        assert row["median_seconds"] == round(mine["median_seconds"], 2)
    assert sorted(row["gold_accuracy"] for row in progress["annotators"]) == [0.3333, 0.6667, 0.6667]  # 2 of 3 right


def test_a_recompute_stores_each_items_agreement_and_rewrites_what_differs(answered):
    """The per-item agreement lands on the items; a recompute compares it with what the load read of them and
    rewrites the items whose stored value differs (here: one changed behind its back, one cleared)."""
    from annotation.models import Item
    from annotation.services.quality import agreement_report_get, agreement_run

    report = agreement_report_get(project=answered, filters={})
    _, per_item = agreement_compute(answered, {})
    expected = dict(zip(per_item.items.tolist(), per_item.agreement.tolist(), strict=True))
    assert sorted(expected.values()) == pytest.approx([1 / 3, 1 / 3, 1.0, 1.0])

    def stored():
        return dict(Item.objects.filter(project=answered).values_list("id", "agreement"))

    agreement_run(report_id=report.pk)
    assert stored() == pytest.approx(expected)
    first, second = sorted(expected)[:2]
    Item.objects.filter(pk=first).update(agreement=0.123)
    Item.objects.filter(pk=second).update(agreement=None)
    agreement_run(report_id=report.pk)
    assert stored() == pytest.approx(expected)
