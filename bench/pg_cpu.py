"""CPU seconds of the PostgreSQL backend serving a Django connection (the server runs on this machine).

Imported by the bench scripts as a top-level module from their own folder (the script's folder is on sys.path), so
that a --baseline round, whose code root is another checkout, finds it too.
"""

import os


def backend_cpu_s(connection) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()  # utime and stime, in clock ticks
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
