"""Assignment engine under load: next -> submit cycles through gunicorn on PostgreSQL.

    .venv/bin/python bench/assign_bench.py --sizes 10000,100000,1000000 --concurrency 1,8,32 --duration 20

Sets up (in the database ``rlhf_bench``, created and migrated if missing) one pairwise project per
size, overlap 3, with annotator users and tokens; starts gunicorn on 127.0.0.1; drives K annotator
threads (bench/cycles.py: a new connection per request), each looping POST next -> POST submit for
--duration seconds (after --warmup seconds not counted); reports the answers stored per second in the
window and next/submit latency p50/p99; then checks the counters in the database
(no item over the overlap, n_submitted == answers per item, n_leased == live leases, no duplicate
(item, annotator)). Between cells the project's assignments and answers are deleted and the touched
items' counters reset, so each cell starts from an untouched project. ``--keep`` reuses an existing
project of that size (by name) instead of re-importing it. ``--explain`` prints EXPLAIN ANALYZE of the
claim query of ``next`` for each size. Only talks to localhost.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/rlhf_bench"
os.environ.setdefault("DATABASE_URL", DEFAULT_DB)
os.environ.setdefault("SECRET_KEY", "assign-bench-not-secret-only-for-the-bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
PASSWORD = "bench-password-1"
OVERLAP = 3


def ensure_database() -> None:
    """Create the bench database if missing and run our migrations against it."""
    import psycopg

    url = os.environ["DATABASE_URL"]
    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", flush=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True)


ensure_database()

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from annotation import importing  # noqa: E402
from annotation.models import Item, Membership, Project  # noqa: E402
from annotation.services import assignments as engine  # noqa: E402
from annotation.services.imports import items_import  # noqa: E402
from bench import cycles  # noqa: E402

User = get_user_model()


# ---------------------------------------------------------------- set-up

def make_lines(n: int, start: int = 0) -> list[dict]:
    return [
        {
            "external_id": f"assign-{i}",
            "conversation": [{"role": "user", "content": f"Explain topic {i} in two sentences, please."}],
            "responses": [{"text": f"Topic {i} is about X. It matters because Y.", "model": "sft-v1"},
                          {"text": f"Topic {i}? Not sure, maybe Z.", "model": "base-7b"}],
            "metadata": {"n": i},
        }
        for i in range(start, start + n)
    ]


def project_for(size: int, keep: bool) -> Project:
    name = f"assign bench {size}"
    project = Project.objects.filter(name=name).first()
    if project and keep and Item.objects.filter(project=project).count() == size:
        print(f"[{size}] reusing project {project.id}", flush=True)
        return project
    if project:
        print(f"[{size}] deleting old project {project.id}", flush=True)
        delete_project(project)
    project = Project.objects.create(name=name, kind="pairwise", annotations_per_item=OVERLAP)
    t0 = time.perf_counter()
    chunk = 200_000
    for start in range(0, size, chunk):
        lines = importing.validate_lines(list(enumerate(make_lines(min(chunk, size - start), start), start + 1)), kind="pairwise",
                                         responses_per_item=2)
        items_import(project=project, lines=lines)
    dt = time.perf_counter() - t0
    with connection.cursor() as cur:
        for table in ("annotation_item", "annotation_prompt", "annotation_response"):
            cur.execute(f"ANALYZE {table}")
    print(f"[{size}] imported {size} items in {dt:.1f} s ({size / dt:,.0f}/s)", flush=True)
    return project


def delete_project(project: Project) -> None:
    with connection.cursor() as cur:  # ORM cascade over 1M rows is slow; delete in SQL
        for table in ("annotation_annotation", "annotation_assignment", "annotation_item", "annotation_membership"):
            cur.execute(f"DELETE FROM {table} WHERE project_id = %s", [project.id])
        cur.execute("DELETE FROM annotation_response WHERE prompt_id IN "
                    "(SELECT id FROM annotation_prompt WHERE project_id = %s)", [project.id])
        cur.execute("DELETE FROM annotation_prompt WHERE project_id = %s", [project.id])
    project.delete()


def annotators(project: Project, k: int) -> list[str]:
    tokens = []
    for i in range(k):
        user, created = User.objects.get_or_create(username=f"bench-annotator-{i}")
        if created:
            user.set_password(PASSWORD)
            user.save()
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": "annotator"})
        tokens.append(Token.objects.get_or_create(user=user)[0].key)
    return tokens


def reset(project: Project) -> None:
    """Forget every lease and answer in the project; put the touched items back to untouched."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE annotation_item SET n_submitted = 0, n_leased = 0, open_slots = %s, agreement = NULL "
            "WHERE id IN (SELECT item_id FROM annotation_assignment WHERE project_id = %s)",
            [OVERLAP, project.id],
        )
        cur.execute("DELETE FROM annotation_annotation WHERE project_id = %s", [project.id])
        cur.execute("DELETE FROM annotation_assignment WHERE project_id = %s", [project.id])
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE annotation_item")
        cur.execute("VACUUM ANALYZE annotation_assignment")
        cur.execute("VACUUM ANALYZE annotation_annotation")


