"""The agreement endpoint at scale: 1M pairwise answers in PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlhf_agreebench .venv/bin/python bench/agreement_endpoint_bench.py

Fills a project with N items x 3 answers from a pool of annotators straight through COPY
(the import path for items, COPY for answers), then times: the worker's full recompute
(load from the database + every statistic), and GET /api/projects/{id}/agreement/ served
from the stored report (the issue's target: within 1 s at 1M answers).
"""

import argparse
import os
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from annotation.importing import ImportLine  # noqa: E402
from annotation.models import Annotation, Assignment, Item, Project  # noqa: E402
from annotation.services.imports import _copy, _next_ids, items_import  # noqa: E402
from annotation.services.quality import agreement_report_get, agreement_run  # noqa: E402


def fill(n_items: int, n_annotators: int, seed: int) -> Project:
    rng = np.random.default_rng(seed)
    project = Project.objects.create(name=f"agreement bench {time.time():.0f}", kind="pairwise")
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
    return project


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=333_334)
    parser.add_argument("--annotators", type=int, default=100)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "run this against PostgreSQL (DATABASE_URL)"
    t0 = time.perf_counter()
    project = fill(args.items, args.annotators, seed=0)
    print(f"filled {args.items * 3:,} answers in {time.perf_counter() - t0:.1f} s")
    report = agreement_report_get(project=project, filters={})
    t1 = time.perf_counter()
    agreement_run(report_id=report.pk)
    recompute = time.perf_counter() - t1
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lead = get_user_model().objects.create_user(f"bench-lead-{project.id}", is_staff=True)
    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(lead)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        r = client.get(f"/api/projects/{project.id}/agreement/")
        times.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.json()["status"] == "ready", r.status_code
    times.sort()
    print(f"worker recompute (load + statistics + item agreement): {recompute:.1f} s, peak RSS {rss:.0f} MiB")
    print(f"GET agreement: p50 {times[10] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms over 20 requests "
          f"({len(r.content) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
