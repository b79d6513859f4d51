"""Query strings and bodies the API used to take silently, or crash on: each is a 400 naming the field."""

import pytest

from annotation.models import AgreementReport, Project


def first_error(r) -> dict:
    assert r.status_code == 400, (r.status_code, r.content[:300])
    return r.json()["errors"][0]


@pytest.mark.parametrize("query, field", [
    ("status=bogus", "status"), ("status=%00", "status"), ("is_gold=maybe", "is_gold"),
    ("max_agreement=nan", "max_agreement"), ("max_agreement=abc", "max_agreement"),
])
def test_a_bad_item_filter_names_its_parameter(api, lead, pairwise_project, query, field):
    assert first_error(api(lead).get(f"/api/projects/{pairwise_project.id}/items/?{query}"))["field"] == field


def test_good_item_filters_still_filter(api, lead, pairwise_project):
    url = f"/api/projects/{pairwise_project.id}/items/"
    assert api(lead).get(url + "?status=open&is_gold=false").json()["count"] == 5
    assert api(lead).get(url + "?status=&is_gold=").json()["count"] == 5
    assert api(lead).get(url + "?is_gold=true").json()["count"] == 0


def test_a_project_kind_cannot_change_and_saying_so_is_refused(api, lead, pairwise_project):
    url = f"/api/projects/{pairwise_project.id}/"
    error = first_error(api(lead).patch(url, {"kind": "ranking", "ranking_size": 3}, format="json"))
    assert error["field"] == "kind" and "cannot change" in error["message"]
    assert Project.objects.get(pk=pairwise_project.id).kind == "pairwise"
    assert api(lead).patch(url, {"kind": "pairwise", "guidelines": "same kind"}, format="json").status_code == 200


def test_saving_curation_rules_needs_the_rules_key_and_an_empty_object_clears_them(api, lead, pairwise_project):
    url = f"/api/projects/{pairwise_project.id}/curation/"
    assert api(lead).put(url, {"rules": {"ties": "drop"}}, format="json").json() == {"rules": {"ties": "drop"}}
    assert first_error(api(lead).put(url, {}, format="json"))["field"] == "rules"
    assert first_error(api(lead).put(url, [1, 2], format="json"))["field"] == "rules"
    assert first_error(api(lead).put(url, {"rules": [1]}, format="json"))["field"] == "rules"
    assert Project.objects.get(pk=pairwise_project.id).curation_rules == {"ties": "drop"}
    assert api(lead).put(url, {"rules": {}}, format="json").json() == {"rules": {}}
    assert Project.objects.get(pk=pairwise_project.id).curation_rules == {}


NOT_AN_OBJECT = [{"field": "rules", "message": "must be an object of rule names to values"}]
RULES_REQUIRED = [{"field": "rules", "message": 'required: {"rules": {...}}; {"rules": {}} clears them'}]
MALFORMED_RULES = [  # (body, how it is sent): none of them an object of rules
    ('{"rules": null}', "application/json"), ('{"rules": [1]}', "application/json"),
    ('{"rules": "none"}', "application/json"), ('{"rules": 3}', "application/json"),
    ("rules=x", "application/x-www-form-urlencoded"),
]
NOT_AN_OBJECT_BODIES = [("[1, 2]", "application/json"), ("null", "application/json"), ('"rules"', "application/json"),
                        ("7", "application/json")]


@pytest.mark.parametrize("body, content_type", MALFORMED_RULES)
def test_saving_rules_that_are_not_an_object_is_refused_naming_rules(api, lead, pairwise_project, body, content_type):
    url = f"/api/projects/{pairwise_project.id}/curation/"
    api(lead).put(url, {"rules": {"ties": "drop"}}, format="json")
    r = api(lead).generic("PUT", url, body, content_type=content_type)
    assert r.status_code == 400 and r.json()["errors"] == NOT_AN_OBJECT
    assert Project.objects.get(pk=pairwise_project.id).curation_rules == {"ties": "drop"}


@pytest.mark.parametrize("body, content_type", [*NOT_AN_OBJECT_BODIES, ("{}", "application/json"),
                                                ('{"ties": "drop"}', "application/json"),
                                                ("", "application/x-www-form-urlencoded")])
def test_saving_a_body_without_rules_is_refused_saying_how_to_send_them(api, lead, pairwise_project, body,
                                                                      content_type):
    r = api(lead).generic("PUT", f"/api/projects/{pairwise_project.id}/curation/", body, content_type=content_type)
    assert r.status_code == 400 and r.json()["errors"] == RULES_REQUIRED


@pytest.mark.parametrize("body, content_type", [*MALFORMED_RULES, *NOT_AN_OBJECT_BODIES])
def test_a_preview_of_rules_that_are_not_an_object_is_refused_naming_rules(api, lead, pairwise_project, body,
                                                                         content_type):
    url = f"/api/projects/{pairwise_project.id}/curation/preview/"
    r = api(lead).generic("POST", url, body, content_type=content_type)
    assert r.status_code == 400 and r.json()["errors"] == NOT_AN_OBJECT


@pytest.mark.parametrize("query, field", [
    ("annotators=,", "annotators"), ("annotators=%20,%20", "annotators"),
    ("annotators=a%00b", "annotators"), ("since=2026-02-30", "since"), ("until=2026-13-01", "until"),
    ("since=2026-02-28T25:00:00", "since"),
])
def test_a_bad_agreement_filter_names_its_parameter_and_creates_no_report(api, lead, pairwise_project, query, field):
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/agreement/?{query}")
    assert first_error(r)["field"] == field
    assert not AgreementReport.objects.exists()


def test_an_empty_filter_is_left_out_and_asks_for_the_default_report(api, lead, pairwise_project):
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/agreement/?annotators=&since=&criterion=")
    assert r.status_code == 202 and r.json()["filters"] == {}
