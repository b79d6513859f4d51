"""Soak: simulated annotators against gunicorn (as docker-compose.yml starts it) and PostgreSQL, then the books.

    .venv/bin/python bench/soak.py --duration 600 --annotators 200

In its own database (``rlhf_soak`` on 127.0.0.1:5432 unless DATABASE_URL says otherwise; created and migrated if
missing), a pairwise project of --items items, overlap 3, and one user with a token per annotator. gunicorn
serves it on 127.0.0.1:--port with docker-compose.yml's settings. Each annotator loops next -> (think) -> submit
with pauses drawn from --think, and now and then: asks for `next` three times at once (all must return the one lease), sends
its submit twice at once with one Idempotency-Key (one answer, both acknowledged), or repeats a submit after its
answer (the same answer back). After --duration seconds the annotators stop, and the database is checked:
items over their overlap, duplicate (item, annotator), lost answers (each 2xx submit stored exactly once, under
the id it answered), responses with a 5xx (or no response), annotators holding two live leases; the items'
counters against the stored leases and answers. All must be 0: the exit status says whether they were. Prints
throughput and latency percentiles. Loopback only; bounded by --duration and --annotators.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rlhf_soak")

# First: importing it migrates the soak database and sets Django up, which the imports below need.
from bench.assign_bench import check, gunicorn_start, gunicorn_stop, pct, project_for  # noqa: E402, I001
from bench.cycles import gunicorn_args  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from annotation.models import Membership, Project  # noqa: E402

RARE = {"parallel_next": 0.05, "twin_submit": 0.03, "repeat_submit": 0.05}


def soak_annotators(project: Project, n: int) -> list[str]:
    """n annotators of the project with tokens (no passwords: hashing 200 of them would take minutes)."""
    users = get_user_model().objects
    users.bulk_create([users.model(username=f"soak-{i}") for i in range(n)], ignore_conflicts=True)
    members = list(users.filter(username__in=[f"soak-{i}" for i in range(n)]).order_by("id"))
    Membership.objects.bulk_create([Membership(user=u, project=project, role="annotator") for u in members],
                                   ignore_conflicts=True)
    return [Token.objects.get_or_create(user=u)[0].key for u in members]


class Annotator(threading.Thread):
    """One simulated annotator with a keep-alive connection; records every response's status and latency."""

    def __init__(self, port: int, project_id: int, token: str, until: float, think: tuple[float, float], seed: int):
        super().__init__(daemon=True)
        self.port, self.project_id, self.until, self.think = port, project_id, until, think
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.random = random.Random(seed)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter = Counter()
        self.acked: dict[int, int] = {}  # annotation id -> assignment id, from each 2xx submit
        self.wrong: list[str] = []  # answers that break a rule the client can see
        self.conn = None

    def call(self, what: str, path: str, body: dict | None = None, key: str | None = None,
             fresh: bool = False) -> tuple[int, dict | None]:
        """One POST; a twin request (fresh=True) gets a connection of its own. Status 0: no response."""
        headers = {**self.headers, **({"Idempotency-Key": key} if key else {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60) if fresh else self._conn()
        started = time.perf_counter()
        try:
            conn.request("POST", path, body=json.dumps(body or {}), headers=headers)
            response = conn.getresponse()
            raw = response.read()
            status, data = response.status, (json.loads(raw) if raw else None)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            status, data = 0, {"error": repr(exc)}
            conn.close()
            if not fresh:
                self.conn = None
        if fresh:
            conn.close()
        self.latency[what].append((time.perf_counter() - started) * 1000)
        self.statuses[(what, status)] += 1
        return status, data

    def _conn(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.conn

    def at_once(self, count: int, *args, **kwargs) -> list[tuple[int, dict | None]]:
        results = [None] * count

        def one(i):
            results[i] = self.call(*args, **kwargs, fresh=True)

        twins = [threading.Thread(target=one, args=(i,)) for i in range(count)]
        for twin in twins:
            twin.start()
        for twin in twins:
            twin.join()
        return results

    def next(self) -> tuple[int, dict | None]:
        path = f"/api/projects/{self.project_id}/next/"
        if self.random.random() >= RARE["parallel_next"]:
            return self.call("next", path)
        answers = self.at_once(3, "next", path)
        leases = {data["assignment"] for status, data in answers if status == 200}
        if len(leases) > 1:
            self.wrong.append(f"parallel next answered {len(leases)} different leases")
        return next(((s, d) for s, d in answers if s == 200), answers[0])

    def submit(self, lease: dict) -> None:
        path, key = f"/api/assignments/{lease['assignment']}/submit/", uuid.uuid4().hex
        body = {"chosen": self.random.choice(lease["item"]["responses"])["id"], "strength": self.random.randint(1, 3)}
        twin = self.random.random() < RARE["twin_submit"]
        answers = self.at_once(2, "submit", path, body, key) if twin else [self.call("submit", path, body, key)]
        if self.random.random() < RARE["repeat_submit"]:
            answers.append(self.call("repeat", path, body, key))
        ids = {data["id"] for status, data in answers if status in (200, 201)}
        for status, data in answers:
            if status in (200, 201):
                self.acked[data["id"]] = lease["assignment"]
            elif status < 500 and status != 0:
                self.wrong.append(f"submit answered {status}: {data}")
        if len(ids) > 1:
            self.wrong.append(f"one key acknowledged {len(ids)} different answers")

    def run(self) -> None:
        while time.monotonic() < self.until:
            status, data = self.next()
            if status == 200:
                time.sleep(self.random.uniform(*self.think))
                if time.monotonic() < self.until:
                    self.submit(data)
            elif status == 204:
                self.wrong.append("next answered 204: the project ran out of items (raise --items)")
                return
            else:
                time.sleep(1)  # a failed next is counted; do not hammer
        if self.conn:
            self.conn.close()


def books(project: Project, annotators: list[Annotator]) -> dict:
    """The invariants, from the database and the clients' records."""
    acked = {aid: asg for a in annotators for aid, asg in a.acked.items()}
    with connection.cursor() as cur:
        cur.execute("SELECT id, assignment_id FROM annotation_annotation WHERE project_id = %s", [project.id])
        stored = dict(cur.fetchall())
        cur.execute("""SELECT count(*) FROM (SELECT annotator_id FROM annotation_assignment WHERE project_id = %s
                       AND status = 'leased' GROUP BY annotator_id HAVING count(*) > 1) two""", [project.id])
        (two_leases,) = cur.fetchone()
    counters = check(project, len(acked))
    server_errors = sum(n for a in annotators for (what, status), n in a.statuses.items() if status >= 500 or not status)
    return {
        "items_over_overlap": counters["over_overlap"],
        "duplicate_item_annotator": counters["dup_annotations"] + counters["dup_assignments"],
        "lost_answers": sum(1 for aid, asg in acked.items() if stored.get(aid) != asg),
        "responses_5xx_or_none": server_errors,
        "annotators_with_two_live_leases": two_leases,
        "counter_drift": counters["drift_submitted"] + counters["drift_leased"] + counters["bad_open_slots"],
        "client_visible_errors": sum(len(a.wrong) for a in annotators),
        # Not a fault: a submit whose response never arrived (counted above) may still have been stored.
        "stored_not_acknowledged": len(set(stored) - set(acked)),
    }


def summary(annotators: list[Annotator], seconds: float) -> dict:
    out = {"seconds": round(seconds, 1)}
    statuses = Counter()
    for a in annotators:
        statuses.update(a.statuses)
    out["requests"] = sum(statuses.values())
    out["requests_per_s"] = round(out["requests"] / seconds, 1)
    out["answers_per_s"] = round(sum(len(a.acked) for a in annotators) / seconds, 1)
    out["statuses"] = {f"{what} {status}": n for (what, status), n in sorted(statuses.items())}
    for what in ("next", "submit", "repeat"):
        values = [ms for a in annotators for ms in a.latency[what]]
        if values:
            out[f"{what}_ms"] = {p: round(pct(values, q), 1) for p, q in (("p50", 50), ("p90", 90), ("p99", 99),
                                                                           ("max", 100))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load (default 600)")
    parser.add_argument("--annotators", type=int, default=200, help="simulated annotators (default 200)")
    parser.add_argument("--items", type=int, default=30_000, help="items in the project (default 30000)")
    parser.add_argument("--think", default="0.5,3", help="pause before each submit, uniform min,max seconds")
    parser.add_argument("--port", type=int, default=8101, help="gunicorn's port on 127.0.0.1 (default 8101)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))

    project = project_for(args.items, keep=False)
    tokens = soak_annotators(project, args.annotators)
    shipped = gunicorn_args("shipped", args.port)  # docker-compose.yml's web command, bound to loopback
    print("gunicorn " + " ".join(shipped), flush=True)
    server = gunicorn_start(args.port, args=shipped)
    try:
        started = time.monotonic()
        annotators = [Annotator(args.port, project.id, token, started + args.duration, think, seed=i)
                      for i, token in enumerate(tokens)]
        for a in annotators:
            a.start()
        for a in annotators:
            a.join(args.duration + 300)
        seconds = time.monotonic() - started
    finally:
        gunicorn_stop(server)
    result = {"annotators": args.annotators, "items": args.items, "think_s": think, **summary(annotators, seconds),
              "books": books(project, annotators), "wrong": [w for a in annotators for w in a.wrong][:20]}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    faults = {k: v for k, v in result["books"].items() if v and k != "stored_not_acknowledged"}
    print("soak: every invariant held" if not faults else f"soak: FAILED {faults}")
    sys.exit(1 if faults else 0)


if __name__ == "__main__":
    main()
