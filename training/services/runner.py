"""The worker side of a job: claim it, lay out its work folder, run the engine in a subprocess, and relay
what the engine writes (metrics, progress, checkpoints, the log) to the job row while it runs.

The engine is a child of the worker bound to it by PR_SET_PDEATHSIG: if the worker is killed (kill -9, OOM),
the engine dies too, the heartbeat stops, and `jobs_reconcile` requeues the job, which resumes from the last
checkpoint uploaded to the artifact store. torch is imported only in that child.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F
from django.utils import timezone

from annotation import artifacts
from annotation.artifacts import snapshot_prefix

from ..engine.config import KINDS
from ..engine.files import JobFiles, JsonlTail, write_json_atomic
from ..models import Model, TrainingJob, TrainingMetric
from .loop import loop_inputs, loop_outputs
from .registry import model_local_folder

logger = logging.getLogger(__name__)
Status = TrainingJob.Status
LOG_TAIL_BYTES = 16_000
# What a finished run leaves beside its model, kept as the job's artifacts.
OUTPUT_FILES = ("evaluation.json", "samples.jsonl", "versions.json", "job_config.json", "lineage.json",
                "generations.jsonl", "scores.jsonl", "constitutional.jsonl")
POLL_SECONDS = 0.5


def job_prefix(job_id: int) -> str:
    return f"jobs/{job_id}"


def job_claim(job_id: int) -> TrainingJob | None:
    """queued → running, once: a second delivery of the same wake-up finds nothing to claim."""
    now = timezone.now()
    claimed = TrainingJob.objects.filter(pk=job_id, status=Status.QUEUED, attempts__lt=F("max_attempts")).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, first_step_at=None,
        resumed_from_step=None,
        worker_host=socket.gethostname()[:200])
    return TrainingJob.objects.select_related("snapshot", "base_model", "reference_model", "reward_model").get(
        pk=job_id) if claimed else None


def job_run(*, job_id: int) -> str | None:
    """Run one job to its end. Returns its final status (None when another run had claimed it)."""
    job = job_claim(job_id)
    if job is None:
        return None
    files = JobFiles(Path(settings.TRAINING_WORK_ROOT) / str(job.pk))
    try:
        _prepare(job, files)
        returncode = _Supervisor(job, files).run()
        return _finish(job, files, returncode)
    except Exception as exc:  # noqa: BLE001 - anything at all: the job must not stay running
        logger.exception("training job %s failed in the worker", job.pk)
        close_old_connections()
        _end(job, Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return Status.FAILED


def _prepare(job: TrainingJob, files: JobFiles) -> None:
    """A fresh work folder with the spec and, when a checkpoint was uploaded, the newest one to resume from."""
    shutil.rmtree(files.root, ignore_errors=True)
    files.checkpoints.mkdir(parents=True)
    checkpoints = f"{job_prefix(job.pk)}/checkpoints"
    if artifacts.exists(checkpoints):
        done = sorted((name for name in artifacts.store().listdir(checkpoints)[0] if name.startswith("checkpoint-")),
                      key=lambda name: int(name.rsplit("-", 1)[1]))
        for name in reversed(done):
            if artifacts.exists(f"{checkpoints}/{name}") and artifacts.store().exists(
                    f"{checkpoints}/{name}/trainer_state.json"):
                artifacts.download_folder(f"{checkpoints}/{name}", files.checkpoints / name)
                break
    spec = {
        "job_id": job.pk, "kind": job.kind, "config": job.config, "work_dir": str(files.root),
        "snapshot_dir": str(artifacts.materialize(snapshot_prefix(job.snapshot_id))) if job.snapshot_id else None,
        "fingerprint": _fingerprint(job),
        "base_model_dir": str(model_local_folder(job.base_model)) if job.base_model else None,
        "base_model_name": job.base_model.name if job.base_model else None,
        "reference_model_dir": str(model_local_folder(job.reference_model)) if job.reference_model else None,
        "reward_model_dir": str(model_local_folder(job.reward_model)) if job.reward_model else None,
    }
    spec.update(loop_inputs(job, files, model_local_folder))
    write_json_atomic(files.spec, spec)


def _fingerprint(job: TrainingJob) -> str | None:
    from annotation import snapshots

    return snapshots.fingerprint(job.snapshot.files) if job.snapshot_id else None


def _bind_to_parent() -> None:
    """In the child, before exec: die with the worker (Linux prctl PR_SET_PDEATHSIG = 1)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass
    os.setpgrp()  # a process group of its own, so a cancel can stop accelerate's children too


