"""next + submit cycles over HTTP, driven and counted the same way for every server under test.

Used by bench/side_by_side.py (ours against Label Studio) and by its --ours-configs comparison of gunicorn
settings. Each simulated annotator is a thread that loops next -> submit, opening a new connection for every
request (as browsers behind a proxy mostly do, and as the sync workers we compare require). A cell counts what
the database stored in its measured window (answers whose created_at falls inside it), the same query shape on
both sides, so a cycle cut by the window's edge counts as it would on either side. Latencies are the client's,
of the cycles that began inside the window. The driver's own CPU (all its threads) is reported, because on a
small machine the load generator competes with the servers for the same cores.

The one annotator loop of the assignment benches: bench/assign_bench.py (ours), bench/labelstudio/ls_bench.py and
bench/side_by_side.py (both) drive it with their own `Side` (`next`, `submit` and `count`). Stdlib only, but for
`stored_between`'s psycopg.
"""

from __future__ import annotations

import http.client
import json
import shlex
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROMPT_CHARS, RESPONSE_CHARS = 200, 600
_WORDS = ("the model explains each step of the method with care and gives a short example so that a reader new to "
          "the topic can check the result on their own before moving on to the next part of the question").split()


def text(seed: int, chars: int) -> str:
    """Deterministic prose of exactly `chars` characters (real preference data runs to hundreds per field)."""
    words, k = [], seed
    while sum(len(w) + 1 for w in words) < chars:
        words.append(_WORDS[k % len(_WORDS)])
        k = k * 1103515245 + 12345 & 0x7FFFFFFF
    return " ".join(words)[:chars]


def pair(i: int) -> tuple[str, str, str]:
    """Item i's prompt (200 characters) and two responses (600 each), the same on both sides."""
    return (f"Q{i}: " + text(i, PROMPT_CHARS))[:PROMPT_CHARS], (f"A{i}: " + text(3 * i + 1, RESPONSE_CHARS))[
        :RESPONSE_CHARS], (f"B{i}: " + text(3 * i + 2, RESPONSE_CHARS))[:RESPONSE_CHARS]


def request(port: int, method: str, path: str, body=None, headers: dict | None = None,
            timeout: float = 120) -> tuple[int, object]:
    """One request on a connection of its own; a body of bytes is sent as it is (JSON encoded before a timing)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        # JSON unless the caller names its own type (a multipart upload: bench/import_memory.py --http).
        conn.request(method, path, body=data, headers={**({"Content-Type": "application/json"} if data else {}),
                                                       **(headers or {})})
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    try:
        return resp.status, json.loads(raw) if raw else None
    except ValueError:
        return resp.status, raw[:300]


@dataclass
class Side:
    """What a server under test must answer: one `next` (-> (status, handle or None)), one `submit` of that handle
    (-> status), and how many answers its database stored between two epoch times."""

    name: str
    next: Callable[[str], tuple[int, object]]
    submit: Callable[[str, object], int]
    count: Callable[[float, float], int]
    done_status: int  # what `next` answers when nothing is left


class _Annotator(threading.Thread):
    def __init__(self, side: Side, token: str, t_start: float, t_end: float):
        super().__init__(daemon=True)
        self.side, self.token, self.t_start, self.t_end = side, token, t_start, t_end
        self.next_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.submitted = 0
        self.errors: dict[str, int] = {}

    def _error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def run(self) -> None:
        while time.time() < self.t_end:
            t0 = time.time()
            try:
                status, handle = self.side.next(self.token)
            except (OSError, http.client.HTTPException) as exc:
                self._error(f"next {type(exc).__name__}")
                continue
            t1 = time.time()
            if status != 200 or handle is None:
                self._error(f"next {status}")
                if status == self.side.done_status:
                    return
                continue
            try:
                status = self.side.submit(self.token, handle)
            except (OSError, http.client.HTTPException) as exc:
                self._error(f"submit {type(exc).__name__}")
                continue
            if status != 201:
                self._error(f"submit {status}")
                continue
            self.submitted += 1
            if self.t_start <= t0 < self.t_end:
                self.next_ms.append((t1 - t0) * 1000)
                self.submit_ms.append((time.time() - t1) * 1000)


def stored_between(dsn: str, table: str, project_id: int) -> Callable[[float, float], int]:
    """A Side's `count`: the rows of `table` in the project whose created_at falls between two epoch times."""
    def count(t_start: float, t_end: float) -> int:
        import psycopg

        with psycopg.connect(dsn) as db:
            return db.execute(f"SELECT count(*) FROM {table} WHERE project_id = %s AND created_at >= to_timestamp(%s) "
                              "AND created_at < to_timestamp(%s)", [project_id, t_start, t_end]).fetchone()[0]
    return count


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def drive(side: Side, tokens: list[str], warmup: float, duration: float) -> dict:
    """One cell: len(tokens) annotators for warmup + duration seconds; counts from the database."""
    t_start = time.time() + warmup
    t_end = t_start + duration
    threads = [_Annotator(side, token, t_start, t_end) for token in tokens]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, t_start - time.time()))
    cpu0 = time.process_time()
    time.sleep(max(0.0, t_end - time.time()))
    driver_cpu = (time.process_time() - cpu0) / duration
    for thread in threads:
        thread.join(300)
    stored = side.count(t_start, t_end)
    next_ms = [x for t in threads for x in t.next_ms]
    submit_ms = [x for t in threads for x in t.submit_ms]
    errors: dict[str, int] = {}
    for thread in threads:
        for key, n in thread.errors.items():
            errors[key] = errors.get(key, 0) + n
    return {"side": side.name, "k": len(tokens), "stored_in_window": stored, "cps": stored / duration,
            "next_p50": pct(next_ms, 50), "next_p99": pct(next_ms, 99), "submit_p50": pct(submit_ms, 50),
            "submit_p99": pct(submit_ms, 99), "submitted": sum(t.submitted for t in threads), "errors": errors,
            "driver_cpu_cores": round(driver_cpu, 2)}


