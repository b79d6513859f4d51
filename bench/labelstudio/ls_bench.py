"""Label Studio side of the assignment benchmark: the same cells as bench/assign_bench.py.

    . bench/labelstudio/env.sh
    .venv/bin/python bench/labelstudio/ls_bench.py --sizes 10000,100000 --concurrency 1,8,32 --duration 20

Talks to a Label Studio already served on 127.0.0.1:$LS_PORT (serve.sh) through its API only:
creates a pairwise project (maximum_annotations=3, overlap_cohort_percentage=100), imports N tasks
through POST /api/projects/{id}/import in chunks (reports tasks/s), then drives K annotators (bench/cycles.py's loop,
a new connection per request), each looping GET /api/projects/{id}/next/ -> POST /api/tasks/{id}/annotations/. Before each cell the
project's annotations and locks are deleted and task counters zeroed in SQL (state reset only);
after it, the database is checked: tasks over the overlap, total_annotations vs real answer count
(counter drift), is_labeled vs the count, duplicate (task, annotator). Stdlib + psycopg only.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench import cycles  # noqa: E402

PORT = int(os.environ.get("LS_PORT", "8032"))
ADMIN_TOKEN = os.environ.get("LS_ADMIN_TOKEN", "0123456789abcdef0123456789abcdef01234567")
DB = f"postgresql://postgres@127.0.0.1:5432/{os.environ.get('POSTGRE_NAME', 'labelstudio')}"
DATA_DIR = Path(os.environ.get("LABEL_STUDIO_BASE_DATA_DIR", "/tmp/ls-data"))
OVERLAP = 3
LABEL_CONFIG = """<View>
  <Header value="$prompt"/>
  <Text name="answer1" value="$answer1"/>
  <Text name="answer2" value="$answer2"/>
  <Pairwise name="comparison" toName="answer1,answer2"/>
