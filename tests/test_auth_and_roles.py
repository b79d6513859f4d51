import pytest
from rest_framework.test import APIClient

from annotation.models import Membership, Project

from . import factories


def test_a_script_gets_a_token_and_uses_it(db, lead):
    client = APIClient()
    r = client.post("/api/auth/token/", {"username": "lead1", "password": factories.PASSWORD}, format="json")
    assert r.status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token " + r.json()["token"])
    assert client.get("/api/auth/me/").json()["username"] == "lead1"


def test_a_wrong_or_disabled_token_is_refused_with_401(db, lead):
    token = APIClient().post("/api/auth/token/", {"username": "lead1", "password": factories.PASSWORD},
                             format="json").json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + token[::-1])
    r = client.get("/api/auth/me/")
    assert r.status_code == 401 and r["WWW-Authenticate"] == "Token"
    assert r.json()["errors"] == [{"field": None, "message": "Invalid token."}]
    lead.is_active = False
    lead.save()
    client.credentials(HTTP_AUTHORIZATION="Token " + token)
    r = client.get("/api/auth/me/")
    assert r.status_code == 401 and r.json()["errors"][0]["message"] == "User inactive or deleted."


def test_a_wrong_password_names_the_field(db, lead):
    r = APIClient().post("/api/auth/token/", {"username": "lead1", "password": "nope"}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "password", "message": "wrong username or password"}]


def test_a_browser_logs_in_with_a_session_and_csrf(db, lead):
    client = APIClient(enforce_csrf_checks=True)
    assert client.get("/api/auth/csrf/").status_code == 204
    token = client.cookies["csrftoken"].value
    assert client.post("/api/auth/login/", {"username": "lead1", "password": factories.PASSWORD},
                       format="json").status_code == 403  # no CSRF header
    r = client.post("/api/auth/login/", {"username": "lead1", "password": factories.PASSWORD}, format="json",
                    HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200
    assert client.get("/api/auth/me/").json()["username"] == "lead1"
    client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert client.get("/api/auth/me/").status_code in (401, 403)


def test_anonymous_requests_are_refused(db):
    assert APIClient().get("/api/projects/").status_code in (401, 403)


def test_admins_create_users_projects_and_memberships(api, admin_user):
    client = api(admin_user)
    r = client.post("/api/users/", {"username": "newbie", "password": "long-password-1"}, format="json")
    assert r.status_code == 201, r.json()
    r = client.post("/api/projects/", {"name": "P", "kind": "ranking", "ranking_size": 5}, format="json")
    assert r.status_code == 201, r.json()
    pid = r.json()["id"]
    assert r.json()["criteria"] == ["helpfulness", "harmlessness", "honesty"]
    assert r.json()["annotations_per_item"] == 3 and r.json()["lease_seconds"] == 1800
    r = client.post(f"/api/projects/{pid}/members/", {"user": "newbie", "role": "annotator"}, format="json")
    assert r.status_code == 201
    assert Membership.objects.get(project_id=pid, user__username="newbie").role == "annotator"
    assert client.delete(f"/api/projects/{pid}/members/newbie/").status_code == 204
    assert not Membership.objects.filter(project_id=pid).exists()


@pytest.mark.parametrize("payload, field", [
    ({"name": "P", "kind": "ranking"}, "ranking_size"),
    ({"name": "P", "kind": "ranking", "ranking_size": 12}, "ranking_size"),
    ({"name": "P", "kind": "pairwise", "ranking_size": 4}, "ranking_size"),
    ({"name": "P", "kind": "essay"}, "kind"),
    ({"name": "P", "kind": "pairwise", "gold_ratio": 1.5}, "gold_ratio"),
    ({"name": "P", "kind": "pairwise", "criteria": "helpful"}, "criteria"),
])
def test_a_bad_project_names_the_field(api, admin_user, payload, field):
    r = api(admin_user).post("/api/projects/", payload, format="json")
    assert r.status_code == 400
    assert field in [e["field"] for e in r.json()["errors"]]
    assert not Project.objects.exists()


def test_a_membership_for_an_unknown_user_names_the_field(api, admin_user, pairwise_project):
    r = api(admin_user).post(f"/api/projects/{pairwise_project.id}/members/", {"user": "ghost", "role": "lead"}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "user", "message": "no user named 'ghost'"}]


def test_non_admins_cannot_create_users_or_projects(api, lead):
    assert api(lead).post("/api/users/", {"username": "x", "password": "long-password-1"}, format="json").status_code == 403
    assert api(lead).post("/api/projects/", {"name": "P", "kind": "pairwise"}, format="json").status_code == 403


def test_annotators_see_only_their_projects_and_others_answer_404(api, annotator, outsider, pairwise_project):
    other = factories.project("pairwise")
    names = [p["id"] for p in api(annotator).get("/api/projects/").json()["results"]]
    assert names == [pairwise_project.id]
    assert api(annotator).get(f"/api/projects/{other.id}/").status_code == 404
    assert api(outsider).get(f"/api/projects/{pairwise_project.id}/").status_code == 404
    assert api(outsider).post(f"/api/projects/{pairwise_project.id}/next/").status_code == 404


def test_leads_manage_their_own_project_but_not_others(api, lead, pairwise_project):
    other = factories.project("pairwise")
    r = api(lead).patch(f"/api/projects/{pairwise_project.id}/", {"guidelines": "# Be kind", "kind": "pairwise"}, format="json")
    assert r.status_code == 200  # the kind itself cannot change (tests/test_hardening_inputs.py)
    pairwise_project.refresh_from_db()
    assert pairwise_project.guidelines == "# Be kind" and pairwise_project.kind == "pairwise"
    assert api(lead).patch(f"/api/projects/{other.id}/", {"guidelines": "x"}, format="json").status_code == 404
    assert api(lead).get(f"/api/projects/{other.id}/members/").status_code == 404


def test_annotators_cannot_reach_lead_routes(api, annotator, pairwise_project):
    pid = pairwise_project.id
    item = pairwise_project.items.first()
    for url in (f"/api/projects/{pid}/items/", f"/api/projects/{pid}/items/{item.id}/", f"/api/projects/{pid}/progress/",
                f"/api/projects/{pid}/members/"):
        assert api(annotator).get(url).status_code == 404, url
    assert api(annotator).patch(f"/api/projects/{pid}/", {"name": "mine"}, format="json").status_code == 404


def test_every_model_is_in_the_admin(db):
    from django.apps import apps
    from django.contrib import admin

    for app in ("annotation",):
        for model in apps.get_app_config(app).get_models():
            assert admin.site.is_registered(model), model


def test_the_admin_pages_render_for_staff(client, db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", "r@example.org", "pw-long-enough")
    client.login(username="root", password="pw-long-enough")
    for path in ("/admin/", "/admin/annotation/item/", "/admin/annotation/project/add/"):
        assert client.get(path).status_code == 200, path


def test_a_lead_route_reads_the_project_and_the_callers_role_in_one_query(api, lead, pairwise_project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(lead)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/projects/{pairwise_project.id}/snapshots/").status_code == 200
    membership = [q["sql"] for q in queries.captured_queries if "annotation_membership" in q["sql"]]
    assert len(membership) == 1, membership  # visibility and role together, not a second look for the role
