"""Docker cannot run here, so the production shape is checked by reading it."""

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def command_of(service: str) -> list[str]:
    cmd = SERVICES[service]["command"]
    return shlex.split(cmd) if isinstance(cmd, str) else cmd


def test_it_has_the_production_services_with_health_checks():
    assert set(SERVICES) == {"postgres", "redis", "minio", "web", "worker", "gpu-worker"}
    for name, service in SERVICES.items():
        assert "healthcheck" in service, name


def test_every_app_command_names_a_real_entry_point_of_the_project():
    import importlib

    web = " ".join(command_of("web"))
    assert "manage.py migrate" in web  # migrations on start
    wsgi = re.search(r"gunicorn (\S+)", web).group(1)
    module, attr = wsgi.split(":")
    assert (ROOT / (module.replace(".", "/") + ".py")).exists()
    assert f"{attr} =" in (ROOT / (module.replace(".", "/") + ".py")).read_text()
    for name in ("worker", "gpu-worker"):
        cmd = command_of(name)
        assert cmd[:3] == ["celery", "-A", "rlhf_site"] and "worker" in cmd
        assert hasattr(importlib.import_module("rlhf_site"), "celery_app")


def test_the_gpu_worker_takes_only_the_gpu_queue_one_job_at_a_time_on_an_nvidia_device():
    cmd = command_of("gpu-worker")
    assert cmd[cmd.index("-Q") + 1] == "gpu"
    assert cmd[cmd.index("--concurrency") + 1] == "1"
    devices = SERVICES["gpu-worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    worker = command_of("worker")
    assert worker[worker.index("-Q") + 1] == "default"


def test_app_services_point_at_postgres_redis_and_the_bucket_and_the_gpu_worker_shares_no_disk():
    for name in ("web", "worker", "gpu-worker"):
        service = SERVICES[name]
        environment = service["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://")
        assert environment["ARTIFACT_S3_BUCKET"] and environment["ARTIFACT_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert "minio" in service["depends_on"]
    # web and the default worker build snapshots in a shared staging folder; the GPU worker reads them from the bucket
    assert "artifacts:/artifacts" in SERVICES["web"]["volumes"] and "artifacts:/artifacts" in SERVICES["worker"]["volumes"]
    assert not any(v.startswith("artifacts:") for v in SERVICES["gpu-worker"]["volumes"])
    assert "ensure_artifact_store" in " ".join(command_of("web"))


def test_the_images_install_from_the_pinned_requirement_files():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements/web.lock" in dockerfile and "requirements/training.lock" in dockerfile
    for line in (ROOT / "requirements" / "web.txt").read_text().splitlines():
        if line and not line.startswith(("#", "-r")):
            assert "==" in line, line


def compose_app_env(**values) -> dict[str, str]:
    """x-app-env with each ${NAME}, ${NAME:-default} and ${NAME:?message} filled as docker compose would."""
    def fill(match):
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in values:
            return values[name]
        assert op != ":?", f"{name} is required by docker-compose.yml: give the test a value"
        return rest if op == ":-" else ""

    return {k: re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", fill, str(v)) for k, v in COMPOSE["x-app-env"].items()}


# A key as `make .env` writes one.
TEST_SECRETS = {"SECRET_KEY": secrets.token_urlsafe(48), "MINIO_ROOT_PASSWORD": "minio-test-pass"}


def manage_with(env: dict, *args: str) -> subprocess.CompletedProcess:
    # Only the compose environment (and what finds Python): nothing of this machine's settings leaks in.
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV") if k in os.environ}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_the_app_services_run_https_only_with_secure_cookies_and_a_year_of_hsts():
    env = compose_app_env(**TEST_SECRETS)
    assert env["DEBUG"] == "0"
    assert (env["SECURE_SSL_REDIRECT"], env["SECURE_COOKIES"], env["BEHIND_TLS_PROXY"]) == ("1", "1", "1")
    assert int(env["SECURE_HSTS_SECONDS"]) >= 31536000
    assert env["CACHE_URL"].startswith("redis://") and env["CACHE_URL"] != env["REDIS_URL"]
    for name in ("web", "worker", "gpu-worker"):
        assert SERVICES[name]["environment"] == COMPOSE["x-app-env"], name
    # The health check comes as the TLS proxy would forward it, or it would only ever see the https redirect.
    assert "X-Forwarded-Proto': 'https'" in " ".join(SERVICES["web"]["healthcheck"]["test"])


def test_check_deploy_is_clean_with_the_compose_environment():
    r = manage_with(compose_app_env(**TEST_SECRETS), "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no issues" in r.stdout


def test_check_deploy_would_catch_a_missing_https_setting():
    env = {**compose_app_env(**TEST_SECRETS), "SECURE_SSL_REDIRECT": "0"}
    r = manage_with(env, "check", "--deploy", "--fail-level", "WARNING")
    assert r.returncode != 0 and "security.W008" in r.stderr


def test_compose_refuses_to_start_without_its_secrets():
    with pytest.raises(AssertionError, match="SECRET_KEY is required"):
        compose_app_env(MINIO_ROOT_PASSWORD="x")


def test_the_image_build_collects_static_files_with_a_key_the_settings_accept():
    line = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if "collectstatic" in line)
    key = re.search(r"SECRET_KEY=(\S+)", line).group(1)
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'rlhf_site.settings'; django.setup()"
    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV") if k in os.environ}
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, "SECRET_KEY": key, "DEBUG": "0"},
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
