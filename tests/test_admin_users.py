"""Admins manage users: edit, deactivate and reactivate, reset a password, see memberships; every change audited.
There is always an active admin, and no admin deactivates themselves."""

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Assignment, AuditEvent
from annotation.services.assignments import assignment_next

from . import factories

pytestmark = pytest.mark.django_db


def events() -> list[tuple]:
    return list(AuditEvent.objects.order_by("id").values_list("actor_name", "action", "target_id", "changes"))


def test_an_admin_sees_a_users_memberships(api, admin_user, annotator, pairwise_project):
    other = factories.project("ranking", name="Other", members={annotator: "lead"})
    response = api(admin_user).get(f"/api/users/{annotator.pk}/")
    assert response.status_code == 200
    assert response.json()["memberships"] == [
        {"project": pairwise_project.pk, "project_name": pairwise_project.name, "role": "annotator"},
        {"project": other.pk, "project_name": "Other", "role": "lead"}]


def test_an_admin_edits_name_email_and_admin_flag_and_one_event_says_what_changed(api, admin_user, annotator):
    body = {"first_name": "Ada", "email": "ada@example.org", "is_staff": True}
    response = api(admin_user).patch(f"/api/users/{annotator.pk}/", body, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body
    annotator.refresh_from_db()
    assert (annotator.first_name, annotator.email, annotator.is_staff) == ("Ada", "ada@example.org", True)
    assert events() == [("admin1", "user.update", str(annotator.pk), {
        "first_name": ["", "Ada"], "email": ["ann1@example.org", "ada@example.org"], "is_staff": [False, True]})]


@pytest.mark.parametrize("body, field", [({"email": "nope"}, "email"), ({"is_staff": "maybe"}, "is_staff"),
                                         ({"first_name": "x" * 151}, "first_name"), ({"first_name": "a\x00"},
                                                                                     "first_name")])
def test_bad_edits_answer_400_naming_the_field_and_change_nothing(api, admin_user, annotator, body, field):
    response = api(admin_user).patch(f"/api/users/{annotator.pk}/", body, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not AuditEvent.objects.exists()


def test_a_deactivated_user_can_no_longer_sign_in_and_their_leases_and_tokens_end(api, admin_user, annotator,
                                                                                  pairwise_project):
    lease = assignment_next(project=pairwise_project, user=annotator)
    token = Token.objects.create(user=annotator)
    response = api(admin_user).post(f"/api/users/{annotator.pk}/deactivate/")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert Assignment.objects.get(pk=lease.pk).status == Assignment.Status.EXPIRED
    assert not Token.objects.filter(pk=token.pk).exists()
    signin = APIClient().post("/api/auth/token/", {"username": "ann1", "password": factories.PASSWORD}, format="json")
    assert signin.status_code == 400
    assert events() == [("admin1", "user.deactivate", str(annotator.pk), {"is_active": [True, False]})]

    assert api(admin_user).post(f"/api/users/{annotator.pk}/reactivate/").json()["is_active"] is True
    signin = APIClient().post("/api/auth/token/", {"username": "ann1", "password": factories.PASSWORD}, format="json")
    assert signin.status_code == 200
    assert events()[-1] == ("admin1", "user.reactivate", str(annotator.pk), {"is_active": [False, True]})


def test_deactivating_twice_changes_and_records_nothing_more(api, admin_user, annotator):
    for _ in range(2):
        assert api(admin_user).post(f"/api/users/{annotator.pk}/deactivate/").status_code == 200
    assert [e[1] for e in events()] == ["user.deactivate"]


def test_an_admin_cannot_deactivate_themselves(api, admin_user):
    factories.user("admin2", staff=True)
    response = api(admin_user).post(f"/api/users/{admin_user.pk}/deactivate/")
    assert response.status_code == 400 and "yourself" in response.json()["errors"][0]["message"]
    admin_user.refresh_from_db()
    assert admin_user.is_active and not AuditEvent.objects.exists()


def test_the_last_active_admin_cannot_stop_being_admin(api, admin_user):
    response = api(admin_user).patch(f"/api/users/{admin_user.pk}/", {"is_staff": False}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "is_staff"
    assert "last active admin" in response.json()["errors"][0]["message"]
    admin_user.refresh_from_db()
    assert admin_user.is_staff


def test_an_inactive_admin_does_not_count_as_the_one_that_remains(api, admin_user):
    factories.user("admin2", staff=True)
    get_user_model().objects.filter(username="admin2").update(is_active=False)
    assert api(admin_user).patch(f"/api/users/{admin_user.pk}/", {"is_staff": False},
                                 format="json").status_code == 400
    get_user_model().objects.filter(username="admin2").update(is_active=True)
    assert api(admin_user).patch(f"/api/users/{admin_user.pk}/", {"is_staff": False},
                                 format="json").status_code == 200


def test_a_new_password_must_pass_djangos_validators(api, admin_user, annotator):
    url = f"/api/users/{annotator.pk}/password/"
    for weak in ("short", "password123", "ann1@example.org", "12345678901"):
        response = api(admin_user).post(url, {"password": weak}, format="json")
        assert response.status_code == 400 and response.json()["errors"][0]["field"] == "password", weak
    assert not AuditEvent.objects.exists()
    response = api(admin_user).post(url, {"password": "a sturdy new passphrase"}, format="json")
    assert response.status_code == 200 and response.json() == {"password": None}
    annotator.refresh_from_db()
    assert annotator.check_password("a sturdy new passphrase")
    assert events() == [("admin1", "user.password_reset", str(annotator.pk), {"password": [None, "set"]})]
    assert "sturdy" not in str(AuditEvent.objects.get().changes)


def test_a_generated_password_is_shown_once_and_works(api, admin_user, annotator):
    token = Token.objects.create(user=annotator)
    browser = APIClient()
    assert browser.post("/api/auth/login/", {"username": "ann1", "password": factories.PASSWORD},
                        format="json").status_code == 200
    assert browser.get("/api/auth/me/").status_code == 200
    response = api(admin_user).post(f"/api/users/{annotator.pk}/password/", {"generate": True}, format="json")
    assert response.status_code == 200
    password = response.json()["password"]
    assert len(password) >= 12
    assert not Token.objects.filter(pk=token.pk).exists()  # the old credentials stop working
    assert browser.get("/api/auth/me/").status_code == 401  # and the session begun with the old password
    signin = APIClient().post("/api/auth/token/", {"username": "ann1", "password": password}, format="json")
    assert signin.status_code == 200
    old = APIClient().post("/api/auth/token/", {"username": "ann1", "password": factories.PASSWORD}, format="json")
    assert old.status_code == 400
    assert password not in str(api(admin_user).get(f"/api/users/{annotator.pk}/").json())


@pytest.mark.parametrize("body", [{}, {"password": "a sturdy new passphrase", "generate": True}])
def test_a_reset_names_exactly_one_way(api, admin_user, annotator, body):
    response = api(admin_user).post(f"/api/users/{annotator.pk}/password/", body, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "password"


def test_creating_a_user_is_audited(api, admin_user):
    body = {"username": "newbie", "password": "a sturdy new passphrase", "email": "n@example.org"}
    assert api(admin_user).post("/api/users/", body, format="json").status_code == 201
    new = get_user_model().objects.get(username="newbie")
    assert events() == [("admin1", "user.create", str(new.pk), {
        "username": [None, "newbie"], "email": [None, "n@example.org"], "is_staff": [None, False]})]


def test_a_user_that_does_not_exist_is_404(api, admin_user):
    assert api(admin_user).get("/api/users/999999/").status_code == 404
    assert api(admin_user).post("/api/users/999999/deactivate/").status_code == 404
    assert api(admin_user).get("/api/users/abc/").status_code == 404