def engine_command(job: TrainingJob, files: JobFiles) -> list[str]:
    gpus = job.config.get("num_gpus", 1)
    if gpus > 1:
        return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(gpus), "--module",
                "training.engine", "run", str(files.spec)]
    return [sys.executable, "-m", "training.engine", "run", str(files.spec)]


class _Supervisor:
    """Runs the engine and relays its files to the database until it exits."""

    def __init__(self, job: TrainingJob, files: JobFiles):
        self.job, self.files = job, files
        self.metrics, self.events = JsonlTail(files.metrics), JsonlTail(files.events)
        self.step, self.max_steps, self.latest = job.step, job.max_steps, dict(job.latest_metrics)
        self.first_step_seen = job.first_step_at is not None
        self.uploaded: list[str] = []
        self.log_size = -1
        self.stop = threading.Event()

    def run(self) -> int:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
        with open(self.files.log, "ab") as log:
            proc = subprocess.Popen(engine_command(self.job, self.files), cwd=settings.BASE_DIR, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, preexec_fn=_bind_to_parent)
        heartbeat = threading.Thread(target=self._heartbeat, name=f"job-{self.job.pk}-heartbeat", daemon=True)
        heartbeat.start()
        try:
            while proc.poll() is None:
                if not self._relay():
                    os.killpg(proc.pid, signal.SIGKILL)  # the job is no longer ours (failed by the reconciler)
                    proc.wait()
                    break
                time.sleep(POLL_SECONDS)
        finally:
            self.stop.set()
            heartbeat.join()
        self._relay()
        return proc.returncode

    def _heartbeat(self) -> None:
        """A thread of its own, so a long checkpoint upload never looks like a dead worker."""
        try:
            while not self.stop.wait(settings.TRAINING_HEARTBEAT_SECONDS):
                TrainingJob.objects.filter(pk=self.job.pk, status=Status.RUNNING).update(heartbeat_at=timezone.now())
        finally:
            connection.close()

    def _relay(self) -> bool:
        """Move new metrics, progress and checkpoints to the database and the store; False if the job was taken
        from us. A cancel request becomes the CANCEL file the engine checks after every step."""
        close_old_connections()
        rows = self.metrics.read()
        fields = {}
        for event in self.events.read():
            if event["event"] in ("step", "train_begin"):
                self.step, self.max_steps = event["step"], event["max_steps"] or self.max_steps
            if event["event"] == "train_begin":
                fields["resumed_from_step"] = event.get("resumed_from")
            elif event["event"] == "checkpoint":
                self._upload_checkpoint(event["path"])
        fields.update(step=self.step, max_steps=self.max_steps)
        size = self.files.log.stat().st_size if self.files.log.exists() else 0
        if size != self.log_size:  # read and store the tail only when the log grew
            self.log_size, fields["log_tail"] = size, _tail(self.files.log)
        if rows:
            self._store_metrics(rows)
            for row in rows:
                self.latest.update(row["values"])
            fields["latest_metrics"] = self.latest
            if not self.first_step_seen:
                self.first_step_seen = True
                fields["first_step_at"] = timezone.now()
        if not TrainingJob.objects.filter(pk=self.job.pk, status=Status.RUNNING).update(**fields):
            return False
        if TrainingJob.objects.filter(pk=self.job.pk, cancel_requested_at__isnull=False).exists():
            self.files.cancel.touch()
        return True

    def _store_metrics(self, rows: list[dict]) -> None:
        merged: dict[int, dict] = {}
        times: dict[int, float] = {}
        for row in rows:
            merged.setdefault(row["step"], {}).update(row["values"])
            times[row["step"]] = row["time"]
        with transaction.atomic():
            existing = dict(TrainingMetric.objects.filter(job_id=self.job.pk, step__in=merged).values_list("step",
                                                                                                          "values"))
            TrainingMetric.objects.bulk_create(
                [TrainingMetric(job_id=self.job.pk, step=step, values={**existing.get(step, {}), **values},
                                logged_at=datetime.fromtimestamp(times[step], UTC)) for step, values in merged.items()],
                update_conflicts=True, unique_fields=["job", "step"], update_fields=["values", "logged_at"])

    def _upload_checkpoint(self, name: str) -> None:
        """The newest checkpoint goes to the store (where any worker can resume from it); older ones go. A fast
        engine may rotate a checkpoint away (TRL's save_total_limit) while it is being uploaded: that one is
        dropped, half-uploaded files included, and the newer one, whose event follows, takes its place."""
        prefix = f"{job_prefix(self.job.pk)}/checkpoints"
        try:
            artifacts.upload_folder(self.files.checkpoints / name, f"{prefix}/{name}")
        except FileNotFoundError:
            artifacts.delete_prefix(f"{prefix}/{name}")
            logger.info("job %s: %s was rotated away before it was uploaded", self.job.pk, name)
            return
        for old in self.uploaded:
            artifacts.delete_prefix(f"{prefix}/{old}")
        self.uploaded = [name]


