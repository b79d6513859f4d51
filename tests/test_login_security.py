"""Sign-in throttling and lockout, the password policy, and the refusal of a placeholder SECRET_KEY."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from rest_framework.test import APIClient

from annotation.api.views_auth import FailedSignInThrottle
from annotation.management.commands.load_demo import DEMO_PASSWORD, USERS
from rlhf_site.env import ImproperlyConfiguredEnv, env_rate

from . import factories

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ["/api/auth/login/", "/api/auth/token/"]


def allowed_failures(url: str) -> int:
    scope = "login" if "login" in url else "token"
    return int(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")[0])


def sign_in(url, password, *, username="lead1", address="10.0.0.1", **headers):
    return APIClient().post(url, {"username": username, "password": password}, format="json",
                            REMOTE_ADDR=address, **headers)


def fail_until_locked(url, **kwargs):
    for attempt in range(allowed_failures(url)):
        r = sign_in(url, "wrong-password", **kwargs)
        assert r.status_code == 400, (attempt, r.json())


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    """Dozens of sign-ins per test: a cheap hasher for the users these tests make (autouse: before they exist)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock(monkeypatch):
    now = [1_000_000.0]
    monkeypatch.setattr(FailedSignInThrottle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.mark.parametrize("url", ENDPOINTS)
def test_the_attempt_after_the_allowed_failures_answers_429_with_retry_after_even_with_the_right_password(
        db, lead, url, clock):
    fail_until_locked(url)
    clock[0] += 5
    r = sign_in(url, factories.PASSWORD)
    assert r.status_code == 429
    assert 0 < int(r["Retry-After"]) <= 60
    assert int(r["Retry-After"]) == 55  # the first failure leaves the minute in 55 s
    assert r.json()["errors"] == [{"field": None, "message": "Too many failed sign-ins for this username from this "
                                                             "address. Expected available in 55 seconds."}]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_the_lockout_ends_when_the_oldest_failure_is_a_period_old(db, lead, url, clock):
    fail_until_locked(url)
    clock[0] += 59
    assert sign_in(url, factories.PASSWORD).status_code == 429
    clock[0] += 2
    assert sign_in(url, factories.PASSWORD).status_code == 200


def test_a_lockout_holds_one_username_from_one_address(db, lead, annotator):
    url = "/api/auth/token/"
    fail_until_locked(url)
    assert sign_in(url, factories.PASSWORD).status_code == 429
    assert sign_in(url, factories.PASSWORD, address="10.0.0.2").status_code == 200
    assert sign_in(url, factories.PASSWORD, username="ann1").status_code == 200
    assert sign_in(url, factories.PASSWORD, username="LEAD1").status_code == 429  # one count however it is spelt


def test_a_forged_x_forwarded_for_does_not_start_a_new_count(db, lead):
    url = "/api/auth/token/"
    fail_until_locked(url)
    r = sign_in(url, factories.PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert r.status_code == 429


def test_login_and_token_keep_their_own_counts(db, lead):
    fail_until_locked("/api/auth/token/")
    assert sign_in("/api/auth/token/", factories.PASSWORD).status_code == 429
    assert sign_in("/api/auth/login/", factories.PASSWORD).status_code == 200


@pytest.mark.parametrize("url", ENDPOINTS)
def test_signing_in_often_is_never_throttled_and_a_success_clears_the_count(db, lead, url):
    for _ in range(allowed_failures(url) + 2):
        assert sign_in(url, factories.PASSWORD).status_code == 200
    for _ in range(2):
        for _ in range(allowed_failures(url) - 1):
            assert sign_in(url, "wrong-password").status_code == 400
        assert sign_in(url, factories.PASSWORD).status_code == 200


def test_the_rate_comes_from_the_settings_at_each_request(db, lead, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"login": "10/minute", "token": "2/hour"}}
    assert [sign_in("/api/auth/token/", "wrong-password").status_code for _ in range(3)] == [400, 400, 429]


def test_a_bad_rate_fails_loudly(monkeypatch):
    monkeypatch.setenv("LOGIN_THROTTLE_RATE", "ten a minute")
    with pytest.raises(ImproperlyConfiguredEnv, match="LOGIN_THROTTLE_RATE='ten a minute' is not a rate"):
        env_rate("LOGIN_THROTTLE_RATE", "10/minute")
    monkeypatch.setenv("LOGIN_THROTTLE_RATE", "3/hour")
    assert env_rate("LOGIN_THROTTLE_RATE", "10/minute") == "3/hour"


# --- the password policy -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("abcdefg1!", "This password is too short. It must contain at least 10 characters."),
    ("password123", "This password is too common."),
    ("8604917352", "This password is entirely numeric."),
    ("marguerite-1", "The password is too similar to the username."),
])
def test_an_admin_creating_a_user_with_a_weak_password_gets_a_400_naming_password(api, admin_user, password, message):
    r = api(admin_user).post("/api/users/", {"username": "marguerite", "password": password}, format="json")
    assert r.status_code == 400
    assert {"field": "password", "message": message} in r.json()["errors"]
    assert all(e["field"] == "password" for e in r.json()["errors"])
    assert not get_user_model().objects.filter(username="marguerite").exists()


