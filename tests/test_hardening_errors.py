"""Every error under /api/ answers in the API's JSON shape: no 500 for a malformed id, no HTML page."""

import json

import pytest
from django.test import RequestFactory
from django.urls import get_resolver
from rest_framework.test import APIClient

from . import factories
from .test_assignment import next_item

BIG = "9" * 25


def assert_api_error(r, status: int, field=...):
    assert r.status_code == status, (r.status_code, r.content[:200])
    assert r["Content-Type"].startswith("application/json"), r["Content-Type"]
    errors = r.json()["errors"]
    assert errors and all({"field", "message"} <= set(e) for e in errors), errors
    if field is not ...:
        assert errors[0]["field"] == field, errors
    return errors


@pytest.mark.parametrize("path", [
    "/api/projects/abc/items/", "/api/projects/abc/progress/", "/api/projects/abc/", "/api/projects/%C2%B2/",
    "/api/projects/{pid}/items/abc/", "/api/projects/{pid}/items/%C2%B2/", "/api/projects/{pid}/items/" + BIG + "/",
    "/api/me/annotations/abc/", "/api/me/annotations/%C2%B2/", "/api/projects/" + BIG + "/",
])
def test_a_non_integer_or_unknown_id_in_a_path_answers_404(api, lead, pairwise_project, path):
    assert_api_error(api(lead).get(path.format(pid=pairwise_project.id)), 404)


def test_an_id_too_large_for_the_database_answers_404_on_the_annotator_routes(api, annotator, pairwise_project):
    assert_api_error(api(annotator).post(f"/api/projects/{BIG}/next/"), 404)
    assert_api_error(api(annotator).post(f"/api/assignments/{BIG}/submit/", {"tie": True}, format="json"), 404)
    assert_api_error(api(annotator).post(f"/api/assignments/{BIG}/skip/", {}, format="json"), 404)


@pytest.mark.parametrize("value", ["²", "abc", "1.5", "-1"])
def test_a_non_integer_project_filter_answers_400_naming_it(api, annotator, pairwise_project, value):
    r = api(annotator).get("/api/me/annotations/", {"project": value})
    assert_api_error(r, 400, "project")


def test_options_describes_the_assignment_routes(api, annotator, pairwise_project):
    lease = next_item(api(annotator), pairwise_project).json()
    for path in (f"/api/projects/{pairwise_project.id}/next/", f"/api/assignments/{lease['assignment']}/submit/",
                 f"/api/assignments/{lease['assignment']}/skip/"):
        r = api(annotator).options(path)
        assert r.status_code == 200 and r["Content-Type"].startswith("application/json"), (path, r.content[:200])
    assert "reason" in api(annotator).options(f"/api/assignments/{lease['assignment']}/skip/").json()["actions"]["POST"]


def test_an_unknown_api_route_answers_404_in_the_error_shape(api, lead):
    for client in (APIClient(), api(lead)):
        assert_api_error(client.get("/api/no-such-thing/"), 404)
        assert_api_error(client.post("/api/projects/1/no-such-action/"), 404)


def test_outside_the_api_django_keeps_its_html_pages(client, db):
    r = client.get("/static/no-such-file.js")
    assert r.status_code == 404 and not r["Content-Type"].startswith("application/json")
    handler = get_resolver().resolve_error_handler(500)
    page = handler(RequestFactory().get("/projects/1"))
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_a_server_error_under_api_answers_500_in_the_error_shape():
    handler = get_resolver().resolve_error_handler(500)  # the handler rlhf_site/urls.py wires for Django
    r = handler(RequestFactory().post("/api/projects/1/next/"))
    assert r.status_code == 500 and r["Content-Type"] == "application/json"
    assert json.loads(r.content)["errors"] == [{"field": None, "message": "A server error occurred."}]


def test_a_login_without_its_csrf_token_is_refused_in_the_error_shape(db, lead):
    client = APIClient(enforce_csrf_checks=True)
    client.get("/api/auth/csrf/")
    r = client.post("/api/auth/login/", {"username": "lead1", "password": factories.PASSWORD}, format="json")
    errors = assert_api_error(r, 403)
    assert "CSRF" in errors[0]["message"]
    r = client.post("/api/auth/login/", {"username": "lead1", "password": factories.PASSWORD}, format="json",
                    HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert r.status_code == 200


def test_a_submit_whose_agreement_refresh_fails_after_the_commit_still_answers_201(
        api, annotator, pairwise_project, monkeypatch, django_capture_on_commit_callbacks, caplog):
    """The refresh runs once the answer is committed; the database gone by then is logged, never a 500 (Django's
    log line for it once raised on a hook that was a functools.partial)."""
    from django.db import OperationalError

    from .test_assignment import submit

    def gone(project_id):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr("annotation.services.annotations.agreement_refresh_after_answer", gone)
    client = api(annotator)
    lease = next_item(client, pairwise_project).json()
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        r = submit(client, lease["assignment"], {"tie": True})
    assert r.status_code == 201 and len(hooks) == 1
    assert "terminating connection" in caplog.text and "Error calling" in caplog.text
