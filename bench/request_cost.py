"""What one next + submit costs us, apart from any queue: the real WSGI app called in-process, one annotator, no socket.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rlhf_bench .venv/bin/python bench/request_cost.py --cycles 300

Every middleware, DRF, authentication by token, the services and PostgreSQL, with the production settings of
docker-compose.yml (DEBUG off, HTTPS behind a proxy); only the HTTP server and the network are left out. Prints, per
next + submit cycle: our CPU (this process), the PostgreSQL backend's CPU (its connection is kept, CONN_MAX_AGE), the
wall time and the SQL statements (as bench/server_time.py counts them: Django's execute_wrapper, so without BEGIN,
COMMIT and the connection's health check). Uses a pairwise project of --items items (made once, by name) and puts it back untouched afterwards.
``--profile`` adds a cProfile of the same cycles (wall time per function: waiting on PostgreSQL shows as psycopg's).
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.update(SECRET_KEY=os.environ.get("SECRET_KEY") or "request-cost-bench-not-secret-0123456789abcdef",
                  DEBUG="0", SECURE_SSL_REDIRECT="1", SECURE_COOKIES="1", SECURE_HSTS_SECONDS="31536000",
                  BEHIND_TLS_PROXY="1", ALLOWED_HOSTS="localhost,127.0.0.1", LOG_LEVEL="WARNING")

from bench import assign_bench as ours  # noqa: E402  (creates and migrates the database; sets Django up)
from bench.pg_cpu import backend_cpu_s  # noqa: E402
from bench.server_time import _Sql  # noqa: E402
from rlhf_site.wsgi import application  # noqa: E402


def call(method: str, path: str, token: str, body=None) -> tuple[int, object]:
    data = b"" if body is None else json.dumps(body).encode()
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1",
               "SERVER_PORT": "8000", "HTTP_HOST": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(data), "wsgi.errors": sys.stderr,
               "CONTENT_LENGTH": str(len(data)), "CONTENT_TYPE": "application/json",
               "HTTP_X_FORWARDED_PROTO": "https", "HTTP_AUTHORIZATION": f"Token {token}"}
    status = []
    result = application(environ, lambda line, headers, *_: status.append(line))
    try:
        raw = b"".join(result)
    finally:
        result.close()  # request_finished: the connection is kept or closed as the server would
    return int(status[0][:3]), json.loads(raw) if raw else None


def cycle(project_id: int, token: str) -> None:
    status, lease = call("POST", f"/api/projects/{project_id}/next/", token)
    assert status == 200, (status, lease)
    answer = {"chosen": lease["item"]["responses"][0]["id"], "strength": 2}
    status, body = call("POST", f"/api/assignments/{lease['assignment']}/submit/", token, answer)
    assert status == 201, (status, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    project = ours.project_for(args.items, keep=True)
    (token,) = ours.annotators(project, 1)
    ours.reset(project)
    try:
        for _ in range(30):  # the connection, the prepared statements, the caches
            cycle(project.id, token)
        statements = _Sql()
        pg0, cpu0, wall0 = backend_cpu_s(ours.connection), time.process_time(), time.perf_counter()
        with ours.connection.execute_wrapper(statements):
            for _ in range(args.cycles):
                cycle(project.id, token)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        pg = backend_cpu_s(ours.connection) - pg0
        print(f"per next + submit: our CPU {cpu / args.cycles * 1000:.2f} ms, PostgreSQL CPU "
              f"{pg / args.cycles * 1000:.2f} ms, wall {wall / args.cycles * 1000:.2f} ms, "
              f"{statements.n / args.cycles:g} statements ({args.cycles} cycles; load average {os.getloadavg()[0]:.1f})")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.cycles):
                cycle(project.id, token)
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(50)
    finally:
        ours.reset(project)


if __name__ == "__main__":
    main()
