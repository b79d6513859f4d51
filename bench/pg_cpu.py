"""CPU seconds of the PostgreSQL backend serving a Django connection (the server runs on this machine).

Imported by the bench scripts as a top-level module from their own folder (the script's folder is on sys.path), so
that a --baseline round, whose code root is another checkout, finds it too.
"""

import os


def backend_cpu_s(connection) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = _fields(pid)  # utime and stime, in clock ticks
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")



def server_cpu_s(connection) -> float:
    """CPU seconds of the whole PostgreSQL server so far (it runs on this machine): the postmaster, every live
    process it started, and those that ended (a parallel snapshot build's workers connect and leave; the postmaster
    reaps their backends). Background processes count too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    postmaster = int(_fields(backend)[1])
    own = _fields(postmaster)
    ticks = sum(int(own[k]) for k in (11, 12, 13, 14))  # utime, stime, and its reaped children's cutime, cstime
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = _fields(int(name))
            except OSError:  # ended meanwhile
                continue
            if int(fields[1]) == postmaster:
                ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the process's name: state, parent pid, ..., utime at 11, stime at 12."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()
