"""Time a dataset snapshot of a million pairwise answers on PostgreSQL: rows/s and peak memory.

    .venv/bin/python bench/snapshot_bench.py [--answers 1000000] [--database rlhf_snapbench] [--parquet] \
        [--rounds 3] [--baseline /path/to/another/checkout]

The answers go straight into a dedicated database (created and migrated if missing) with
COPY, once: 3 answers per item from a pool of 100 simulated annotators, ~10% ties, ~5%
both-bad. Then the snapshot is built in a fresh interpreter (this script re-invoked with
--step build) through the same service the worker runs, `snapshot_build`, so that its peak
RSS is the build's own. The build's progress callback samples RSS after every chunk of
items, which shows whether the streaming part stays flat. With --baseline, build rounds
alternate between this checkout and that one (say, the previous commit from `git archive`)
on the same data, so a shared machine's load falls on both alike.

Connection: --host/--port/--user (default 127.0.0.1:5432, postgres).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CODE_ROOT = os.environ.get("BENCH_CODE_ROOT") or str(ROOT)  # the code under test: this checkout or a --baseline
sys.path.insert(0, CODE_ROOT)
WORDS = ("the model answer gives a clear and careful explanation of why this matters with an example "
         "and a short summary so that a reader can follow each step without prior knowledge").split()


def _vm_hwm_mib() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would carry over a parent's peak across exec)."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM"))


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _django(args) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{args.database}"
    os.environ["ARTIFACT_ROOT"] = str(args.artifacts)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    import django

    django.setup()


def ensure_database(args) -> None:
    import psycopg

    with psycopg.connect(host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.database]).fetchone():
            conn.execute(f'CREATE DATABASE "{args.database}"')
    env = {**os.environ, "DATABASE_URL": f"postgres://{args.user}@{args.host}:{args.port}/{args.database}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)


def _reserve_ids(cursor, table: str, n: int) -> np.ndarray:
    """n fresh ids from the table's sequence in one statement (the bench database has no other writer)."""
    cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                   [table, table, n])
    last = cursor.fetchone()[0]
    return np.arange(last - n + 1, last + 1, dtype=np.int64)