# ---------------------------------------------------------------- server

def gunicorn_start(port: int, workers: int = 4, threads: int = 1, *,
                   args: list[str] | None = None) -> subprocess.Popen:
    """gunicorn on 127.0.0.1:port with these workers and threads, or with `args` exactly (say, the shipped ones)."""
    cmd = [sys.executable, "-m", "gunicorn", *args] if args else [
        sys.executable, "-m", "gunicorn", "rlhf_site.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--keep-alive", "30", "--log-level", "warning"]
    if threads > 1 and not args:
        cmd += ["--worker-class", "gthread"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/auth/me/")
            conn.getresponse().read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited at start-up") from None
            time.sleep(0.3)
    gunicorn_stop(proc)
    raise SystemExit("gunicorn did not answer within 60 s")


def gunicorn_stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


# ---------------------------------------------------------------- driver (bench/cycles.py's loop)

def side(project: Project, port: int, headers: dict | None = None) -> cycles.Side:
    """Our next and submit over HTTP, answers counted from our database."""
    def call(token: str, path: str, body=None):
        return cycles.request(port, "POST", path, body, headers={**(headers or {}), "Authorization": f"Token {token}"})

    def next_(token):
        status, data = call(token, f"/api/projects/{project.id}/next/")
        return status, ((data["assignment"], data["item"]["responses"][0]["id"]) if status == 200 else None)

    def submit(token, handle):
        return call(token, f"/api/assignments/{handle[0]}/submit/", {"chosen": handle[1], "strength": 2})[0]

    dsn = os.environ["DATABASE_URL"].replace("postgres://", "postgresql://")
    return cycles.Side("ours", next_, submit, cycles.stored_between(dsn, "annotation_annotation", project.id),
                       done_status=204)


# ---------------------------------------------------------------- checks

def check(project: Project, client_submitted: int) -> dict:
    pid = project.id
    q = {
        "over_overlap": "SELECT count(*) FROM annotation_item WHERE project_id=%s AND n_submitted > %s",
        "drift_submitted": """SELECT count(*) FROM annotation_item i LEFT JOIN
            (SELECT item_id, count(*) n FROM annotation_annotation WHERE project_id=%s GROUP BY item_id) a
            ON a.item_id = i.id WHERE i.project_id=%s AND i.n_submitted <> coalesce(a.n, 0)""",
        "drift_leased": """SELECT count(*) FROM annotation_item i LEFT JOIN
            (SELECT item_id, count(*) n FROM annotation_assignment WHERE project_id=%s AND status='leased'
             GROUP BY item_id) a ON a.item_id = i.id WHERE i.project_id=%s AND i.n_leased <> coalesce(a.n, 0)""",
        "bad_open_slots": "SELECT count(*) FROM annotation_item WHERE project_id=%s "
                          "AND open_slots <> %s - n_submitted - n_leased AND NOT is_gold",
        "dup_annotations": "SELECT count(*) FROM (SELECT item_id, annotator_id FROM annotation_annotation "
                           "WHERE project_id=%s GROUP BY 1, 2 HAVING count(*) > 1) d",
        "dup_assignments": "SELECT count(*) FROM (SELECT item_id, annotator_id FROM annotation_assignment "
                           "WHERE project_id=%s GROUP BY 1, 2 HAVING count(*) > 1) d",
        "annotations": "SELECT count(*) FROM annotation_annotation WHERE project_id=%s",
    }
    params = {
        "over_overlap": [pid, OVERLAP], "drift_submitted": [pid, pid], "drift_leased": [pid, pid],
        "bad_open_slots": [pid, OVERLAP],
    }
    out = {}
    with connection.cursor() as cur:
        for name, sql in q.items():
            cur.execute(sql, params.get(name, [pid]))
            out[name] = cur.fetchone()[0]
    out["client_submitted"] = client_submitted
    out["ok"] = (out["over_overlap"] == out["drift_submitted"] == out["drift_leased"] == out["bad_open_slots"]
                 == out["dup_annotations"] == out["dup_assignments"] == 0
                 and out["annotations"] == client_submitted)
    return out


def explain(project: Project, username: str) -> str:
    """EXPLAIN ANALYZE of every SELECT that `next` runs for this annotator (the call itself rolled back)."""
    from django.test.utils import CaptureQueriesContext

    user = User.objects.get(username=username)
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            engine.assignment_next(project=project, user=user)
        transaction.set_rollback(True)
    plans = []
    with transaction.atomic(), connection.cursor() as cur:
        for query in captured.captured_queries:
            if query["sql"].lstrip().startswith(("SELECT", "WITH")):
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
                plans.append(query["sql"][:200] + " ...\n" + "\n".join(row[0] for row in cur.fetchall()))
        transaction.set_rollback(True)
    return "\n\n".join(plans)


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each cell")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (gthread when > 1; sync when 1)")
    parser.add_argument("--port", type=int, default=8031)
    parser.add_argument("--keep", action="store_true", help="reuse an existing project of that size")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the claim query")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    levels = [int(k) for k in args.concurrency.split(",")]
    assert all(0 < k <= 64 for k in levels) and 0 < args.duration <= 600

    print(f"database {connection.settings_dict['NAME']}; gunicorn {args.workers} workers x {args.threads} threads; "
          f"{args.duration:.0f} s per cell after {args.warmup:.0f} s warm-up", flush=True)
    projects = {size: project_for(size, args.keep) for size in sizes}
    tokens = {size: annotators(projects[size], max(levels)) for size in sizes}
    connection.close()
    server = gunicorn_start(args.port, args.workers, args.threads)
    rows, plans = [], {}
    try:
        for size in sizes:
            project = projects[size]
            for k in levels:
                reset(project)
                connection.close()
                r = cycles.drive(side(project, args.port), tokens[size][:k], args.warmup, args.duration)
                r.update(size=size, k=k, check=check(project, r["submitted"]))
                rows.append(r)
                print(cycles.cell_line(f"{size} items, {k} annotators", r), flush=True)
                if args.explain:
                    # As annotator 0 in the state the cell left: it has answered many items.
                    plans[f"{size:,} items, after the {k}-annotator cell"] = explain(project, "bench-annotator-0")
    finally:
        gunicorn_stop(server)

    print("\n" + cycles.cells_table(rows, {
        "over overlap": lambda c: c["over_overlap"],
        "counter drift": lambda c: c["drift_submitted"] + c["drift_leased"] + c["bad_open_slots"],
        "duplicates": lambda c: c["dup_annotations"] + c["dup_assignments"]}))
    for label, plan in plans.items():
        print(f"\nEXPLAIN ANALYZE, claim query of next as bench-annotator-0, {label}:\n{plan}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "plans": plans}, indent=1, default=str))
    if not all(r["check"]["ok"] for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
