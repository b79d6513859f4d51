"""Hostile JSON bodies: nesting, NUL characters and size answer 4xx in the API's error shape, never 500."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from annotation.models import Annotation, Project

from . import factories
from .test_assignment import next_item, submit


def nested(levels: int, leaf=1):
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def post_json(client, url, raw: str, **extra):
    return client.post(url, raw, content_type="application/json", **extra)


def assert_error(r, status: int, field=..., message_part: str = ""):
    assert r.status_code == status, r.content[:300]
    assert r["Content-Type"].startswith("application/json")
    errors = r.json()["errors"]
    if field is not ...:
        assert errors[0]["field"] == field, errors
    assert message_part in errors[0]["message"], errors
    return errors


@pytest.mark.parametrize("levels", [100_000, 2_000])
def test_a_deeply_nested_body_is_refused_before_anything_reads_it_even_unauthenticated(db, levels):
    raw = '{"username": ' + "[" * levels + "]" * levels + ', "password": "x"}'
    assert_error(post_json(APIClient(), "/api/auth/token/", raw), 400, message_part="nests deeper than 64 levels")


def test_json_may_nest_64_levels_but_not_65(api, annotator, pairwise_project):
    lease = next_item(api(annotator), pairwise_project).json()
    url = f"/api/assignments/{lease['assignment']}/submit/"
    too_deep = {"tie": True, "client_state": nested(64)}  # the body itself is the first of 65 levels
    assert_error(api(annotator).post(url, too_deep, format="json"), 400, "client_state", "nests deeper than 64 levels")
    assert api(annotator).post(url, {"tie": True, "client_state": nested(63)}, format="json").status_code == 201


@pytest.mark.parametrize("payload, field", [
    ({"tie": True, "rationale": "fine\u0000"}, "rationale"),
    ({"tie": True, "flags": ["unsafe", "o\u0000ther"]}, "flags[1]"),
    ({"tie": True, "criteria": {"helpfulness": {"tie": True, "note": "\u0000"}}}, "criteria.helpfulness.note"),
])
def test_a_nul_character_anywhere_in_an_answer_is_refused_naming_the_field(api, annotator, pairwise_project, payload,
                                                                          field):
    lease = next_item(api(annotator), pairwise_project).json()
    r = submit(api(annotator), lease["assignment"], payload)
    assert_error(r, 400, field, "NUL")
    assert not Annotation.objects.exists()


def test_a_nul_character_in_a_demonstration_is_refused_as_json_and_as_a_form_and_multipart_is_not_taken(api, lead, annotator):
    project = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(project, 1)
    lease = next_item(api(annotator), project).json()
    url = f"/api/assignments/{lease['assignment']}/submit/"
    assert_error(api(annotator).post(url, {"text": "a\u0000b"}, format="json"), 400, "text", "NUL")
    assert_error(api(annotator).post(url, "text=a%00b", content_type="application/x-www-form-urlencoded"),
                 400, "text", "NUL")
    assert_error(api(annotator).post(url, {"text": "a\u0000b"}, format="multipart"), 415, None, "only by the import")
    assert not Annotation.objects.exists()


def test_a_nul_character_in_project_criteria_is_refused(api, lead, pairwise_project):
    r = api(lead).patch(f"/api/projects/{pairwise_project.id}/", {"criteria": ["help\u0000"]}, format="json")
    assert_error(r, 400, "criteria[0]", "NUL")
    assert Project.objects.get(pk=pairwise_project.id).criteria == ["helpfulness", "harmlessness", "honesty"]


def test_a_nul_character_in_headers_is_refused(api, annotator, pairwise_project):
    lease = next_item(api(annotator), pairwise_project).json()
    r = submit(api(annotator), lease["assignment"], {"tie": True}, key="k\u0000")
    assert_error(r, 400, "Idempotency-Key", "NUL")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc\u0000def")
    assert_error(client.get("/api/auth/me/"), 401)


def test_a_body_over_the_size_limit_answers_413(db, lead):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        raw = json.dumps({"username": "lead1", "password": "x" * 2000})
        assert_error(post_json(APIClient(), "/api/auth/token/", raw), 413, None, "larger than the limit")
        r = APIClient().post("/api/auth/token/", {"username": "lead1", "password": "x" * 2000}, format="multipart")
        assert_error(r, 415, None, "only by the import route")
        r = APIClient().post("/api/auth/token/", "password=" + "x" * 2000, content_type="application/x-www-form-urlencoded")
        assert_error(r, 413, None, "larger than the limit")


def test_malformed_json_is_a_400_in_the_error_shape(db):
    assert_error(post_json(APIClient(), "/api/auth/token/", '{"username": NaN}'), 400, None, "JSON parse error")
    assert_error(post_json(APIClient(), "/api/auth/token/", '{"username": "\\ud800"}'), 400, None, "JSON parse error")
