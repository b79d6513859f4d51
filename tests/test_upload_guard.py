"""A multipart body is checked before anything reads it: route, sender and size first."""

import io
import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from annotation.models import Prompt

from . import factories
from .test_import import upload

BOUNDARY = "b0undary"


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = readinto = read


def unread_post(client, path, length: int, **headers):
    return client.generic("POST", path, **{"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(length),
                                           "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}", **headers})


def assert_json_error(r, status: int, message_part: str):
    assert r.status_code == status, r.content[:300]
    assert r["Content-Type"].startswith("application/json")
    assert message_part in r.json()["errors"][0]["message"]


@pytest.fixture
def project(db, lead):
    return factories.project("pairwise", members={lead: "lead"})


def test_an_unauthenticated_upload_is_refused_before_its_body_is_read(project):
    r = unread_post(Client(), f"/api/projects/{project.id}/import/", 40 * 1024 * 1024)
    assert_json_error(r, 401, "credentials")
    assert r["WWW-Authenticate"] == "Token"
    r = unread_post(Client(), f"/api/projects/{project.id}/import/", 1000, HTTP_AUTHORIZATION="Token nosuchkey")
    assert_json_error(r, 401, "credentials")


def test_an_upload_over_the_limit_is_refused_by_its_content_length_before_it_is_read(project, lead, settings):
    settings.IMPORT_MAX_BYTES = 1000
    token = Token.objects.create(user=lead)
    r = unread_post(Client(), f"/api/projects/{project.id}/import/", 200_000, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert_json_error(r, 413, "larger than the limit of 0.0 MB")
    session = Client()
    session.force_login(lead)
    assert_json_error(unread_post(session, f"/api/projects/{project.id}/import/", 200_000), 413, "larger than the limit")


def test_an_upload_is_stopped_once_the_bytes_streamed_pass_the_limit(api, lead, project, settings):
    settings.IMPORT_MAX_BYTES = 10_000
    line = json.dumps({"external_id": "a", "prompt": "q", "responses": ["one", "two"]}) + "\n"
    data = line.encode() * 500  # 40 kB: under the Content-Length allowance for framing, over the file limit
    assert_json_error(upload(api(lead), project, "x.jsonl", data), 413, "larger than the limit")
    assert not Prompt.objects.exists()
    assert upload(api(lead), project, "x.jsonl", line.encode()).status_code == 201


def test_a_session_upload_is_stopped_too_when_the_csrf_check_is_what_reads_it(lead, project, settings):
    settings.IMPORT_MAX_BYTES = 10_000
    client = Client(enforce_csrf_checks=True)
    client.force_login(lead)
    client.get("/api/auth/csrf/")
    f = io.BytesIO(b'{"external_id": "a"}\n' * 2000)
    f.name = "x.jsonl"
    r = client.post(f"/api/projects/{project.id}/import/", {"file": f}, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert_json_error(r, 413, "larger than the limit")
    assert not Prompt.objects.exists()


@pytest.mark.parametrize("path", ["/api/auth/token/", "/api/projects/", "/api/assignments/1/submit/",
                                  "/api/projects/1/import/x/", "/admin/login/"])
def test_multipart_is_refused_with_415_outside_the_import_route_before_it_is_read(db, path):
    assert_json_error(unread_post(Client(), path, 100_000_000), 415, "only by the import route")


def test_a_signed_in_user_cannot_send_multipart_outside_the_import_route(api, lead, pairwise_project):
    r = api(lead).patch(f"/api/projects/{pairwise_project.id}/", {"name": "x"}, format="multipart")
    assert_json_error(r, 415, "only by the import route")
    r = api(lead).put(f"/api/projects/{pairwise_project.id}/import/", {"file": io.BytesIO(b"x")}, format="multipart")
    assert_json_error(r, 415, "only by the import route")
