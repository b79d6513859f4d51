"""Ours against Label Studio in one run on one machine: the comparison the engine issue asks for.

    bench/labelstudio/setup.sh && bench/labelstudio/serve.sh        # once: Label Studio in its own venv, on uwsgi
    .venv/bin/python bench/side_by_side.py --sizes 10000,100000 --concurrency 1,8,32 --duration 15 --warmup 2 --keep

Runs bench/assign_bench.py, then bench/labelstudio/ls_bench.py with the same sizes and annotator counts, then
bench/import_bench.py (--import-runs times, the median kept), one after the other so that they never share the
CPU; prints one table of cycles/s and `next` latency for both with the ratio, and the import rates. Our side uses
DATABASE_URL (default: the rlhf_bench database on 127.0.0.1). Exits non-zero when our correctness checks fail.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/rlhf_bench"


def run(cmd: list[str], env: dict) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--duration", default="15")
    parser.add_argument("--warmup", default="2")
    parser.add_argument("--keep", action="store_true", help="reuse already imported projects on both sides")
    parser.add_argument("--import-lines", type=int, default=100_000)
    parser.add_argument("--import-runs", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DB)}
    cells = ["--sizes", args.sizes, "--concurrency", args.concurrency, "--duration", args.duration,
             "--warmup", args.warmup, *(["--keep"] if args.keep else [])]
    with tempfile.TemporaryDirectory() as tmp:
        ours_json, ls_json = Path(tmp, "ours.json"), Path(tmp, "ls.json")
        ours_failed = subprocess.run([sys.executable, "bench/assign_bench.py", *cells, "--json", str(ours_json)],
                                     cwd=ROOT, env=env).returncode != 0
        ls_cmd = " ".join([". bench/labelstudio/env.sh && exec", sys.executable, "bench/labelstudio/ls_bench.py",
                           *cells, "--json", str(ls_json)])
        run(["bash", "-c", ls_cmd], env)
        rates = []
        for k in range(args.import_runs):
            out = Path(tmp, f"import-{k}.json")
            run([sys.executable, "bench/import_bench.py", "--lines", str(args.import_lines), "--json", str(out)], env)
            rates.append(json.loads(out.read_text())["rate"])
        ours = {(r["size"], r["k"]): r for r in json.loads(ours_json.read_text())["rows"]}
        ls = json.loads(ls_json.read_text())
    theirs = {(r["size"], r["k"]): r for r in ls["rows"]}

    print("\n| items | annotators | ours cycles/s | ours next p50 / p99 ms | Label Studio cycles/s "
          "| LS next p50 / p99 ms | ours ÷ LS |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for key in sorted(ours):
        o, t = ours[key], theirs.get(key)
        ls_cells = (f"{t['cps']:.1f} | {t['next_p50']:.0f} / {t['next_p99']:.0f} | {o['cps'] / t['cps']:.1f}×"
                    if t else "– | – |")
        print(f"| {key[0]:,} | {key[1]} | {o['cps']:.1f} | {o['next_p50']:.1f} / {o['next_p99']:.1f} | {ls_cells} |")
    ours_rate = statistics.median(rates)
    if not ls.get("imports"):
        print(f"import: ours {ours_rate:,.0f} lines/s; Label Studio's rate is measured only when it imports "
              "(run without --keep)")
    for size, rate in ls.get("imports", {}).items():
        print(f"import: ours {ours_rate:,.0f} lines/s (median of {len(rates)} × {args.import_lines:,}); "
              f"Label Studio {rate:,.0f} tasks/s at {int(size):,} = {ours_rate / rate:.1f}×")
    if ours_failed:
        sys.exit("our correctness checks failed: see the assign_bench output above")


if __name__ == "__main__":
    main()
