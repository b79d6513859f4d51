"""Docker cannot run here, so the production shape is checked by reading it."""

import re
import shlex
from pathlib import Path

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
    assert "requirements/web.txt" in dockerfile and "requirements/training.txt" in dockerfile
    for line in (ROOT / "requirements" / "web.txt").read_text().splitlines():
        if line and not line.startswith(("#", "-r")):
            assert "==" in line, line
