"""The two commands' plumbing: `make test` runs both suites, `make run` takes its port from the environment or
.env, and the launcher behind it starts and stops cleanly."""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlhf_site.env import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def outside_make(**extra) -> dict:
    """This environment without what an enclosing `make test` passes down, so a nested make starts fresh."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "PORT")}
    env.update(extra)
    return env


def fake_suites(tmp_path: Path, *, vitest_rc: int, pytest_rc: int) -> dict:
    """`npm` and a python that only note they ran, and exit as told."""
    for name, rc in (("npm", vitest_rc), ("python", pytest_rc)):
        tool = tmp_path / name
        tool.write_text(f"#!/bin/sh\ntouch '{tmp_path}/{name}-ran'\nexit {rc}\n")
        tool.chmod(0o755)
    return outside_make(PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


def make_test(tmp_path: Path, env: dict) -> subprocess.CompletedProcess:
    # -o: take the installs, the frontend build and the browser as done; only the suites run (faked).
    return subprocess.run(["make", "-o", "test-deps", "-o", "frontend", "-o", "browser", "test",
                           f"PY={tmp_path}/python"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@needs_make
def test_make_test_runs_pytest_after_a_failing_vitest_and_fails(tmp_path):
    r = make_test(tmp_path, fake_suites(tmp_path, vitest_rc=1, pytest_rc=0))
    assert (tmp_path / "npm-ran").exists() and (tmp_path / "python-ran").exists(), r.stdout + r.stderr
    assert r.returncode != 0 and "failed: vitest" in r.stderr


@needs_make
def test_make_test_fails_when_only_pytest_fails_and_passes_when_both_pass(tmp_path):
    r = make_test(tmp_path, fake_suites(tmp_path, vitest_rc=0, pytest_rc=1))
    assert r.returncode != 0 and "failed: pytest" in r.stderr
    r = make_test(tmp_path, fake_suites(tmp_path, vitest_rc=0, pytest_rc=0))
    assert r.returncode == 0, r.stdout + r.stderr


def pytest_runs(tmp_path: Path, *, database_url: str | None, sqlite_rc: int = 0) -> tuple[list[str], subprocess.CompletedProcess]:
    """`make test` with a python that notes each run's DATABASE_URL and arguments, and fails the SQLite one as told."""
    env = fake_suites(tmp_path, vitest_rc=0, pytest_rc=0)
    (tmp_path / "python").write_text(
        f"#!/bin/sh\necho \"[$DATABASE_URL|$REDIS_URL] $*\" >> '{tmp_path}/runs'\n"
        f"[ -n \"$DATABASE_URL\" ] || exit {sqlite_rc}\n")
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    if database_url:
        env["DATABASE_URL"], env["REDIS_URL"] = database_url, "redis://127.0.0.1:6379/9"
    r = make_test(tmp_path, env)
    return (tmp_path / "runs").read_text().splitlines(), r


@needs_make
def test_make_test_on_postgres_runs_the_engine_import_and_snapshot_tests_again_on_the_embedded_defaults(tmp_path):
    runs, r = pytest_runs(tmp_path, database_url="postgres://postgres@127.0.0.1:5432/x")
    assert r.returncode == 0, r.stdout + r.stderr
    assert runs[0] == "[postgres://postgres@127.0.0.1:5432/x|redis://127.0.0.1:6379/9] -m pytest"
    assert runs[1].startswith("[|] -m pytest ") and len(runs) == 2
    for tests in ("test_assignment.py", "test_import.py", "test_snapshots.py"):
        assert f"tests/{tests}" in runs[1]
    (tmp_path / "failing").mkdir()
    _, r = pytest_runs(tmp_path / "failing", database_url="postgres://postgres@127.0.0.1:5432/x", sqlite_rc=1)
    assert r.returncode != 0 and "failed: pytest-on-sqlite" in r.stderr


@needs_make
def test_make_test_on_sqlite_runs_the_suite_once(tmp_path):
    runs, r = pytest_runs(tmp_path, database_url=None)
    assert r.returncode == 0 and runs == ["[|] -m pytest"], r.stdout + r.stderr


@needs_make
def test_make_run_sets_no_port_of_its_own_so_the_one_in_env_file_holds():
    # -p prints every variable make defines; -n only prints the recipes. A PORT defined or passed here would
    # override what .env says (the launcher reads .env only for variables the environment lacks).
    r = subprocess.run(["make", "-n", "-p", "run"], cwd=ROOT, env=outside_make(), capture_output=True, text=True,
                       timeout=60)
    assert "rlhf_site.run" in r.stdout, r.stdout[-2000:] + r.stderr
    assert not re.findall(r"^.*\bPORT\s*[:?+]?=.*$", r.stdout, re.M)


def test_a_port_in_env_file_is_used_unless_the_environment_sets_one(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("PORT=8123\n")
    monkeypatch.delenv("PORT", raising=False)
    load_dotenv(tmp_path / ".env")
    assert os.environ["PORT"] == "8123"
    monkeypatch.setenv("PORT", "9000")
    load_dotenv(tmp_path / ".env")
    assert os.environ["PORT"] == "9000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def embedded_env(var_dir: Path, port: int) -> dict:
    """SQLite and the filesystem broker in var_dir, whatever this run's DATABASE_URL / REDIS_URL or .env say."""
    blank = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL", "ARTIFACT_ROOT", "ARTIFACT_S3_BUCKET",
             "ARTIFACT_CACHE_DIR", "TRAINING_WORK_ROOT")
    return outside_make(VAR_DIR=str(var_dir), SECRET_KEY=secrets.token_urlsafe(48), PORT=str(port),
                        **dict.fromkeys(blank, ""))


@pytest.mark.worker
def test_ctrl_c_stops_web_and_workers_cleanly_with_exit_status_0(tmp_path):
    port = free_port()
    env = embedded_env(tmp_path / "var", port)
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=120)
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "rlhf_site.run"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 45
        # Up means the web port answers and both celery workers said they are ready.
        while not (answers(port) and log.read_text().count(" ready.") >= 2):
            assert launcher.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not up in 45 s:\n{log.read_text()}"
            time.sleep(0.5)
        launcher.send_signal(signal.SIGINT)
        rc = launcher.wait(timeout=30)
    finally:
        for _ in range(2):  # whatever went wrong, stop it: a first Ctrl-C asks, a second kills what is left
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGINT)
                try:
                    launcher.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
    output = log.read_text()
    assert rc == 0, output
    assert "ERROR" not in output, output
    assert "stopped web and workers" in output
    assert not answers(port)
