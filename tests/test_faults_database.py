"""PostgreSQL stopped under load and started again.

Requests during the outage answer 503 in the API's JSON error shape with Retry-After (never a 500, never an
HTML page), nothing is half-written (every acknowledged submit is stored exactly once, the items' counters
agree with the stored leases and answers), and the same gunicorn process serves again once the database is
back. The test runs a PostgreSQL cluster of its own (tests/faults.py), never the machine's shared one.
"""

import json
import random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

import pytest

from .e2e.browser import ROOT, ServerProcess
from .faults import PrivatePostgres, postgres_bin

pytestmark = [pytest.mark.postgres,
              pytest.mark.skipif(postgres_bin() is None, reason="needs PostgreSQL's server binaries (initdb)")]

ANNOTATORS = 6
OVERLAP = 2
SETUP = f"""
import json
from rest_framework.authtoken.models import Token
from tests import factories
users = [factories.user(f"ann{{i}}") for i in range({ANNOTATORS})]
project = factories.project("pairwise", members={{u: "annotator" for u in users}}, annotations_per_item={OVERLAP})
factories.items(project, 1500)
print(json.dumps({{"project": project.pk, "tokens": [Token.objects.create(user=u).key for u in users]}}))
"""


@dataclass
class Answer:
    status: int
    at: float  # when the request was sent
    done: float
    headers: dict
    body: object


def call(base: str, method: str, path: str, token: str, body: dict | None = None, key: str | None = None) -> Answer:
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(base + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    sent = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, got, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        status, got, raw = error.code, dict(error.headers), error.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")[:200]  # an HTML page: the assertions below name it
    return Answer(status, sent, time.monotonic(), {k.lower(): v for k, v in got.items()}, parsed)


@dataclass
class Load:
    """Annotators looping next -> submit; a submit answered 503 is repeated with its key until it lands."""

    base: str
    project: int
    tokens: list[str]
    log: str  # the server's, quoted when something goes wrong
    answers: list[Answer] = field(default_factory=list)
    acked: list[tuple[int, int]] = field(default_factory=list)  # (assignment, annotation) of each 2xx submit
    unexpected: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _call(self, *args, **kwargs) -> Answer:
        try:
            answer = call(self.base, *args, **kwargs)
        except OSError as exc:  # the server dropped the connection: as wrong as a 500
            answer = Answer(0, time.monotonic(), time.monotonic(), {}, repr(exc))
            self.unexpected.append(f"{args[:2]}: {exc!r}")
        self.answers.append(answer)
        return answer

    def _submit(self, token: str, lease: dict) -> None:
        key, assignment = uuid.uuid4().hex, lease["assignment"]
        body = {"chosen": random.choice(lease["item"]["responses"])["id"], "strength": 2}
        while True:  # even while stopping: a submit in doubt is settled by repeating it
            answer = self._call("POST", f"/api/assignments/{assignment}/submit/", token, body, key)
            if answer.status in (200, 201):
                self.acked.append((assignment, answer.body["id"]))
                return
            if answer.status != 503:
                self.unexpected.append(f"submit {assignment}: {answer.status} {answer.body}")
                return
            time.sleep(0.2)

    def annotate(self, token: str) -> None:
        while not self.stopping.is_set():
            answer = self._call("POST", f"/api/projects/{self.project}/next/", token)
            if answer.status == 200:
                time.sleep(random.uniform(0.01, 0.05))
                self._submit(token, answer.body)
            elif answer.status == 204:
                return
            elif answer.status != 503:
                self.unexpected.append(f"next: {answer.status} {answer.body}")
                return
            time.sleep(random.uniform(0.01, 0.05))

    def wait(self, predicate, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert not self.unexpected, (self.unexpected[:5], self.log_tail())
            assert time.monotonic() < deadline, (f"timed out waiting for {what}", self.log_tail())
            time.sleep(0.05)

    def log_tail(self) -> str:
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]


@pytest.fixture
def cluster():
    pg = PrivatePostgres()
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def served(cluster, tmp_path):
    """The app migrated onto the private cluster and served by gunicorn as `make run` starts it."""
    cluster.create_database("rlhf_faults")
    server = ServerProcess(tmp_path, gunicorn=True, database_url=cluster.url("rlhf_faults"))
    # The embedded broker in tmp_path: a submit's on-commit wake-up must reach no one else's Redis.
    server.env.update({"REDIS_URL": "", "CELERY_BROKER_URL": "", "CACHE_URL": ""})
    server.manage("migrate", "--no-input", "-v", "0")
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", SETUP], cwd=ROOT, env=server.env,
                          capture_output=True, text=True, timeout=300, check=True)
    server.setup = json.loads(done.stdout.strip().splitlines()[-1])
    server.start()
    yield server
    server.stop()


