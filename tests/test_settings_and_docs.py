import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlhf_site.env import ImproperlyConfiguredEnv, env_bool, env_int, parse_database_url

ROOT = Path(__file__).resolve().parent.parent


def test_database_urls_parse_and_bad_ones_fail_loudly():
    db = parse_database_url("postgres://u:p%40ss@db.example:5433/rlhf?sslmode=require")
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == ("rlhf", "u", "p@ss", "db.example", "5433")
    assert db["OPTIONS"] == {"sslmode": "require"}
    assert parse_database_url("sqlite:////tmp/x.db")["NAME"] == "/tmp/x.db"
    with pytest.raises(ImproperlyConfiguredEnv, match="scheme 'mysql'"):
        parse_database_url("mysql://u@h/db")
    with pytest.raises(ImproperlyConfiguredEnv, match="names no database"):
        parse_database_url("postgres://u@h:5432/")


def test_booleans_and_integers_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="X_FLAG='maybe' is not a boolean"):
        env_bool("X_FLAG", False)
    monkeypatch.setenv("X_NUM", "ten")
    with pytest.raises(ImproperlyConfiguredEnv, match="X_NUM='ten' is not an integer"):
        env_int("X_NUM", 1)


def _settings_in_subprocess(**env) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    full.update(env)
    return subprocess.run([sys.executable, "-c", "import rlhf_site.settings as s; print(s.CELERY_BROKER_URL, s.DATABASES['default']['ENGINE'])"],
                          cwd=ROOT, env=full, capture_output=True, text=True)


def test_secret_key_is_required_when_debug_is_off():
    r = _settings_in_subprocess(SECRET_KEY="", DEBUG="0")
    assert r.returncode != 0 and "SECRET_KEY must be set when DEBUG is off" in r.stderr


def test_with_nothing_set_it_uses_sqlite_and_the_embedded_broker(tmp_path):
    r = _settings_in_subprocess(SECRET_KEY="x" * 50, VAR_DIR=str(tmp_path), REDIS_URL="", CELERY_BROKER_URL="")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["filesystem://", "django.db.backends.sqlite3"]


def test_every_variable_the_settings_read_is_documented_in_env_example():
    import re

    read = set()
    for path in (ROOT / "rlhf_site").glob("*.py"):
        read |= set(re.findall(r'env_(?:str|bool|int|list|rate)\("([A-Z_]+)"', path.read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read and read <= documented, read - documented


def test_the_openapi_schema_and_docs_page_are_served(api, lead):
    r = api(lead).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path in ("/api/projects/{id}/import/", "/api/projects/{id}/next/", "/api/assignments/{id}/submit/",
                 "/api/auth/token/", "/api/users/"):
        assert path in paths, path
    page = api(lead).get("/api/docs/")
    assert page.status_code == 200 and b"swagger" in page.content.lower()
    assert b"cdn" not in page.content.lower()


def test_web_code_never_imports_torch():
    import re

    for folder in ("annotation", "rlhf_site"):
        for path in (ROOT / folder).rglob("*.py"):
            assert not re.search(r"^\s*(import torch|from torch)", path.read_text(), re.M), path


def test_the_schema_generates_without_warnings_and_validates():
    r = subprocess.run([sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--file", os.devnull],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
