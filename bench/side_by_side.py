"""Ours against Label Studio, measured the same way on both sides, in one run on one machine.

    bench/labelstudio/setup.sh && bench/labelstudio/serve.sh        # once: Label Studio in its own venv, on uwsgi
    .venv/bin/python bench/side_by_side.py --sizes 10000,100000 --annotators 8 --rounds 3 --duration 15

    # gunicorn settings against each other (no Label Studio): the shipped command and the alternatives named
    .venv/bin/python bench/side_by_side.py --sizes 100000 --no-labelstudio \\
        --ours-configs "shipped,sync4=--workers 4,sync4-log=--workers 4 --access-logfile -"

What is the same on both sides (bench/cycles.py): texts of 200/600/600 characters; items imported through each
side's HTTP API in requests of --import-chunk items (timed; --import-rounds extra imports of --import-lines lines
alternate between the sides into throw-away projects; our in-process import, no HTTP, is a separate labelled
line); a new connection per request; answers counted from each database by their created_at inside the measured
window; the load generator's CPU reported. Each cell runs --rounds times, the sides (and our configs) alternating
within a round, so that a shared machine's load falls on all of them alike; the median and range are printed.

Ours is started as docker-compose.yml starts it: the web service's gunicorn command (read from the file, only the
bind address changed), with the compose environment's production settings (DEBUG off, HTTPS behind a proxy: the
driver sends X-Forwarded-Proto as the proxy would). Label Studio is the one serve.sh runs (uwsgi, 4 processes, as
its image does); it stays up, idle, while ours runs, and ours is stopped while Label Studio runs.
Our side uses DATABASE_URL (default: rlhf_bench on 127.0.0.1) and --port.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if "LS_PKG" not in os.environ:  # Label Studio's settings (port, database, tokens) come from its env.sh
    here = Path(__file__).resolve()
    os.execvp("bash", ["bash", "-c", f'. {ROOT}/bench/labelstudio/env.sh && exec "$0" "$@"', sys.executable,
                       str(here), *sys.argv[1:]])
OURS_DB = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/rlhf_bench")
SECRET = "side-by-side-bench-secret-key-not-for-production-0123456789"
os.environ.update(DATABASE_URL=OURS_DB, SECRET_KEY=SECRET)  # env.sh set Label Studio's own
sys.path.insert(0, str(ROOT))

from bench import assign_bench as ours  # noqa: E402  (sets Django up on OURS_DB)
from bench import cycles, server_time  # noqa: E402
from bench.cycles import gunicorn_args  # noqa: E402
from bench.labelstudio import ls_bench as ls  # noqa: E402

# ---------------------------------------------------------------- our server, as docker-compose.yml starts it

def ours_env(artifacts: Path) -> dict:
    """docker-compose.yml's app environment, pointed at this machine's database and Redis."""
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    return {**keep, "DATABASE_URL": OURS_DB, "REDIS_URL": redis, "CACHE_URL": redis, "SECRET_KEY": SECRET,
            "DEBUG": "0", "ALLOWED_HOSTS": "localhost,127.0.0.1", "HF_HUB_OFFLINE": "1",
            "SECURE_SSL_REDIRECT": "1", "SECURE_COOKIES": "1", "SECURE_HSTS_SECONDS": "31536000",
            "BEHIND_TLS_PROXY": "1", "ARTIFACT_ROOT": str(artifacts), "DJANGO_SETTINGS_MODULE": "rlhf_site.settings"}


class Server:
    """Ours under gunicorn; with `timed`, the app is wrapped by bench/server_time.py writing into that folder."""

    def __init__(self, config: str, port: int, artifacts: Path, log: Path, timed: Path | None = None):
        self.config, self.port = config, port
        args = gunicorn_args(config, port)
        env = ours_env(artifacts)
        if timed is not None:
            args = ["bench.server_time:application" if a == "rlhf_site.wsgi:application" else a for a in args]
            env.update(SERVER_TIME_DIR=str(timed), SERVER_PROFILE=os.environ.get("SERVER_PROFILE", ""))
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", *args], cwd=ROOT, env=env,
                                     start_new_session=True, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if cycles.request(port, "GET", "/api/schema/", headers=PROXY, timeout=5)[0] == 200:
                    self._wait_for_idle_workers(deadline)
                    return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited at start-up: see {log}")
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not answer within 90 s: see {log}")

    def _wait_for_idle_workers(self, deadline: float) -> None:
        """Until every worker has booted: one answering says nothing of the others, still importing the app at 100%
        CPU, which on this machine would fall inside the measured window, and more of it for more processes."""
        def cpu_ticks() -> dict[int, int]:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            return {int(pid): sum(map(int, Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]))
                    for pid in children}
        before = cpu_ticks()
        while time.time() < deadline:
            time.sleep(0.5)
            now = cpu_ticks()
            if now == before:
                return
            before = now
        raise SystemExit("gunicorn's workers were still busy starting after 90 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


PROXY = {"X-Forwarded-Proto": "https"}


def ours_item(i: int) -> dict:
    prompt, a, b = cycles.pair(i)
    return {"external_id": f"sbs-{i}", "conversation": [{"role": "user", "content": prompt}],
            "responses": [{"text": a, "model": "sft-v1"}, {"text": b, "model": "base-7b"}]}


def _lead_token() -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    lead, _ = get_user_model().objects.get_or_create(username="bench-lead", defaults={"is_staff": True})
    return Token.objects.get_or_create(user=lead)[0].key


def ours_import_http(port: int, project_id: int, n: int, chunk: int) -> float:
    headers = {**PROXY, "Authorization": f"Token {_lead_token()}"}
    bodies = [json.dumps({"items": [ours_item(i) for i in range(start, min(n, start + chunk))]}).encode()
              for start in range(0, n, chunk)]  # encoded before the clock starts, as Label Studio's side does
    t0 = time.perf_counter()
    for body in bodies:
        status, answer = cycles.request(port, "POST", f"/api/projects/{project_id}/import/", body, headers=headers,
                                        timeout=600)
        assert status == 201, (status, answer)
    return n / (time.perf_counter() - t0)


def ours_project(size: int, keep: bool, port: int, chunk: int, log: Path, artifacts: Path) -> tuple:
    from annotation.models import Item, Project

    name = f"side by side {size}"
    project = Project.objects.filter(name=name).first()
    if project and keep and Item.objects.filter(project=project).count() == size:
        return project, None
    if project:
        ours.delete_project(project)
    project = Project.objects.create(name=name, kind="pairwise", annotations_per_item=ours.OVERLAP)
    server = Server("shipped", port, artifacts, log)
    try:
        rate = ours_import_http(port, project.id, size, chunk)
    finally:
        server.stop()
    return project, rate


# ---------------------------------------------------------------- the run

def import_rounds(args, artifacts: Path, log: Path, use_ls: bool) -> dict[str, list[float]]:
    """Extra imports of --import-lines lines into throw-away projects, the sides alternating."""
    from annotation import importing
    from annotation.models import Project
    from annotation.services.imports import items_import

    rates: dict[str, list[float]] = {"ours over HTTP": [], "ours in-process (no HTTP; not comparable)": []}
    if use_ls:
        rates["Label Studio over HTTP"] = []
    server = Server("shipped", args.port, artifacts, log)
    try:
        for _ in range(args.import_rounds):
            project = Project.objects.create(name=f"side by side import {time.time()}", kind="pairwise")
            rates["ours over HTTP"].append(ours_import_http(args.port, project.id, args.import_lines,
                                                            args.import_chunk))
            ours.delete_project(project)
            if use_ls:
                pid, rate = ls.project_for(args.import_lines, False, args.import_chunk, title=f"import {time.time()}")
                rates["Label Studio over HTTP"].append(rate)
                ls.api("DELETE", f"/api/projects/{pid}/")
            project = Project.objects.create(name=f"side by side import {time.time()}", kind="pairwise")
            t0 = time.perf_counter()
            lines = importing.validate_lines(list(enumerate((ours_item(i) for i in range(args.import_lines)), 1)),
                                             kind="pairwise", responses_per_item=2)
            items_import(project=project, lines=lines)
            rates["ours in-process (no HTTP; not comparable)"].append(args.import_lines / (time.perf_counter() - t0))
            ours.delete_project(project)
    finally:
        server.stop()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--annotators", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--ours-configs", default="shipped",
                        help="comma-separated: shipped (docker-compose.yml) or name=gunicorn args")
    parser.add_argument("--no-labelstudio", action="store_true")
    parser.add_argument("--keep", action="store_true", help="reuse already imported projects on both sides")
    parser.add_argument("--import-chunk", type=int, default=10_000, help="items per import request, both sides")
    parser.add_argument("--import-lines", type=int, default=10_000)
    parser.add_argument("--import-rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8151)
    parser.add_argument("--server-time", action="store_true",
                        help="wrap our app in bench/server_time.py: our own wall, CPU and SQL time per request")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    use_ls = not args.no_labelstudio
    configs = args.ours_configs.split(",")
    artifacts, log = Path("/tmp/side-by-side-artifacts"), Path("/tmp/side-by-side-gunicorn.log")
    print(f"ours: gunicorn {' '.join(gunicorn_args('shipped', args.port))} (from docker-compose.yml); "
          f"configs {configs}; {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
    if use_ls:
        ls_tokens = [line.split()[1] for line in (ls.DATA_DIR / "annotators.txt").read_text().splitlines() if line]
    results: list[dict] = []
    imports: dict[str, dict] = {}
    for size in [int(s) for s in args.sizes.split(",") if s]:  # --sizes "": the import rounds only
        project, rate = ours_project(size, args.keep, args.port, args.import_chunk, log, artifacts)
        imports[f"ours over HTTP, {size:,}"] = rate
        tokens = ours.annotators(project, args.annotators)
        sides = [(config, lambda p=project: ours.side(p, args.port, PROXY)) for config in configs]
        if use_ls:
            pid, ls_rate = ls.project_for(size, args.keep, args.import_chunk)
            imports[f"Label Studio over HTTP, {size:,}"] = ls_rate
            sides.append(("Label Studio", lambda pid=pid: ls.side(pid)))
        for round_ in range(args.rounds):
            for config, make in sides:
                if config == "Label Studio":
                    ls.reset(pid)
                    row = cycles.drive(make(), ls_tokens[:args.annotators], args.warmup, args.duration)
                    row["check"] = ls.check(pid, row["submitted"])
                else:
                    ours.reset(project)
                    ours.connection.close()
                    timed = Path(tempfile.mkdtemp(prefix="server-time-")) if args.server_time else None
                    server = Server(config, args.port, artifacts, log, timed)
                    try:
                        row = cycles.drive(make(), tokens, args.warmup, args.duration)
                    finally:
                        server.stop()
                    row["check"] = ours.check(project, row["submitted"])
                    if timed is not None:
                        row["server"] = server_time.summary(timed)
                        if os.environ.get("SERVER_PROFILE"):
                            print(f"    cProfile of each worker: {timed}/*.prof", flush=True)
                        else:
                            shutil.rmtree(timed)
                row.update(size=size, config=config, round=round_ + 1)
                results.append(row)
                print(f"[{size:,} items, {args.annotators} annotators, round {round_ + 1}, {config}] "
                      f"{row['cps']:.1f} cycles/s (stored in window); next p50 {row['next_p50']:.1f} "
                      f"p99 {row['next_p99']:.1f} ms; driver CPU {row['driver_cpu_cores']} cores; "
                      f"errors {row['errors'] or 'none'}; checks ok {row['check']['ok']}; "
                      f"load {os.getloadavg()[0]:.1f}", flush=True)
                for route, t in row.get("server", {}).items():
                    print(f"    server side, {route}: {t['requests']} requests; wall p50 {t['wall_p50']:.1f} p99 "
                          f"{t['wall_p99']:.1f} ms; CPU p50 {t['cpu_p50']:.1f} mean {t['cpu_mean']:.1f} ms; SQL p50 "
                          f"{t['sql_p50']:.1f} p99 {t['sql_p99']:.1f} ms in {t['statements']:.0f} statements", flush=True)
    import_rates = import_rounds(args, artifacts, log, use_ls) if args.import_rounds else {}
    report(results, imports, import_rates, args)
    if args.json:
        args.json.write_text(json.dumps({"rows": results, "imports": imports, "import_rounds": import_rates},
                                        indent=1, default=str))


def report(results: list[dict], imports: dict, import_rates: dict, args) -> None:
    print(f"\n{args.annotators} annotators, {args.rounds} rounds of {args.duration:.0f} s per cell: median [range]")
    print("| items | server | cycles/s | next p50 ms | next p99 ms | driver CPU (cores) | first ÷ this, per round |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for size in sorted({r["size"] for r in results}):
        rows = [r for r in results if r["size"] == size]
        names = list(dict.fromkeys(r["config"] for r in rows))
        by = {name: [r for r in rows if r["config"] == name] for name in names}
        first = by[names[0]]
        for name in names:
            mine = by[name]
            ratios = [a["cps"] / b["cps"] for a, b in zip(first, mine, strict=True) if b["cps"]]  # per round
            print(f"| {size:,} | {name} | {cycles.summary([r['cps'] for r in mine])} "
                  f"| {cycles.summary([r['next_p50'] for r in mine])} "
                  f"| {cycles.summary([r['next_p99'] for r in mine])} "
                  f"| {cycles.summary([r['driver_cpu_cores'] for r in mine])} "
                  f"| {cycles.summary(ratios) + '×' if name != names[0] and ratios else '–'} |")
    for name, rate in imports.items():
        if rate:
            print(f"import (set-up), {name}: {rate:,.0f} items/s")
    for name, rates in import_rates.items():
        print(f"import of {args.import_lines:,} in {args.import_chunk:,}-item requests, {name}: "
              f"median {statistics.median(rates):,.0f} items/s [{min(rates):,.0f}–{max(rates):,.0f}]")
    faults = [r for r in results if not r["check"]["ok"]]
    print(f"runs whose database checks failed: {[(r['size'], r['config'], r['round']) for r in faults] or 'none'}")


if __name__ == "__main__":
    main()
