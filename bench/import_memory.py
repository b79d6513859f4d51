"""Peak memory of an import against the size of the file: the importing process, one fresh process per file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlhf_bench .venv/bin/python bench/import_memory.py --mb 5 20 50

Each file is pairwise JSONL (about 1.1 kB a line; ``--formats csv json`` for the same lines as CSV or as one
JSON document) written to a temporary folder; each import runs in its own
subprocess through the same path as the API's file upload (importing.records -> items_import_records), and that
process reports its peak resident set (resource.getrusage ru_maxrss) before and after the import. ``--whole``
also runs the path the API took before streaming (read the file, parse every line, then write), for comparison.
``--http`` uploads each file instead to a fresh gunicorn (one sync worker, as docker-compose.yml runs them) as a
multipart POST /api/projects/{id}/import/, and reads that worker's peak resident set (VmHWM) before and after.
"""

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def line(n: int) -> dict:
    return {
        "external_id": f"mem-{n}",
        "conversation": [{"role": "user", "content": f"Explain topic {n} in a few sentences, please. " * 4}],
        "responses": [{"text": f"Topic {n} is about X. It matters because Y. " * 10, "model": "sft-v1"},
                      {"text": f"Topic {n}? Not sure, maybe Z. " * 8, "model": "base-7b"}],
        "metadata": {"source": "bench", "n": n},
    }


def write_file(path: Path, megabytes: float) -> int:
    """Lines of about 1.1 kB until the file reaches ``megabytes``, as JSONL, CSV or one JSON document."""
    target, n = int(megabytes * 1_000_000), 0
    with path.open("w", encoding="utf-8", newline="") as f:
        rows = csv.writer(f)
        if path.suffix == ".csv":
            rows.writerow(["external_id", "prompt", "response_1", "model_1", "response_2", "model_2", "metadata"])
        elif path.suffix == ".json":
            f.write('{"items": [\n')
        while f.tell() < target:
            obj = line(n)
            if path.suffix == ".csv":
                a, b = obj["responses"]
                rows.writerow([obj["external_id"], obj["conversation"][0]["content"], a["text"], a["model"], b["text"],
                               b["model"], json.dumps(obj["metadata"])])
            else:
                f.write(("," if n and path.suffix == ".json" else "") + json.dumps(obj) + "\n")
            n += 1
        if path.suffix == ".json":
            f.write("]}\n")
    return n


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child(file: Path, whole: bool) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    import django

    django.setup()
    from annotation import importing
    from annotation.models import Project
    from annotation.services.imports import import_limits, items_import, items_import_records

    project = Project.objects.create(name=f"import memory {time.time():.3f}", kind="pairwise")
    before = peak_mb()
    t0 = time.perf_counter()
    if whole:
        lines = importing.validate_lines(importing.parse_upload(file.read_bytes(), file.name), kind="pairwise",
                                         responses_per_item=2)
        result = items_import(project=project, lines=lines)
    else:
        errors = importing.Errors()
        with file.open("rb") as stream:
            result = items_import_records(project=project, records=importing.records(stream, file.name, errors,
                                                                                     import_limits()), errors=errors)
    seconds = time.perf_counter() - t0
    print(json.dumps({"created": result["created"], "seconds": seconds, "before_mb": before, "peak_mb": peak_mb()}))
    project.delete()


def _worker_peak_mb(master: int) -> float:
    (worker,) = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    status = Path(f"/proc/{worker}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def run_http(file: Path, port: int = 18461) -> dict:
    """Upload the file to a fresh one-worker gunicorn; the worker's peak RSS before and after."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from annotation.models import Project
    from bench import cycles

    project = Project.objects.create(name=f"import memory http {time.time():.3f}", kind="pairwise")
    lead, _ = get_user_model().objects.get_or_create(username="bench-lead", defaults={"is_staff": True})
    token = Token.objects.get_or_create(user=lead)[0].key
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "rlhf_site.wsgi:application", "--workers", "1",
                               "--timeout", "300", "--bind", f"127.0.0.1:{port}"], cwd=ROOT)
    try:
        _wait_until_up(port)
        before = _worker_peak_mb(server.pid)
        boundary = "import-memory-bench"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file.name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        body = head + file.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        t0 = time.perf_counter()
        status, answer = cycles.request(port, "POST", f"/api/projects/{project.id}/import/", body, timeout=600, headers={
            "Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        seconds = time.perf_counter() - t0
        assert status == 201, (status, answer)
        return {"created": answer["created"], "seconds": seconds, "before_mb": before,
                "peak_mb": _worker_peak_mb(server.pid)}
    finally:
        server.terminate()
        server.wait(30)
        project.delete()


def _wait_until_up(port: int) -> None:
    from bench import cycles

    for _ in range(300):
        try:
            cycles.request(port, "GET", "/api/auth/me/", timeout=5)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not answer")


def run(file: Path, whole: bool) -> dict:
    args = [sys.executable, __file__, "--child", str(file)] + (["--whole"] if whole else [])
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, nargs="+", default=[5, 20, 50])
    parser.add_argument("--whole", action="store_true", help="also measure the read-it-all path, for comparison")
    parser.add_argument("--formats", nargs="+", default=["jsonl"], choices=["jsonl", "csv", "json"])
    parser.add_argument("--http", action="store_true", help="upload each file to gunicorn instead (multipart)")
    parser.add_argument("--port", type=int, default=18461, help="gunicorn's port, with --http")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.whole)
    print("| file | lines | path | seconds | RSS before import | peak RSS | growth |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.mb:
            for fmt in args.formats:
                file = Path(tmp) / f"import-{mb:g}mb.{fmt}"
                n = write_file(file, mb)
                for whole in [False, True] if args.whole and fmt == "jsonl" else [False]:
                    r = run_http(file, args.port) if args.http else run(file, whole)
                    assert r["created"] == n, r
                    how = "read whole" if whole else ("item by item" if fmt == "json" else "streamed")
                    how += ", over HTTP" if args.http else ""
                    print(f"| {file.stat().st_size / 1e6:.1f} MB {fmt} | {n:,} | {how} | {r['seconds']:.1f} | "
                          f"{r['before_mb']:.0f} MB | {r['peak_mb']:.0f} MB | {r['peak_mb'] - r['before_mb']:.0f} MB |",
                          flush=True)
                file.unlink()

if __name__ == "__main__":
    main()
