"""Import throughput: N pairwise lines through the same path as the API (parse, validate, bulk write).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlhf .venv/bin/python bench/import_bench.py --lines 100000

Prints lines/s for parsing+validation and for the database writes; the issue's target is
100k pairwise lines in under 10 s on PostgreSQL (Label Studio 1.23: about 3,000 tasks/s).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from annotation import importing  # noqa: E402
from annotation.models import Project  # noqa: E402
from annotation.services.imports import items_import  # noqa: E402


def make_jsonl(n: int) -> bytes:
    rows = []
    for i in range(n):
        rows.append(json.dumps({
            "external_id": f"bench-{i}",
            "conversation": [{"role": "user", "content": f"Explain topic {i} in two sentences, please."}],
            "responses": [{"text": f"Topic {i} is about X. It matters because Y." * 3, "model": "sft-v1"},
                          {"text": f"Topic {i}? Not sure, maybe Z.", "model": "base-7b"}],
            "metadata": {"source": "bench", "n": i},
        }))
    return ("\n".join(rows) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    data = make_jsonl(args.lines)
    project = Project.objects.create(name=f"import bench {time.time():.0f}", kind="pairwise")
    t0 = time.perf_counter()
    raw = importing.parse_upload(data, "bench.jsonl")
    lines = importing.validate_lines(raw, kind="pairwise", responses_per_item=2)
    t1 = time.perf_counter()
    result = items_import(project=project, lines=lines)
    t2 = time.perf_counter()
    total = t2 - t0
    print(f"database: {connection.vendor}; file {len(data) / 1e6:.1f} MB; created {result['created']}")
    print(f"parse+validate {t1 - t0:.2f} s; write {t2 - t1:.2f} s; total {total:.2f} s = {args.lines / total:,.0f} lines/s")
    if args.json:
        args.json.write_text(json.dumps({"lines": args.lines, "seconds": total, "rate": args.lines / total}))
    project.delete()
    if connection.vendor == "postgresql":  # leave no dead rows behind for the next bench in this database
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE annotation_prompt, annotation_response, annotation_item")


if __name__ == "__main__":
    main()
