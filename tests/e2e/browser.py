"""Helpers for the browser tests and the latency benchmark: page steps and a restartable server."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# The tests save a screenshot of every screen; UPDATE_SCREENSHOTS=1 writes them over the ones the README shows.
SCREENSHOTS = ROOT / ("docs/screenshots" if os.environ.get("UPDATE_SCREENSHOTS") else "var/screenshots")
VIEWPORT = {"width": 1280, "height": 720}


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def login(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the form, keyboard only."""
    page.goto(base_url + "/")
    page.wait_for_selector("input[name=username]")
    page.keyboard.type(username)  # the username field has autofocus
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:text('My projects')")


def wait_for_new_item(page, previous_assignment: str | None, timeout: float = 10_000) -> str:
    """Wait until a task other than `previous_assignment` is on screen; return its assignment id."""
    page.wait_for_function(
        """prev => { const t = document.querySelector('.task-wrap:not(.busy) [data-assignment]');
                     return t && t.dataset.assignment !== prev; }""",
        arg=previous_assignment or "",
        timeout=timeout,
    )
    return page.get_attribute("[data-assignment]", "data-assignment")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """The web server in a child process (runserver, or gunicorn as `make run` starts it), on one SQLite
    file that outlives restarts (or on `database_url`)."""

    def __init__(self, var_dir: Path, *, gunicorn: bool = False, database_url: str = ""):
        self.gunicorn = gunicorn
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VAR_DIR": str(var_dir),
            "DATABASE_URL": database_url,  # empty counts as unset: SQLite in VAR_DIR, whatever .env says
            "SECRET_KEY": "e2e-secret-key-kept-across-restarts",
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HF_HUB_OFFLINE": "1",
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.proc: subprocess.Popen | None = None
        self.log = open(var_dir / "server.log", "ab")

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> None:
        command = (
            # As `make run` serves it: two workers, four threads each.
            [sys.executable, "-m", "gunicorn", "rlhf_site.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "2", "--threads", "4", "--log-level", "warning"]
            if self.gunicorn
            else [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{self.port}"]
        )
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/auth/csrf/", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}") from None
                time.sleep(0.1)
        raise RuntimeError("server did not answer within 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def api(self, method: str, path: str, *, token: str | None = None, body: dict | None = None,
            headers: dict | None = None) -> tuple[int, object]:
        """One JSON request; returns (status, parsed body)."""
        return api_request(self.url, method, path, token=token, body=body, headers=headers)

    def token(self, username: str, password: str) -> str:
        return api_token(self.url, username, password)


def api_request(base_url: str, method: str, path: str, *, token: str | None = None, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, object]:
    """One JSON request to a running server (a ServerProcess, or pytest-django's live_server); (status, body)."""
    request = urllib.request.Request(base_url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", "Accept": "application/json",
                                              **(headers or {})})
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, (json.loads(raw) if raw else None)


def api_token(base_url: str, username: str, password: str) -> str:
    status, data = api_request(base_url, "POST", "/api/auth/token/", body={"username": username, "password": password})
    assert status == 200, data
    return data["token"]