def _text(rng, n_words: int, prefix: str) -> str:
    return prefix + " ".join(WORDS[i] for i in rng.integers(0, len(WORDS), n_words))


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f'COPY {table} ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def generate(args) -> dict:
    """The project and its answers, unless a project of that name already holds them."""
    _django(args)
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from annotation.models import Annotation, Item, Project, Prompt, Response

    name = f"snapshot bench {args.answers}"
    existing = Project.objects.filter(name=name).first()
    if existing and Annotation.objects.filter(project=existing).count() == args.answers:
        return {"generated": False, "project": existing.pk}
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    n_items, per_item, pool = -(-args.answers // 3), 3, 100
    User = get_user_model()
    with transaction.atomic():
        if existing:
            existing.delete()
        users = [User.objects.get_or_create(username=f"bench-annotator-{i}", defaults={"password": "!"})[0].pk
                 for i in range(pool)]
        project = Project.objects.create(name=name, kind="pairwise", annotations_per_item=per_item)
        with connection.cursor() as django_cursor:
            cursor = django_cursor.cursor
            ids = {m: _reserve_ids(cursor, m._meta.db_table, n) for m, n in
                   ((Prompt, n_items), (Response, 2 * n_items), (Item, n_items))}
            now = datetime.now(UTC)
            _copy(cursor, Prompt._meta.db_table, ["id", "project_id", "external_id", "conversation", "metadata", "created_at"],
                  ((int(pid), project.pk, f"bench-{i:07d}",
                    json.dumps([{"role": "user", "content": _text(rng, 25, f"Question {i}: ")}]), "{}", now)
                   for i, pid in enumerate(ids[Prompt])))
            _copy(cursor, Response._meta.db_table, ["id", "prompt_id", "text", "model_name", "source"],
                  ((int(rid), int(ids[Prompt][j // 2]), _text(rng, 60 if j % 2 else 80, f"Answer {j}: "),
                    "sft-v1" if j % 2 else "base-7b", "imported") for j, rid in enumerate(ids[Response])))
            _copy(cursor, Item._meta.db_table, ["id", "project_id", "prompt_id", "response_ids", "is_gold", "n_submitted",
                                                "n_leased", "open_slots", "created_at"],
                  ((int(iid), project.pk, int(ids[Prompt][i]), json.dumps([int(x) for x in ids[Response][2 * i: 2 * i + 2]]),
                    False, per_item, 0, 0, now) for i, iid in enumerate(ids[Item])))
            _copy_answers(cursor, rng, project.pk, ids[Item], ids[Response], users, args.answers)
    connection.cursor().execute("ANALYZE")
    return {"generated": True, "project": project.pk, "seconds": round(time.perf_counter() - started, 1)}


def _copy_answers(cursor, rng, project_id: int, items: np.ndarray, responses: np.ndarray, users: list[int], n: int):
    from annotation.models import Annotation, Assignment

    per_item = 3
    item_index = np.repeat(np.arange(items.size), per_item)[:n]
    annotators = np.array(users)[_distinct(rng, items.size, len(users), per_item).ravel()[:n]]
    truth = rng.choice([-1, 0, 1], size=items.size, p=[0.45, 0.10, 0.45])
    right = rng.random(n) < rng.uniform(0.6, 0.9, len(users))[np.searchsorted(users, annotators)]
    direction = np.where(right, truth[item_index], rng.choice([-1, 0, 1], size=n))
    value = direction * rng.integers(1, 4, size=n)
    both_bad, swap = rng.random(n) < 0.05, rng.random(n) < 0.5
    start = datetime(2026, 10, 1, tzinfo=UTC)
    created = [start + timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 30 * 86400, n))]
    spent = rng.lognormal(10, 0.6, n).astype(np.int64)
    assignment_ids = _reserve_ids(cursor, Assignment._meta.db_table, n)

    def shown(k: int) -> str:
        first, second = (int(r) for r in responses[2 * item_index[k]: 2 * item_index[k] + 2])
        return json.dumps([second, first] if swap[k] else [first, second])

    _copy(cursor, Assignment._meta.db_table, ["id", "project_id", "item_id", "annotator_id", "status", "shown_order",
                                               "created_at", "expires_at", "finished_at", "skip_reason"],
          ((int(assignment_ids[k]), project_id, int(items[item_index[k]]), int(annotators[k]), "submitted", shown(k),
            created[k] - timedelta(milliseconds=int(spent[k])), created[k] + timedelta(hours=1), created[k], "")
           for k in range(n)))
    _copy(cursor, Annotation._meta.db_table, ["project_id", "item_id", "annotator_id", "assignment_id", "preference",
                                               "both_bad", "text", "criteria", "rationale", "flags", "time_spent_ms",
                                               "shown_order", "created_at", "updated_at"],
          ((project_id, int(items[item_index[k]]), int(annotators[k]), int(assignment_ids[k]), int(value[k]),
            bool(both_bad[k]), "", "{}", "", "[]", int(spent[k]), shown(k), created[k], created[k]) for k in range(n)))


def _distinct(rng, n_items: int, pool: int, per_item: int) -> np.ndarray:
    """(n_items, per_item) annotator indexes, distinct within a row."""
    chosen = rng.integers(0, pool, size=(n_items, per_item))
    while True:
        ordered = np.sort(chosen, axis=1)
        clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not clash.any():
            return chosen
        chosen[clash] = rng.integers(0, pool, size=(int(clash.sum()), per_item))


def _server_cpu_s() -> float:
    from django.db import connection
    from pg_cpu import server_cpu_s

    return server_cpu_s(connection)


def build(args) -> dict:
    _django(args)
    from annotation.models import Annotation, Project
    from annotation.services.snapshots import snapshot_build, snapshot_create

    project = Project.objects.get(name=f"snapshot bench {args.answers}")
    answers = Annotation.objects.filter(project=project).count()
    rss_before = _rss_mib()
    pg_started = _server_cpu_s()
    started, times_started = time.perf_counter(), os.times()
    snapshot = snapshot_create(project=project, created_by=None, rules=json.loads(args.rules), test_fraction=0.1,
                               seed=0, options={"parquet": args.parquet}, enqueue=False)
    marks: list[tuple[float, int, float]] = []
    snapshot = snapshot_build(snapshot_id=snapshot.pk,
                              progress=lambda done, total: marks.append((time.perf_counter(), done, _rss_mib())))
    seconds, times = time.perf_counter() - started, os.times()
    # This process's CPU and its workers' (a build split over processes forks them; reaped, they count here).
    cpu = sum(getattr(times, f) - getattr(times_started, f) for f in ("user", "system", "children_user",
                                                                      "children_system"))
    pg_cpu = _server_cpu_s() - pg_started
    assert snapshot.state == "ready", snapshot.error
    streaming_rss = [rss for _, _, rss in marks]
    rows = sum(f["rows"] for f in snapshot.files)
    return {
        # CPU seconds of the build's processes (PostgreSQL's not included): on a shared machine, far steadier
        # than the wall clock, which counts the time spent waiting for a core.
        "answers": answers, "seconds": round(seconds, 1), "cpu_s": round(cpu, 1),
        "rows_per_cpu_s": round(sum(f["rows"] for f in snapshot.files) / cpu),
        # ... and with the PostgreSQL server's CPU over the build.
        "pg_cpu_s": round(pg_cpu, 1), "rows_per_both_cpu_s": round(sum(f["rows"] for f in snapshot.files) / (cpu + pg_cpu)),
        "answers_per_s": round(answers / seconds),
        "rows_written": rows, "rows_per_s": round(rows / seconds),
        "curation_s": round(marks[0][0] - started, 1), "streaming_s": round(marks[-1][0] - marks[0][0], 1),
        "rss_before_mib": round(rss_before), "peak_rss_mib": _vm_hwm_mib(),
        # The largest peak of a worker process (0: none forked); pages shared with this process count in both.
        "workers_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024,
        # RSS after the first chunk, then at each quarter of the items: flat means memory does not grow with them.
        "streaming_rss_mib": [round(streaming_rss[0])] + [round(streaming_rss[min(len(marks) - 1, len(marks) * q // 4)])
                                                          for q in (1, 2, 3, 4)],
        "counts": {k: snapshot.counts[k] for k in ("items", "answers", "pairs", "skipped_ties", "raw_answers")},
        "files": {f["name"]: {"rows": f["rows"], "mib": round(f["bytes"] / 2**20, 1), "sha256": f["sha256"]}
                  for f in snapshot.files},
        "library_version": snapshot.library_version,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--database", default="rlhf_snapbench")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rules", default="{}", help="curation rules as JSON")
    parser.add_argument("--parquet", action="store_true", help="also write Parquet")
    parser.add_argument("--artifacts", type=Path, default=Path("/tmp/snapshot-bench-artifacts"))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--baseline", help="another checkout whose build alternates with this one's")
    parser.add_argument("--step", choices=("generate", "build"))
    args = parser.parse_args()
    if args.step:
        print(json.dumps((generate if args.step == "generate" else build)(args)))
        return
    ensure_database(args)
    common = [f"--{k}={getattr(args, k)}" for k in ("answers", "database", "host", "port", "user", "seed", "rules",
                                                    "artifacts")] + (["--parquet"] if args.parquet else [])
    generated = _step("generate", common, str(ROOT))
    print(f"generate: {json.dumps(generated)}")
    sides = {"this checkout": str(ROOT), **({"baseline": str(Path(args.baseline).resolve())} if args.baseline else {})}
    builds: dict[str, list[dict]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side, root in sides.items():
            builds[side].append(_step("build", common, root))
            row = builds[side][-1]
            print(f"round {round_ + 1} {side}: {row['seconds']} s, {row['rows_per_s']:,} rows/s, {row['cpu_s']} CPU s "
                  f"({row['rows_per_cpu_s']:,} rows per CPU s; with PostgreSQL's {row['pg_cpu_s']} s, "
                  f"{row['rows_per_both_cpu_s']:,}), peak RSS "
                  f"{row['peak_rss_mib']} MiB (workers' {row['workers_peak_rss_mib']} MiB), streaming RSS "
                  f"{row['streaming_rss_mib']}, load {os.getloadavg()[0]:.1f}",
                  flush=True)
            shutil.rmtree(args.artifacts, ignore_errors=True)
    hashes = {json.dumps({name: f["sha256"] for name, f in b["files"].items()}) for bs in builds.values() for b in bs}
    print("every build wrote the same files" if len(hashes) == 1 else f"THE BUILDS WROTE {len(hashes)} DIFFERENT SETS OF FILES")
    for side, rows in builds.items():
        print(f"{side}: " + ", ".join(
            f"{key} median {statistics.median(r[key] for r in rows)} [{min(r[key] for r in rows)}-"
            f"{max(r[key] for r in rows)}]" for key in ("seconds", "rows_per_s", "cpu_s", "rows_per_cpu_s", "pg_cpu_s",
                                                         "rows_per_both_cpu_s", "curation_s", "streaming_s",
                                                         "peak_rss_mib")))
    _print(builds["this checkout"][-1])


def _step(step: str, common: list[str], root: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--step", step, *common], check=True, capture_output=True,
                         text=True, cwd=root, env={**os.environ, "BENCH_CODE_ROOT": root}).stdout
    return json.loads(out.splitlines()[-1])


def _print(build: dict) -> None:
    for name, f in build["files"].items():
        print(f"  {name:<28}{f['rows']:>10,} rows {f['mib']:>9.1f} MiB")


if __name__ == "__main__":
    main()
