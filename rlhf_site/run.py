"""`make run`: the web server, a Celery worker (with its beat) and a training worker together; Ctrl-C stops all.

With no CELERY_BROKER_URL the worker serves kombu's filesystem broker, so one machine
runs the whole platform with no other server.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings

DEMO_LOGINS = [("admin", "admin"), ("lead", "lead"), ("alice", "annotator"), ("bob", "annotator"),
               ("carol", "annotator")]


def _commands(port: str) -> dict[str, list[str]]:
    python = sys.executable
    return {
        "web": [python, "-m", "gunicorn", "rlhf_site.wsgi:application", "--bind", f"127.0.0.1:{port}",
                # docker-compose.yml's workers, chosen by measurement (docs/benchmarks.md, "gunicorn settings")
                "--workers", "4", "--timeout", "300", "--log-level", "warning"],
        "worker": [python, "-m", "celery", "-A", "rlhf_site", "worker", "--beat", "-Q", "default",
                   "--concurrency", "2", "--loglevel", "INFO", "-n", "default@%h",
                   "--schedule", settings.CELERY_BEAT_SCHEDULE_FILENAME],
        # Training runs here on the CPU, one job at a time, as the gpu-worker of docker-compose.yml does on a GPU.
        "training-worker": [python, "-m", "celery", "-A", "rlhf_site", "worker", "-Q", settings.TRAINING_QUEUE,
                            "--concurrency", "1", "--loglevel", "INFO", "-n", "training@%h"],
    }


def _banner(port: str) -> None:
    from annotation.management.commands.load_demo import DEMO_PASSWORD

    print(f"\n  RLHF platform running at http://127.0.0.1:{port}/  (API docs: /api/docs/, admin: /admin/)")
    print(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
    for name, role in DEMO_LOGINS:
        print(f"    {name:<6} {role}")
    broker = "embedded filesystem broker" if settings.CELERY_BROKER_URL == "filesystem://" else settings.CELERY_BROKER_URL
    print(f"  Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; queue: {broker}")
    print(f"  Training jobs run on this machine's {'GPU' if _has_gpu() else 'CPU'} (queue {settings.TRAINING_QUEUE}).")
    print("  Ctrl-C stops web and workers.\n", flush=True)


def _has_gpu() -> bool:
    import shutil

    return shutil.which("nvidia-smi") is not None


# How long a child may take over its warm shutdown (a celery worker finishes the task in hand) before it is killed.
STOP_GRACE_SECONDS = 15


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    django.setup()  # settings read .env, so PORT below may come from there
    from rlhf_site.celery import ensure_broker_folders

    ensure_broker_folders()
    port = os.environ.get("PORT", "8000")
    procs = {name: subprocess.Popen(cmd, start_new_session=True) for name, cmd in _commands(port).items()}
    _banner(port)
    requests = []

    def stop(signum, _frame):
        requests.append(signum)
        if len(requests) > 1:  # a second Ctrl-C: do not wait for the warm shutdown
            _kill(procs)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    failed = _wait_for_stop_or_exit(procs, requests)
    _stop(procs)
    print("stopped web and workers", flush=True)
    sys.exit(1 if failed else 0)


def _wait_for_stop_or_exit(procs: dict[str, subprocess.Popen], requests: list) -> bool:
    """Block until a stop is asked for (False) or a child exits on its own (True, said on stderr)."""
    while not requests:
        for name, proc in procs.items():
            if proc.poll() is not None:
                print(f"{name} exited with {proc.returncode}; stopping the others", file=sys.stderr, flush=True)
                return True
        time.sleep(0.5)
    return False


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """Warm shutdown: SIGTERM to each main process only, which stops its own workers.

    Signalling the whole process group instead reaches gunicorn's and celery's pool workers behind their
    parents' backs, and the parents then log each one's death as an ERROR.
    """
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} still busy after {STOP_GRACE_SECONDS} s; killed it", file=sys.stderr, flush=True)
    _kill(procs)
    for proc in procs.values():
        proc.wait()


def _kill(procs: dict[str, subprocess.Popen]) -> None:
    """SIGKILL each child's group (a pool worker or training subprocess left behind); reaping is the caller's."""
    for proc in procs.values():
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    main()