def counters_and_answers(cluster: PrivatePostgres, project: int) -> dict:
    import psycopg

    with psycopg.connect(cluster.url("rlhf_faults")) as conn:
        def one(sql: str):
            return conn.execute(sql, {"p": project}).fetchall()

        return {
            "answers": dict(one("SELECT id, assignment_id FROM annotation_annotation WHERE project_id = %(p)s")),
            "bad_counters": one(f"""
                SELECT i.id, i.n_submitted, i.n_leased, i.open_slots,
                       (SELECT count(*) FROM annotation_annotation a WHERE a.item_id = i.id),
                       (SELECT count(*) FROM annotation_assignment s WHERE s.item_id = i.id AND s.status = 'leased')
                FROM annotation_item i WHERE i.project_id = %(p)s AND (
                    i.n_submitted <> (SELECT count(*) FROM annotation_annotation a WHERE a.item_id = i.id)
                    OR i.n_leased <> (SELECT count(*) FROM annotation_assignment s
                                      WHERE s.item_id = i.id AND s.status = 'leased')
                    OR i.open_slots <> {OVERLAP} - i.n_submitted - i.n_leased)"""),
            "submitted_without_answer": one("""
                SELECT s.id FROM annotation_assignment s LEFT JOIN annotation_annotation a ON a.assignment_id = s.id
                WHERE s.project_id = %(p)s AND (s.status = 'submitted') <> (a.id IS NOT NULL)"""),
            "over_overlap": one(f"""SELECT item_id FROM annotation_annotation WHERE project_id = %(p)s
                                    GROUP BY item_id HAVING count(*) > {OVERLAP}"""),
        }


def test_a_database_outage_answers_503_writes_nothing_partial_and_the_same_server_recovers(cluster, served):
    load = Load(served.url, served.setup["project"], served.setup["tokens"], served.log.name)
    threads = [threading.Thread(target=load.annotate, args=(token,), daemon=True) for token in load.tokens]
    for thread in threads:
        thread.start()
    load.wait(lambda: len(load.acked) >= 30, "30 answers before the outage")

    cluster.stop()
    down = time.monotonic()
    load.wait(lambda: sum(a.at > down for a in load.answers) >= 40, "40 requests during the outage")
    restarting = time.monotonic()  # the server may accept connections before pg_ctl start returns
    cluster.start()
    up = time.monotonic()
    acked_before = len(load.acked)
    load.wait(lambda: len(load.acked) >= acked_before + 30, "30 answers after the restart", timeout=90)
    load.stopping.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not load.unexpected, (load.unexpected[:5], load.log_tail())

    outage = [a for a in load.answers if a.at > down and a.done < restarting]
    assert len(outage) >= 40
    for answer in outage:
        assert answer.status == 503, (answer.status, answer.body)
        assert answer.headers["content-type"] == "application/json", answer.headers
        assert answer.headers["retry-after"].isdigit()
        assert answer.body["errors"] and answer.body["errors"][0]["message"], answer.body
    server_errors = [(a.status, a.body) for a in load.answers if a.status >= 500 and a.status != 503]
    assert server_errors == []
    assert served.proc.poll() is None  # the process started before the outage is the one that recovered
    assert any(a.status in (200, 201) for a in load.answers if a.at > up)

    stored = counters_and_answers(cluster, served.setup["project"])
    acked = dict((annotation, assignment) for assignment, annotation in load.acked)
    assert len(acked) == len(load.acked)  # no answer acknowledged twice under two ids
    assert stored["answers"] == acked  # each acknowledged answer stored once, and nothing stored unacknowledged
    assert stored["bad_counters"] == []
    assert stored["submitted_without_answer"] == []
    assert stored["over_overlap"] == []
