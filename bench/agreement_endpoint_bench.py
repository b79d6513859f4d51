"""The agreement endpoint at scale: 1M pairwise answers in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlhf_agreebench .venv/bin/python bench/agreement_endpoint_bench.py \
        [--items 333334] [--rounds 3] [--baseline /path/to/another/checkout]

Fills a project with N items x 3 answers from a pool of annotators straight through COPY
(the import path for items, COPY for answers) once, then VACUUM ANALYZE (what autovacuum would
do; --vacuum does it for a database filled before); a later run reuses it. Then times the
worker's full recompute (load from the database + every statistic + storing each item's
agreement): wall seconds, and CPU seconds of this process and of its PostgreSQL backend
(steadier than wall time on a shared machine; the two run one after the other, so an idle
machine's wall time is about their sum), each round in a fresh interpreter so that its peak
RSS (VmHWM) is its own, and
GET /api/projects/{id}/agreement/ served from the stored report (target: within 1 s).
With --baseline, rounds alternate between this checkout and that one (say, the previous
commit from `git archive`) on the same data, so a shared machine's load falls on both.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

# The code under test: this checkout, or the one a --baseline round points at.
sys.path.insert(0, os.environ.get("BENCH_CODE_ROOT") or str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from annotation.importing import ImportLine  # noqa: E402
from annotation.models import Annotation, Assignment, Item, Project, Prompt, Response  # noqa: E402
from annotation.services.imports import _copy, _next_ids, items_import  # noqa: E402
from annotation.services.quality import agreement_report_get, agreement_run  # noqa: E402


def fill(n_items: int, n_annotators: int, seed: int, name: str) -> Project:
    rng = np.random.default_rng(seed)
    Project.objects.filter(name=name).delete()
    project = Project.objects.create(name=name, kind="pairwise")
    lines = [ImportLine(i, f"b{i}", [{"role": "user", "content": f"q{i}"}],
                        [{"text": f"a{i}" * (1 + i % 5), "model": "x"}, {"text": f"b{i}", "model": "y"}]) for i in range(n_items)]
    items_import(project=project, lines=lines)
    users = [get_user_model().objects.create_user(f"bench{project.id}-{k}") for k in range(n_annotators)]
    items = list(Item.objects.filter(project=project).order_by("id").values_list("id", "response_ids"))
    truth = rng.choice([-1, 1], size=n_items)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        n = n_items * 3
        a_ids, n_ids = _next_ids(raw, Assignment, n), _next_ids(raw, Annotation, n)
        rows_a, rows_n = [], []
        for i, (item_id, response_ids) in enumerate(items):
            coders = rng.choice(n_annotators, size=3, replace=False)
            for j, coder in enumerate(coders):
                k = i * 3 + j
                right = rng.random() < 0.75
                pref = int(truth[i] * (1 if right else -1) * rng.integers(1, 4))
                shown = response_ids if rng.random() < 0.5 else response_ids[::-1]
                at = now - timedelta(seconds=int(rng.integers(0, 30 * 86400)))
                rows_a.append((a_ids[k], project.id, item_id, users[coder].id, "submitted", str(shown), at, at, at, ""))
                rows_n.append((n_ids[k], project.id, item_id, users[coder].id, a_ids[k], pref, False, "", "{}", "", "[]",
                               int(rng.integers(2000, 60000)), str(shown), at, at))
        _copy(raw, Assignment, ["id", "project_id", "item_id", "annotator_id", "status", "shown_order", "created_at",
                                "expires_at", "finished_at", "skip_reason"], rows_a)
        _copy(raw, Annotation, ["id", "project_id", "item_id", "annotator_id", "assignment_id", "preference", "both_bad",
                                "text", "criteria", "rationale", "flags", "time_spent_ms", "shown_order", "created_at",
                                "updated_at"], rows_n)
        Item.objects.filter(project=project).update(n_submitted=3, open_slots=0)
    vacuum()
    return project


def vacuum() -> None:
    """What autovacuum does after a bulk load (this machine's server runs with it off): without it the answers'
    stamp (an index-only count) visits every heap page, and the planner believes the items are three times as many."""
    with connection.cursor() as cursor:
        for model in (Annotation, Assignment, Item, Response, Prompt):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def _backend_cpu_s() -> float:
    from pg_cpu import backend_cpu_s  # this script's folder (see pg_cpu)

    return backend_cpu_s(connection)


def recompute(project_id: int) -> dict:
    """One recompute of the default report, timed by phase (in a fresh interpreter: see --step)."""
    from annotation.services import quality

    project = Project.objects.get(pk=project_id)
    report = agreement_report_get(project=project, filters={})
    phases: dict[str, float] = {}
    if hasattr(quality, "answers_load"):  # time the load alone too, so the rest is the statistics and the store
        t = time.perf_counter()
        quality.answers_load(project, {})
        phases["load_s"] = round(time.perf_counter() - t, 2)
    t, cpu, pg_cpu = time.perf_counter(), time.process_time(), _backend_cpu_s()
    agreement_run(report_id=report.pk)
    phases["recompute_s"] = round(time.perf_counter() - t, 2)
    # CPU, the steadier measure on a shared machine: this process's and its PostgreSQL backend's. The recompute
    # runs one after the other in the two, so on an idle machine its wall time is about their sum.
    phases["cpu_s"] = round(time.process_time() - cpu, 2)
    phases["pg_cpu_s"] = round(_backend_cpu_s() - pg_cpu, 2)
    phases["both_cpu_s"] = round(phases["cpu_s"] + phases["pg_cpu_s"], 2)
    # VmHWM, not ru_maxrss: the latter survives exec, so a child of the big filling process would report its peak.
    with open("/proc/self/status") as status:
        phases["peak_rss_mib"] = next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmHWM"))
    return phases


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=333_334)
    parser.add_argument("--annotators", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="another checkout whose recompute alternates with this one's")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM ANALYZE the tables first (a database filled "
                        "before the fill did so)")
    parser.add_argument("--step-recompute", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run this against PostgreSQL (DATABASE_URL)"
    if args.step_recompute:
        print(json.dumps(recompute(args.step_recompute)))
        return
    name = f"agreement bench {args.items} x 3"
    project = Project.objects.filter(name=name).first()
    if project is None or Annotation.objects.filter(project=project).count() != args.items * 3:
        t0 = time.perf_counter()
        project = fill(args.items, args.annotators, seed=0, name=name)
        print(f"filled {args.items * 3:,} answers in {time.perf_counter() - t0:.1f} s")
    elif args.vacuum:
        vacuum()
    sides = {"this checkout": str(Path(__file__).resolve().parent.parent)}
    if args.baseline:
        sides["baseline"] = str(Path(args.baseline).resolve())
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for round_ in range(args.rounds):
        for side, root in sides.items():
            out = subprocess.run([sys.executable, __file__, "--step-recompute", str(project.pk)], cwd=root,
                                 env={**os.environ, "BENCH_CODE_ROOT": root}, check=True, capture_output=True,
                                 text=True).stdout
            results[side].append(json.loads(out.splitlines()[-1]))
            print(f"round {round_ + 1} {side}: {results[side][-1]}, load {os.getloadavg()[0]:.1f}", flush=True)
    for side, rows in results.items():
        print(f"{side}: " + ", ".join(f"{key} median {statistics.median(r[key] for r in rows)} "
                                      f"[{min(r[key] for r in rows)}-{max(r[key] for r in rows)}]"
                                      for key in rows[0]))
    lead = get_user_model().objects.get_or_create(username=f"bench-lead-{project.id}", defaults={"is_staff": True})[0]
    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(lead)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        r = client.get(f"/api/projects/{project.id}/agreement/")
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    times.sort()
    print(f"GET agreement: p50 {times[10] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms over 20 requests "
          f"({len(r.content) / 1024:.0f} KiB, status {r.json()['status']})")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
