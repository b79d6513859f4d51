"""What the training benchmarks share: a database of their own, a real Celery worker on a queue of their own,
projects answered through the API, snapshots, registered models, and texts whose better response is known.

Defaults (override with the environment): DATABASE_URL postgres://postgres@127.0.0.1:5432/rlhf_trainbench,
REDIS_URL redis://127.0.0.1:6379/3, TRAINING_QUEUE bench-gpu, VAR_DIR /tmp/rlbench/var (artifacts, work folders).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rlhf_trainbench",
    "REDIS_URL": "redis://127.0.0.1:6379/3",
    "TRAINING_QUEUE": "bench-gpu",
    "VAR_DIR": "/tmp/rlbench/var",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRAINING_HEARTBEAT_SECONDS": "5",
}


def bench_env() -> dict:
    """The environment of this process and of the workers it starts (set in os.environ too)."""
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    Path(os.environ["VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    return dict(os.environ)


def ensure_database() -> None:
    """Create the bench database if missing and migrate it (the URL names a database of the bench's own)."""
    import psycopg

    url = bench_env()["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)


def django_setup() -> None:
    bench_env()
    import django

    django.setup()


class Worker:
    """A real `celery worker` (solo pool, as a GPU worker runs with concurrency 1) on the given queues."""

    def __init__(self, queues: str, log_path: Path, *, extra_env: dict | None = None):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "w")
        env = {**bench_env(), **(extra_env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "rlhf_site", "worker", "-Q", queues, "--pool", "solo", "-n",
             f"bench-{queues}-{os.getpid()}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--without-heartbeat"], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while "ready." not in self.log_path.read_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- Texts whose better response is known ------------------------------------------------------------------------

TASKS = ["bake bread at home", "plant a tomato seedling", "back up a laptop", "learn a new language",
         "train for a 10k run", "write a cover letter", "clean a cast iron pan", "set up a home network",
         "prepare for a job interview", "brew pour-over coffee", "organise a small kitchen", "repair a flat tyre",
         "start a vegetable garden", "save money each month", "read more books", "teach a dog to sit",
         "paint a bedroom wall", "cook rice on the stove", "choose a good password", "keep houseplants alive",
         "plan a weekend hike", "study for an exam", "make a budget spreadsheet", "fix a squeaky door",
         "sleep better at night", "write a short story", "care for a new puppy", "wash a wool sweater",
         "reduce food waste", "learn to juggle"]
STEPS = ["gather what you need", "read the instructions once", "set aside a quiet hour", "start with a small test",
         "measure twice before you begin", "work slowly and check each part", "ask someone who has done it",
         "write down what worked", "take a short break halfway", "clean up as you go", "keep notes of the result",
         "repeat the step that went wrong", "compare with a good example", "make a simple checklist"]
ENDINGS = ["This keeps the job simple and safe.", "That way you avoid the common mistakes.",
           "You will get a better result with less effort.", "It gets easier every time you do it."]


def pair(rng: random.Random, task: str, kinds: tuple[int, ...] = (0, 1, 2)) -> tuple[str, str, str]:
    """(prompt, good answer, degraded answer). The degraded one is the good one with its words shuffled (kind 0),
    cut off and repeated (1), or the same kind of answer, word for word in form, to another question (2): a reader
    (and a model) can tell which is better; kind 2 alone needs the question read against the answer."""
    steps = rng.sample(STEPS, 3)
    ending = rng.choice(ENDINGS)
    prompt = f"How do I {task}?"
    good = f"To {task}, first {steps[0]}, then {steps[1]}, and finally {steps[2]}. {ending}"
    kind = rng.choice(kinds)
    if kind == 0:
        words = good.split()
        rng.shuffle(words)
        bad = " ".join(words)
    elif kind == 1:
        words = good.split()
        cut = words[:rng.randrange(3, 7)]
        bad = " ".join(cut + [cut[-1]] * rng.randrange(2, 5))
    else:
        other = rng.choice([t for t in TASKS if t != task])
        bad = f"To {other}, first {steps[0]}, then {steps[1]}, and finally {steps[2]}. {ending}"
    return prompt, good, bad


def pairwise_lines(n: int, seed: int, *, prefix: str, kinds: tuple[int, ...] = (0, 1, 2)) -> list[dict]:
    """Import lines (the good response at a random stored position), with the truth in the metadata."""
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        prompt, good, bad = pair(rng, TASKS[i % len(TASKS)], kinds)
        better = rng.randrange(2)
        texts = [good, bad] if better == 0 else [bad, good]
        lines.append({"external_id": f"{prefix}-{i}", "prompt": f"{prompt} (case {prefix}-{i})",
                      "responses": [{"text": t, "model": "sim"} for t in texts],
                      "metadata": {"truth": better, "good": good}})
    return lines


def demonstration_lines(n: int, seed: int, *, prefix: str) -> tuple[list[dict], dict[str, str]]:
    rng = random.Random(seed)
    lines, answers = [], {}
    for i in range(n):
        prompt, good, _ = pair(rng, TASKS[i % len(TASKS)])
        external = f"{prefix}-{i}"
        lines.append({"external_id": external, "prompt": f"{prompt} (case {external})"})
        answers[f"{prompt} (case {external})"] = good
    return lines, answers


# --- Projects, answers, snapshots and models, through the API ---------------------------------------------------

def api_client(user):
    from rest_framework.test import APIClient

    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(user)
    return client


def users(tag: str, names: list[str]) -> dict:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    admin = User.objects.create_user(f"bench-admin-{tag}", is_staff=True)
    return {"admin": admin, **{name: User.objects.create_user(f"{name}-{tag}") for name in names}}


def project_with_items(admin_client, *, name: str, kind: str, overlap: int, lines: list[dict],
                       annotators: list) -> int:
    r = admin_client.post("/api/projects/", {"name": name, "kind": kind, "annotations_per_item": overlap},
                          format="json")
    assert r.status_code == 201, r.content
    project_id = r.json()["id"]
    for user in annotators:
        r = admin_client.post(f"/api/projects/{project_id}/members/", {"user": user.username, "role": "annotator"},
                              format="json")
        assert r.status_code == 201, r.content
    r = admin_client.post(f"/api/projects/{project_id}/import/", {"items": lines}, format="json")
    assert r.status_code == 201 and r.json()["created"] == len(lines), r.content
    return project_id


def annotate(clients: dict, project_id: int, answer) -> int:
    """Round-robin next -> submit for every client until each gets 204; answer(name, item json) -> payload."""
    active, stored = list(clients), 0
    while active:
        for name in list(active):
            r = clients[name].post(f"/api/projects/{project_id}/next/")
            if r.status_code == 204:
                active.remove(name)
                continue
            data = r.json()
            s = clients[name].post(f"/api/assignments/{data['assignment']}/submit/", answer(name, data["item"]),
                                   format="json")
            assert s.status_code == 201, s.content
            stored += 1
    return stored


def snapshot(admin_client, project_id: int, *, rules: dict, test_fraction: float = 0.0, seed: int = 0,
             build_here: bool = False, timeout: float = 300) -> dict:
    """POST a snapshot and wait until a worker (or, with build_here, this process) has built it."""
    r = admin_client.post(f"/api/projects/{project_id}/snapshots/",
                          {"rules": rules, "test_fraction": test_fraction, "seed": seed}, format="json")
    assert r.status_code == 202, r.content
    snapshot_id = r.json()["id"]
    if build_here:
        from annotation.services.snapshots import snapshot_build

        snapshot_build(snapshot_id=snapshot_id)
    deadline = time.time() + timeout
    while True:
        data = admin_client.get(f"/api/snapshots/{snapshot_id}/").json()
        if data["state"] in ("ready", "failed"):
            assert data["state"] == "ready", data
            return data
        if time.time() > deadline:
            raise RuntimeError(f"snapshot {snapshot_id} still {data['state']} after {timeout} s")
        time.sleep(0.5)


def snapshot_dir(snapshot_id: int) -> Path:
    from annotation import artifacts
    from annotation.artifacts import snapshot_prefix

    return artifacts.materialize(snapshot_prefix(snapshot_id))


def register(name: str, folder: Path):
    """The model of that name, registered from the folder on first use."""
    from training.models import Model
    from training.services.registry import model_register

    return Model.objects.filter(name=name).first() or model_register(name=name, folder=Path(folder))


def tiny_model(folder: Path, texts: list[str]) -> Path:
    """A tiny random Llama (tokenizer trained on the bench's texts), made once."""
    folder = Path(folder)
    if not (folder / "config.json").exists():
        text_file = folder.parent / f"{folder.name}-texts.txt"
        folder.parent.mkdir(parents=True, exist_ok=True)
        text_file.write_text("\n".join(texts))
        subprocess.run([sys.executable, "-m", "training.engine", "tiny-model", str(folder), "--texts", str(text_file)],
                       cwd=ROOT, check=True, capture_output=True, env=bench_env())
    return folder


def smollm2_folder(folder: Path = Path("/tmp/smollm2")) -> Path:
    if not (folder / "config.json").exists():
        from training.engine.builtin import smollm2_gguf

        subprocess.run([sys.executable, "-m", "training.engine", "convert-gguf", str(smollm2_gguf()), str(folder)],
                       cwd=ROOT, check=True, capture_output=True, env=bench_env())
    return folder


def minilm() -> Path:
    from training.engine.builtin import minilm_folder

    return minilm_folder()


def wait_job(job_id: int, timeout: float = 1800):
    from training.models import TrainingJob

    deadline = time.time() + timeout
    while True:
        job = TrainingJob.objects.get(pk=job_id)
        if job.is_finished:
            return job
        if time.time() > deadline:
            raise RuntimeError(f"job {job_id} still {job.status} after {timeout} s")
        time.sleep(0.3)


def read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def machine() -> str:
    import platform

    load = os.getloadavg()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return f"{os.cpu_count()} CPUs ({cpu}), load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
