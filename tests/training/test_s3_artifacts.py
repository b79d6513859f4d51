"""Artifacts through an S3-speaking server (moto's standalone server, a real HTTP process): the worker has a
disk of its own and reads the snapshot and the base model from the bucket, and writes the model back."""

import shutil
import socket
import subprocess
import sys
import time

import pytest

from annotation import artifacts as store
from annotation.artifacts import snapshot_folder
from training.models import TrainingJob
from training.services.registry import model_register

from ..conftest import wait_for
from .conftest import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.training]
BUCKET = "rlhf-test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def s3_server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def s3_artifacts(s3_server, settings, monkeypatch, artifacts):
    """The artifact store is the bucket, here and in the worker (whose env says so too)."""
    import boto3

    env = {"ARTIFACT_S3_BUCKET": BUCKET, "ARTIFACT_S3_ENDPOINT_URL": s3_server, "ARTIFACT_S3_ACCESS_KEY": "test",
           "ARTIFACT_S3_SECRET_KEY": "test-secret"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_server, aws_access_key_id="test", aws_secret_access_key="x",
                          region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "artifacts": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": BUCKET, "endpoint_url": s3_server, "access_key": "test", "secret_key": "test-secret",
        "region_name": "us-east-1", "addressing_style": "path", "file_overwrite": True, "default_acl": None,
        "querystring_auth": False}}}
    from django.core.files.storage import storages

    storages._storages.pop("artifacts", None)
    assert not store.is_local()
    yield client
    storages._storages.pop("artifacts", None)


def keys(client, prefix: str) -> set[str]:
    listing = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"][len(prefix):] for o in listing.get("Contents", [])}


def test_a_worker_with_no_shared_disk_trains_from_the_bucket(s3_artifacts, tiny_folder, preference_snapshot_s3,
                                                              api, admin, training_worker, tmp_path, monkeypatch):
    client = s3_artifacts
    snapshot = preference_snapshot_s3
    assert "preference-train.jsonl" in keys(client, f"snapshots/{snapshot.pk}/")
    base = model_register(name="tiny-s3", folder=tiny_folder)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= keys(client, "models/tiny-s3/")

    # The worker's own disk: another ARTIFACT_ROOT, cache and work folder than this (web) process's.
    for name in ("ARTIFACT_ROOT", "ARTIFACT_CACHE_DIR", "TRAINING_WORK_ROOT"):
        monkeypatch.setenv(name, str(tmp_path / "gpu-machine" / name.lower()))
    worker = training_worker()
    response = api(admin).post("/api/training-jobs/", {
        "kind": "reward", "snapshot": snapshot.pk, "base_model": base.pk,
        "config": {"max_steps": 4, "per_device_train_batch_size": 4, "max_length": 64, "save_steps": 2}},
        format="json")
    assert response.status_code == 201, response.json()
    job = wait_for_job(response.json()["id"], lambda j: j.is_finished, worker=worker)
    assert job.status == "succeeded", job.error
    assert {"model/config.json", "model/model.safetensors", "metrics.jsonl", "evaluation.json", "train.log"} <= \
        keys(client, f"jobs/{job.pk}/")
    # resume points are dropped once the job has succeeded (right after its row says so)
    wait_for(lambda: not keys(client, f"jobs/{job.pk}/checkpoints/"), timeout=30, what="the checkpoints to go")
    assert (tmp_path / "gpu-machine" / "artifact_cache_dir" / "snapshots" / str(snapshot.pk)).exists()
    assert TrainingJob.objects.get(pk=job.pk).output_model.storage_prefix == f"jobs/{job.pk}/model"

    # The web side serves snapshot files from the bucket once its own build folder is gone.
    shutil.rmtree(snapshot_folder(snapshot))
    download = api(admin).get(f"/api/snapshots/{snapshot.pk}/files/preference-train.jsonl")
    assert download.status_code == 200 and b'"chosen"' in b"".join(download.streaming_content)


@pytest.fixture
def preference_snapshot_s3(s3_artifacts, preference_snapshot_factory):
    return preference_snapshot_factory()


@pytest.fixture
def preference_snapshot_factory(request):
    """Build the preference snapshot only once the bucket is the store (fixture order matters)."""
    return lambda: request.getfixturevalue("preference_snapshot")


def test_the_store_command_creates_the_bucket(s3_artifacts):
    from io import StringIO

    from django.core.management import call_command

    s3_artifacts.delete_bucket(Bucket=BUCKET)
    out = StringIO()
    call_command("ensure_artifact_store", stdout=out)
    assert f"created bucket {BUCKET}" in out.getvalue()
    assert BUCKET in {b["Name"] for b in s3_artifacts.list_buckets()["Buckets"]}