def test_a_strong_password_creates_the_user_who_can_sign_in(api, admin_user):
    r = api(admin_user).post("/api/users/", {"username": "marguerite", "password": "violet-harbour-lantern"},
                             format="json")
    assert r.status_code == 201, r.json()
    assert sign_in("/api/auth/token/", "violet-harbour-lantern", username="marguerite").status_code == 200


def test_the_demo_and_test_passwords_pass_the_policy_for_their_users(db):
    User = get_user_model()
    for username, _ in USERS:
        validate_password(DEMO_PASSWORD, user=User(username=username, email=f"{username}@example.org"))
    for username in ("admin1", "lead1", "ann1", "ann2", "outsider1"):
        validate_password(factories.PASSWORD, user=User(username=username, email=f"{username}@example.org"))


def test_the_policy_is_what_settings_say(db):
    names = [v["NAME"].rsplit(".", 1)[-1] for v in settings.AUTH_PASSWORD_VALIDATORS]
    assert names == ["UserAttributeSimilarityValidator", "MinimumLengthValidator", "CommonPasswordValidator",
                     "NumericPasswordValidator"]
    assert settings.AUTH_PASSWORD_VALIDATORS[1]["OPTIONS"] == {"min_length": 10}


# --- SECRET_KEY ----------------------------------------------------------------------------------------------------

def settings_with(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    full.update(env)
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'rlhf_site.settings'; django.setup(); print('ok')"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=full, capture_output=True, text=True)


def test_the_placeholder_secret_key_is_refused_when_debug_is_off():
    r = settings_with(SECRET_KEY="change-me", DEBUG="0")
    assert r.returncode != 0
    assert "SECRET_KEY=change-me is the placeholder from .env.example" in r.stderr
    assert "make .env" in r.stderr


def test_a_secret_key_shorter_than_32_characters_is_refused_when_debug_is_off():
    r = settings_with(SECRET_KEY="a" * 31, DEBUG="0")
    assert r.returncode != 0 and "SECRET_KEY is 31 characters" in r.stderr and "at least 32" in r.stderr
    assert settings_with(SECRET_KEY="a" * 32, DEBUG="0").returncode == 0


def test_with_debug_on_the_placeholder_still_runs():
    r = settings_with(SECRET_KEY="change-me", DEBUG="1")
    assert r.returncode == 0, r.stderr


def test_make_env_writes_a_key_the_settings_accept(tmp_path):
    (tmp_path / ".env.example").write_text((ROOT / ".env.example").read_text())
    done = subprocess.run(["make", "-s", "-C", str(tmp_path), "-f", str(ROOT / "Makefile"), ".env",
                           f"PYTHON={sys.executable}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    keys = [line.split("=", 1)[1] for line in (tmp_path / ".env").read_text().splitlines()
            if line.startswith("SECRET_KEY=")]
    assert len(keys) == 1 and keys[0] != "change-me" and len(keys[0]) >= 32
    r = settings_with(SECRET_KEY=keys[0], DEBUG="0")
    assert r.returncode == 0, r.stderr
