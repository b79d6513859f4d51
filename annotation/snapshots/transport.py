"""Worker processes of a parallel snapshot build, and how their lines reach the one process that writes the files.

A build split over processes (`services.snapshots`, pairwise JSONL on PostgreSQL) forks its workers with `fork`:
they inherit what the build has computed (curation's plan) without pickling it, and `os.fork` works in a Celery
worker's pool process, where `multiprocessing` refuses to start children of a daemon. A worker always ends with
`os._exit`, so that nothing the parent owns (its database connection above all) is closed or flushed by the child.

Lines go from a worker to the writing process through a `Ring`: memory shared between the two (a few slots of
`SLOT_BYTES`), with two pipes for the small messages saying which slot holds what and which slot is free again.
Through a pipe, the bytes themselves cost ~5 CPU-s per GB in the kernel on the VMs measured; copying them into shared
memory that stays mapped costs a memcpy.
"""

from __future__ import annotations

import gc
import marshal
import mmap
import os
import signal
import traceback
from collections.abc import Callable

from .writers import _write_all

SLOTS = 3
SLOT_BYTES = 16 << 20


class WorkerFailed(RuntimeError):
    """A worker process raised (its traceback is the message) or stopped without saying why."""


class Ring:
    """Shared memory and two pipes between the writing process and one worker, made before the fork."""

    def __init__(self, slots: int | None = None, slot_bytes: int | None = None):
        self.slots, self.slot_bytes = slots or SLOTS, slot_bytes or SLOT_BYTES
        slots, slot_bytes = self.slots, self.slot_bytes
        self.memory = mmap.mmap(-1, slots * slot_bytes)  # anonymous and MAP_SHARED: the same pages after fork
        self.free_r, self.free_w = os.pipe()  # slot numbers the writer hands back
        self.msg_r, self.msg_w = os.pipe()  # messages from the worker
        os.write(self.free_w, bytes(range(slots)))
        self.slot: int | None = None  # the worker's slot being filled, and how full
        self.filled = 0

    # --- both sides ---

    def worker_side(self) -> None:
        """In the worker, after the fork: the ends only the writer uses, closed."""
        for fd in (self.free_w, self.msg_r):
            os.close(fd)

    def writer_side(self) -> None:
        """In the writer, after the fork: the worker's ends closed, so that a worker that dies is an end of file."""
        for fd in (self.free_r, self.msg_w):
            os.close(fd)

    def close_all(self) -> None:
        """In another worker: none of this ring's pipes (an open end would hide this worker's death)."""
        for fd in (self.free_r, self.free_w, self.msg_r, self.msg_w):
            os.close(fd)

    # --- the worker ---

    def send(self, blocks: list[tuple[str, bytes, int]], extra) -> None:
        """(file name, whole lines, number of lines) for each file, then `extra` (marshal-able): one message per
        filled slot, the last one carrying `extra`. A block longer than a slot goes in pieces, its lines counted on
        the last."""
        segments: list[tuple[str, int, int, int]] = []
        for name, data, rows in blocks:
            view = memoryview(data)
            while view:
                if self.slot is not None and self.filled == self.slot_bytes:
                    self._message(("data", self.slot, segments, None))
                    self.slot, segments = None, []
                if self.slot is None:
                    self.slot, self.filled = os.read(self.free_r, 1)[0], 0
                n = min(self.slot_bytes - self.filled, len(view))
                start = self.slot * self.slot_bytes + self.filled
                self.memory[start:start + n] = view[:n]
                view = view[n:]
                segments.append((name, self.filled, n, 0 if view else rows))
                self.filled += n
        self._message(("chunk", self.slot, segments, extra))
        self.slot = None

    def finish(self, result) -> None:
        self._message(("done", None, [], result))

    def fail(self, error: str) -> None:
        self._message(("error", None, [], error))

    def _message(self, message) -> None:
        data = marshal.dumps(message)
        _write_all(self.msg_w, len(data).to_bytes(8, "little") + data)

    # --- the writer ---

    def receive(self):
        """The worker's next message: (kind, slot, [(file name, offset, length, lines)], extra)."""
        size = _read_exactly(self.msg_r, 8)
        if size is None:
            raise WorkerFailed("a snapshot worker stopped before it finished (killed, or out of memory?)")
        message = marshal.loads(_read_exactly(self.msg_r, int.from_bytes(size, "little")) or b"")
        if message[0] == "error":
            raise WorkerFailed(f"a snapshot worker failed:\n{message[3]}")
        return message

    def view(self, slot: int, offset: int, length: int) -> memoryview:
        start = slot * self.slot_bytes + offset
        return memoryview(self.memory)[start:start + length]

    def release(self, slot: int) -> None:
        """The slot's bytes are written: the worker may fill it again (if it has not finished meanwhile)."""
        try:
            os.write(self.free_w, bytes([slot]))
        except BrokenPipeError:  # the worker sent its last chunk and ended: it needs no slot any more
            pass


def _read_exactly(fd: int, n: int) -> bytes | None:
    """n bytes, or None at the end of the pipe before the first of them."""
    parts, left = [], n
    while left:
        part = os.read(fd, min(left, 1 << 20))
        if not part:
            if left == n:
                return None
            raise WorkerFailed("a snapshot worker stopped in the middle of a message")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def fork(work: Callable[[], None], on_error: Callable[[str], None]) -> int:
    """Run `work()` in a child process; its pid. The child ends with `os._exit`: 0 when `work` returned, 1 after
    `on_error(traceback)` when it raised.

    The child runs without the cyclic garbage collector: a worker makes no reference cycles (what it makes of a
    chunk is freed by reference counting; `tests/test_snapshots.py` holds a build's workers to that), and the
    collections, which walked every chunk's young objects again and again, took 5-10% of a worker's time."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handlers (Celery's warm shutdown, say)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        gc.disable()
        work()
        code = 0
    except BaseException:  # noqa: BLE001 - everything goes back to the parent, which raises it
        try:
            on_error(traceback.format_exc())
        except BaseException:  # noqa: BLE001, S110 - nothing left to tell it with: the exit status says it
            pass
    finally:
        os._exit(code)


def wait(pid: int) -> int | None:
    """The child's exit status (negative: the signal that killed it); None when it was reaped by someone else (a
    process that ignores SIGCHLD reaps its children itself)."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return None
    return os.waitstatus_to_exitcode(status)


def kill(pids: list[int]) -> None:
    """Stop and reap children that may still run (a build that failed elsewhere)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in pids:
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