def _tail(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
        return f.read().decode("utf-8", "replace")


def _last_error(log: str) -> str:
    """The engine's own last words: the exception line of a traceback, or the log's last lines."""
    lines = [line for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if line and not line.startswith(" ") and ("Error" in line or "Exception" in line or "SystemExit" in line):
            return line.strip()[:2000]
    return "\n".join(lines[-5:])[:2000]


def _finish(job: TrainingJob, files: JobFiles, returncode: int) -> str:
    close_old_connections()  # a run of hours outlives connections; never inside the atomic block below
    result = json.loads(files.result.read_text()) if files.result.exists() else None
    prefix = job_prefix(job.pk)
    if result and result["status"] == TrainingJob.Status.SUCCEEDED:
        try:
            return _record_success(job, files, result)
        except Exception as exc:  # noqa: BLE001 - bad outputs fail the job, and the transaction wrote nothing
            logger.exception("job %s: recording its outputs failed", job.pk)
            close_old_connections()
            _end(job, Status.FAILED, error=f"the run finished but its outputs could not be recorded: "
                                           f"{type(exc).__name__}: {exc}")
            return Status.FAILED
    for path in (files.metrics, files.log):
        if path.exists():
            artifacts.upload_file(path, f"{prefix}/{path.name}")
    cancelled = TrainingJob.objects.filter(pk=job.pk, cancel_requested_at__isnull=False).exists()
    if (result and result["status"] == TrainingJob.Status.CANCELLED) or cancelled:
        _end(job, Status.CANCELLED, artifacts=artifacts.list_files(prefix),
             **({"step": result["step"]} if result else {}))
        return Status.CANCELLED
    error = _last_error(_tail(files.log)) or f"the engine exited with code {returncode} and no result"
    _end(job, Status.FAILED, error=f"training failed (exit code {returncode}): {error}",
         artifacts=artifacts.list_files(prefix))
    return Status.FAILED


def _record_success(job: TrainingJob, files: JobFiles, result: dict) -> str:
    """Upload the outputs, then in one transaction: the items/answers they make, the model, and the job's end."""
    prefix = job_prefix(job.pk)
    artifacts_ = [files.output / name for name in OUTPUT_FILES if (files.output / name).exists()]
    for path in [*artifacts_, files.metrics, files.log]:
        if path.exists():
            artifacts.upload_file(path, f"{prefix}/{path.name}")
    info = result.get("model")  # an evaluation produces none
    model_files = artifacts.upload_folder(files.output / "model", f"{prefix}/model") if info else []
    with transaction.atomic():
        evaluation = {**(result["evaluation"] or {}), **loop_outputs(job, files)}
        if not _end(job, Status.SUCCEEDED, step=result["step"], evaluation=evaluation,
                    summary=result["summary"], samples=result["samples"],
                    artifacts=artifacts.list_files(prefix)):
            return TrainingJob.objects.get(pk=job.pk).status
        if info:
            Model.objects.create(
                name=f"{job.kind}-{job.pk}", kind=KINDS[job.kind].output_kind, task=info["task"],
                source=Model.Source.TRAINED, architecture=info["architecture"],
                parameter_count=info["parameter_count"], storage_prefix=f"{prefix}/model", files=model_files,
                job=job, parent=job.base_model, created_by=job.created_by)
    artifacts.delete_prefix(f"{prefix}/checkpoints")
    return Status.SUCCEEDED


def _end(job: TrainingJob, status: str, **fields) -> bool:
    """running → an end state, once (the reconciler may have taken the job meanwhile)."""
    return bool(TrainingJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=status, finished_at=timezone.now(), heartbeat_at=timezone.now(), **fields))