</View>"""
RESULT = [{"from_name": "comparison", "to_name": "answer1", "type": "pairwise", "value": {"selected": "left"}}]


def api(method: str, path: str, body=None, token: str = ADMIN_TOKEN):
    return cycles.request(PORT, method, path, body, headers={"Authorization": f"Token {token}"}, timeout=600)


def ls_task(i: int) -> dict:
    """Item i as a task: the texts of bench/cycles.py (200/600/600 characters), as our side imports them."""
    prompt, a, b = cycles.pair(i)
    return {"data": {"prompt": prompt, "answer1": a, "answer2": b}}


def project_for(size: int, keep: bool, chunk: int, title: str | None = None) -> tuple[int, float | None]:
    title = title or f"ls bench {size}"
    st, data = api("GET", "/api/projects/?page_size=1000")
    found = [p for p in data["results"] if p["title"] == title]
    with psycopg.connect(DB) as db:
        for p in found:
            n = db.execute("SELECT count(*) FROM task WHERE project_id=%s", [p["id"]]).fetchone()[0]
            if keep and n == size:
                print(f"[{size}] reusing Label Studio project {p['id']}", flush=True)
                return p["id"], None
    for p in found:
        api("DELETE", f"/api/projects/{p['id']}/")
    st, p = api("POST", "/api/projects/", {
        "title": title, "label_config": LABEL_CONFIG, "maximum_annotations": OVERLAP,
        "overlap_cohort_percentage": 100, "sampling": "Sequential sampling", "show_skip_button": False})
    assert st == 201, (st, p)
    bodies = [json.dumps([ls_task(i) for i in range(start, min(size, start + chunk))]).encode()
              for start in range(0, size, chunk)]  # encoded before the clock starts, as our side does
    t0 = time.perf_counter()
    for body in bodies:
        st, r = api("POST", f"/api/projects/{p['id']}/import", body)
        assert st == 201, (st, r)
    dt = time.perf_counter() - t0
    with psycopg.connect(DB) as db:
        n = db.execute("SELECT count(*) FROM task WHERE project_id=%s", [p["id"]]).fetchone()[0]
    assert n == size, (n, size)
    print(f"[{size}] Label Studio import: {size} tasks in {dt:.1f} s = {size / dt:,.0f} tasks/s "
          f"(chunks of {chunk} per request)", flush=True)
    return p["id"], size / dt


def reset(pid: int) -> None:
    with psycopg.connect(DB) as db:
        db.execute("DELETE FROM task_completion WHERE project_id=%s", [pid])
        db.execute("DELETE FROM tasks_tasklock WHERE task_id IN (SELECT id FROM task WHERE project_id=%s)", [pid])
        db.execute("DELETE FROM tasks_annotationdraft WHERE task_id IN (SELECT id FROM task WHERE project_id=%s)",
                   [pid])
        db.execute("UPDATE task SET total_annotations=0, cancelled_annotations=0, is_labeled=false "
                   "WHERE project_id=%s AND (total_annotations<>0 OR cancelled_annotations<>0 OR is_labeled)", [pid])
    with psycopg.connect(DB, autocommit=True) as db:
        db.execute("VACUUM ANALYZE task")
        db.execute("VACUUM ANALYZE task_completion")


def side(pid: int) -> cycles.Side:
    """Label Studio's next and annotation create over HTTP (bench/cycles.py's loop), answers counted from its database."""
    def next_(token):
        status, task = cycles.request(PORT, "GET", f"/api/projects/{pid}/next/", headers={"Authorization": f"Token {token}"})
        return status, (task["id"] if status == 200 and isinstance(task, dict) and "id" in task else None)

    def submit(token, task_id):
        return cycles.request(PORT, "POST", f"/api/tasks/{task_id}/annotations/?project={pid}",
                              {"result": RESULT, "lead_time": 1.0, "project": pid},
                              headers={"Authorization": f"Token {token}"})[0]

    return cycles.Side("Label Studio", next_, submit, cycles.stored_between(DB, "task_completion", pid), done_status=404)


def check(pid, client_submitted):
    q = {
        "over_overlap": """SELECT count(*) FROM (SELECT task_id FROM task_completion WHERE project_id=%(p)s
            AND NOT was_cancelled GROUP BY task_id HAVING count(*) > %(o)s) x""",
        "drift_total_annotations": """SELECT count(*) FROM task t LEFT JOIN (SELECT task_id, count(*) n
            FROM task_completion WHERE project_id=%(p)s AND NOT was_cancelled GROUP BY task_id) a ON a.task_id=t.id
            WHERE t.project_id=%(p)s AND t.total_annotations <> coalesce(a.n, 0)""",
        "drift_is_labeled": """SELECT count(*) FROM task t LEFT JOIN (SELECT task_id, count(*) n
            FROM task_completion WHERE project_id=%(p)s AND NOT was_cancelled GROUP BY task_id) a ON a.task_id=t.id
            WHERE t.project_id=%(p)s AND t.is_labeled <> (coalesce(a.n, 0) >= %(o)s)""",
        "dup_annotations": """SELECT count(*) FROM (SELECT task_id, completed_by_id FROM task_completion
            WHERE project_id=%(p)s GROUP BY 1, 2 HAVING count(*) > 1) d""",
        "annotations": "SELECT count(*) FROM task_completion WHERE project_id=%(p)s",
    }
    out = {}
    with psycopg.connect(DB) as db:
        for name, sql in q.items():
            out[name] = db.execute(sql, {"p": pid, "o": OVERLAP}).fetchone()[0]
    out["client_submitted"] = client_submitted
    out["ok"] = (out["over_overlap"] == out["drift_total_annotations"] == out["drift_is_labeled"]
                 == out["dup_annotations"] == 0 and out["annotations"] == client_submitted)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--chunk", type=int, default=10000, help="tasks per import request")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    levels = [int(k) for k in args.concurrency.split(",")]
    tokens = [line.split()[1] for line in (DATA_DIR / "annotators.txt").read_text().splitlines() if line.strip()]
    assert len(tokens) >= max(levels), "run setup.sh with LS_ANNOTATORS >= the highest concurrency"
    assert all(0 < k <= 64 for k in levels) and 0 < args.duration <= 600
    rows, imports = [], {}
    for size in sizes:
        pid, rate = project_for(size, args.keep, args.chunk)
        if rate:
            imports[size] = rate
        for k in levels:
            reset(pid)
            r = cycles.drive(side(pid), tokens[:k], args.warmup, args.duration)
            r.update(size=size, k=k, check=check(pid, r["submitted"]))
            rows.append(r)
            print(cycles.cell_line(f"LS {size} tasks, {k} annotators", r), flush=True)
    print("\n" + cycles.cells_table(rows, {
        "over overlap": lambda c: c["over_overlap"], "total_annotations drift": lambda c: c["drift_total_annotations"],
        "is_labeled drift": lambda c: c["drift_is_labeled"], "duplicates": lambda c: c["dup_annotations"]}))
    for size, rate in imports.items():
        print(f"import {size:,} tasks: {rate:,.0f} tasks/s")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "imports": imports}, indent=1, default=str))


if __name__ == "__main__":
    sys.exit(main())