def cell_line(label: str, r: dict) -> str:
    """One cell of drive() as the benches print it while they run."""
    return (f"[{label}] {r['cps']:.1f} cycles/s; next p50 {r['next_p50']:.1f} ms p99 {r['next_p99']:.1f} ms; submit "
            f"p50 {r['submit_p50']:.1f} ms p99 {r['submit_p99']:.1f} ms; errors {r['errors'] or 'none'}; "
            f"checks {r['check']}")


def cells_table(cells: list[dict], checks: dict[str, Callable[[dict], object]]) -> str:
    """Markdown, a line per cell (with its `size`, `k` and `check`): rate and latencies, then the side's own database
    checks (column name -> value read from the cell's check), then the errors."""
    head = ["items", "annotators", "cycles/s", "next p50 ms", "next p99 ms", "submit p50 ms", "submit p99 ms",
            "answers", *checks, "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * (len(head) - 1) + "---|"]
    for r in cells:
        values = [f"{r['size']:,}", r["k"], f"{r['cps']:.1f}",
                  *(f"{r[key]:.1f}" for key in ("next_p50", "next_p99", "submit_p50", "submit_p99")),
                  f"{r['check']['annotations']:,}", *(value(r["check"]) for value in checks.values()),
                  sum(r["errors"].values())]
        lines.append("| " + " | ".join(map(str, values)) + " |")
    return "\n".join(lines)


def summary(values: list[float]) -> str:
    """Median [min–max] of a cell's rounds."""
    return f"{statistics.median(values):.1f} [{min(values):.1f}–{max(values):.1f}]"


# ---------------------------------------------------------------- our server, as docker-compose.yml starts it

def compose_gunicorn() -> list[str]:
    import yaml

    command = yaml.safe_load((Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text())["services"]["web"]["command"]
    command = command if isinstance(command, str) else " ".join(command)
    words = shlex.split(command)
    if words[0] == "sh":  # sh -c "migrate && ... && gunicorn ..."
        words = shlex.split(words[-1].split("&&")[-1])
    assert words[0] == "gunicorn", words
    return words[1:]


def gunicorn_args(config: str, port: int) -> list[str]:
    """`shipped`: the compose command; `name=ARGS`: the compose command's app with these gunicorn ARGS instead."""
    shipped = compose_gunicorn()
    args = shipped if config == "shipped" else [shipped[0], *shlex.split(config.partition("=")[2])]
    at = args.index("--bind") if "--bind" in args else None
    if at is not None:
        args = args[:at] + args[at + 2:]
    return [*args, "--bind", f"127.0.0.1:{port}"]
