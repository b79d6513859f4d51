"""Our server's own time per request, apart from the machine's queueing: a WSGI wrapper for the benches.

    SERVER_TIME_DIR=/tmp/st gunicorn bench.server_time:application ...     # then: summary(Path("/tmp/st"))
    SERVER_TIME_DIR=/tmp/st SERVER_PROFILE=1 gunicorn bench.server_time:application ...   # + cProfile per worker

Each worker appends one line per request to SERVER_TIME_DIR/<pid>.tsv: the route (ids replaced by {id}), the
wall time from the WSGI call to the last byte of the body, the worker's CPU time in that span (a sync worker serves
one request at a time, so it is the request's own), and the time and count of the SQL statements it ran (their wall
time includes PostgreSQL's work and any wait for a core). The client's latency minus the server's wall time is what
the request spent queued for a worker or in connecting: the machine's share, not ours. With SERVER_PROFILE=1 each
worker also writes its cProfile to <pid>.prof when it exits.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import re
import statistics
import time
from pathlib import Path

_IDS = re.compile(r"/\d+/")


class _Sql:
    """Counts the statements of one request and the wall time spent in them (django's execute_wrapper)."""

    def __init__(self):
        self.n, self.seconds = 0, 0.0

    def __call__(self, execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - t0
            self.n += 1


class _Timed:
    def __init__(self):
        self.out = self.django = None
        self.profile = cProfile.Profile() if os.environ.get("SERVER_PROFILE") else None
        if os.environ.get("SERVER_TIME_DIR"):  # in the server: set Django up now, not in the first request's time
            self._app()

    def _file(self):
        if self.out is None:  # opened in the worker, after gunicorn forked it
            folder = Path(os.environ["SERVER_TIME_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            self.out = open(folder / f"{os.getpid()}.tsv", "a", buffering=1)
            if self.profile:
                atexit.register(self.profile.dump_stats, str(folder / f"{os.getpid()}.prof"))
        return self.out

    def _app(self):
        if self.django is None:  # in the worker, not in a driver that imports summary()
            from rlhf_site.wsgi import application

            self.django = application
        return self.django

    def __call__(self, environ, start_response):
        app = self._app()
        from django.db import connection

        sql = _Sql()
        t0, c0 = time.perf_counter(), time.process_time()
        if self.profile:
            self.profile.enable()
        with connection.execute_wrapper(sql):
            result = app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                result.close()  # Django's request_finished: connections closed or kept per CONN_MAX_AGE
        if self.profile:
            self.profile.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        route = f"{environ['REQUEST_METHOD']} {_IDS.sub('/{id}/', environ.get('PATH_INFO', ''))}"
        self._file().write(f"{route}\t{wall * 1000:.3f}\t{cpu * 1000:.3f}\t{sql.seconds * 1000:.3f}\t{sql.n}\n")
        return [body]


application = _Timed()


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(folder: Path) -> dict[str, dict]:
    """Per route: requests, and the median / p99 of wall, CPU and SQL milliseconds, and the statements per request."""
    by_route: dict[str, list[tuple[float, ...]]] = {}
    for path in folder.glob("*.tsv"):
        for line in path.read_text().splitlines():
            route, *numbers = line.split("\t")
            by_route.setdefault(route, []).append(tuple(float(x) for x in numbers))
    out = {}
    for route, samples in by_route.items():
        wall, cpu, sql, n = zip(*samples, strict=True)
        out[route] = {"requests": len(samples), "wall_p50": statistics.median(wall), "wall_p99": _pct(list(wall), 99),
                      "cpu_p50": statistics.median(cpu), "cpu_mean": statistics.fmean(cpu),
                      "sql_p50": statistics.median(sql), "sql_p99": _pct(list(sql), 99),
                      "statements": statistics.median(n)}
    return out
