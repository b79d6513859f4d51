"""Writing a snapshot's files: canonical bytes, hashes, and one atomic publish.

Files are written into a hidden temporary folder next to the final one; `publish`
closes them, hashes them, makes them read-only and renames the folder into place, so a
reader sees either the whole snapshot or nothing. `discard` removes everything written.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import math
import mmap
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from .schemas import JSON_ENCODED, schema

READ_ONLY = 0o444
DIRECT_BLOCK = 8 << 20  # bytes a file's O_DIRECT buffer holds (`_Sink`)
FLUSH_LINES = 4096  # lines a file gathers before they go to the writer thread as one block, at most


def canonical_json(value) -> str:
    """One row's bytes, or one JSON-encoded column's value (Parquet keeps rankings, metadata, ... as JSON text):
    sorted keys, no spaces, UTF-8 as is; NaN is refused rather than written."""
    if isinstance(value, dict):
        return RowEncoder(size=0).line(value)[:-1].decode()
    if isinstance(value, float):
        value = _float(value)
    else:
        _refuse_nan(value)
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _dumps(value) -> bytes:
    # orjson writes what json.dumps(ensure_ascii=False, sort_keys=True, separators=(",", ":")) writes, several times
    # faster, but writes NaN as null (hence the check, needed only where a null came out) and spells exponents its
    # own way (see `_float`).
    out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if b"null" in out:
        _refuse_nan(value)
    return out


def _refuse_nan(value) -> None:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r}: out of range float values are not JSON compliant")
    elif isinstance(value, dict):
        for inner in value.values():
            _refuse_nan(inner)
    elif isinstance(value, (list, tuple)):
        for inner in value:
            _refuse_nan(inner)


def _float(value: float) -> orjson.Fragment | float:
    """A row's float as Python spells it: orjson writes 0.00005 and 2.5e-7 where repr writes 5e-05 and 2.5e-07."""
    _refuse_nan(value)
    return orjson.Fragment(repr(value)) if value and not 1e-4 <= abs(value) < 1e16 else value


class RowEncoder:
    """Canonical JSON lines, each list a row shares with the rows before it serialised once.

    One item's prompt and responses recur in its raw rows, preference row, KTO rows and prompt row (the very same
    list objects); at a million answers, serialising them again for every row was most of a snapshot's time.
    A list is known by identity, and the cache holds it, so its id cannot be reused while cached.
    """

    def __init__(self, size: int = 64):
        self.size, self.cache = size, {}

    def line(self, row: dict) -> bytes:
        """The row's line. NaN is looked for where it can be (the row's floats, and inside its lists and objects
        once each), not by walking every row whole: that walk cost more than the serialising."""
        swapped = {}
        for key, value in row.items():
            kind = type(value)
            if kind is float:
                swapped[key] = _float(value)
            elif kind is list and value and type(value[0]) is dict:  # messages, responses: shared between rows
                swapped[key] = self._shared(value)
            elif kind in (list, tuple, dict):
                _refuse_nan(value)
        return orjson.dumps({**row, **swapped} if swapped else row, option=orjson.OPT_SORT_KEYS) + b"\n"

    def _shared(self, value: list) -> orjson.Fragment:
        hit = self.cache.get(id(value))
        if hit is None or hit[0] is not value:
            if len(self.cache) >= self.size:
                self.cache.clear()
            hit = (value, orjson.Fragment(_dumps(value)))
            if self.size:
                self.cache[id(value)] = hit
        return hit[1]


def file_name(fmt: str, split: str, ext: str = "jsonl") -> str:
    return f"{fmt}-{split}.{ext}"


@dataclass(frozen=True)
class FileInfo:
    name: str
    rows: int
    sha256: str
    bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


def fingerprint(files: list[dict]) -> str:
    """One hash for the whole snapshot: sha256 of its `sha256sum`-style listing, sorted by name."""
    listing = "".join(f"{f['sha256']}  {f['name']}\n" for f in sorted(files, key=lambda f: f["name"]))
    return hashlib.sha256(listing.encode()).hexdigest()


class _Sink:
    """One file's bytes, written and hashed a block at a time on the writer thread (`_BlockWriter`), never read
    back. With O_DIRECT where the filesystem takes it: the blocks go from one aligned buffer to the disk, so that a
    snapshot of gigabytes neither fills the page cache nor pays the kernel for a page per 4 KiB of it (on the VMs
    measured, a fresh page cost ~2.5 us, 5-6 CPU-s for the 2.2 GB of a 1M-answer snapshot; see docs/benchmarks.md);
    the build fsyncs its files anyway, so they reach the disk as soon as with the cache. Elsewhere (tmpfs, some
    overlay filesystems refuse it) plain writes."""

    def __init__(self, path: Path):
        self.digest, self.written = hashlib.sha256(), 0
        try:
            self.fd, self.direct = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_DIRECT, 0o644), True
        except (OSError, AttributeError):  # no O_DIRECT here (EINVAL), or no such flag on this platform
            self.fd, self.direct = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), False
        self.buffer = mmap.mmap(-1, DIRECT_BLOCK) if self.direct else None  # page-aligned, as O_DIRECT needs
        self.filled = 0

    def write(self, block: bytes) -> None:
        self.digest.update(block)  # releases the GIL for blocks this size
        if not self.direct:
            _write_all(self.fd, block)
            return
        view, at = memoryview(block), 0
        while at < len(view):
            n = min(DIRECT_BLOCK - self.filled, len(view) - at)
            self.buffer[self.filled:self.filled + n] = view[at:at + n]
            self.filled, at = self.filled + n, at + n
            if self.filled == DIRECT_BLOCK:
                self._write_buffer()

    def _write_buffer(self) -> None:
        try:
            _write_all(self.fd, self.buffer)
        except OSError as exc:  # opened with O_DIRECT but refused at the first write: write through the cache
            if exc.errno != errno.EINVAL or self.written:
                raise
            self._buffered()
            _write_all(self.fd, self.buffer)
        self.written += DIRECT_BLOCK
        self.filled = 0

    def _buffered(self) -> None:
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~os.O_DIRECT)
        self.direct = False

    def close(self) -> str:
        """The rest written (its last piece, shorter than a block, without O_DIRECT), fsynced; the file's sha256."""
        try:
            if self.direct and self.filled:
                self._buffered()
                _write_all(self.fd, memoryview(self.buffer)[:self.filled])
            os.fsync(self.fd)
        finally:
            os.close(self.fd)
            if self.buffer is not None:
                self.buffer.close()
        return self.digest.hexdigest()

    def abandon(self) -> None:
        os.close(self.fd)
        if self.buffer is not None:
            self.buffer.close()


def _write_all(fd: int, data) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _BlockWriter:
    """The thread that hashes and writes every JSONL file of a snapshot, the blocks of each file in the order they
    came: the build's own thread only gathers lines (`_Jsonl`) while this one spends the time of hashing and of the
    kernel's writes, which release the GIL. The queue is short, so memory holds a few blocks at most; an error on
    the thread comes back to the build at its next block or at `finish`."""

    def __init__(self):
        self.tasks: queue.Queue = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="snapshot-writer", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while (task := self.tasks.get()) is not None:
            if self.error is None:
                try:
                    task[0](task[1])
                except BaseException as exc:  # noqa: BLE001 - handed back to the build (`check`)
                    self.error = exc
            self.tasks.task_done()

    def put(self, sink: _Sink, block) -> None:
        self.call(sink.write, block)

    def call(self, function: Callable, argument) -> None:
        """`function(argument)` on the thread, after every block put before it is written."""
        self.check()
        if not self.thread.is_alive():
            raise RuntimeError("the snapshot's files are closed")
        self.tasks.put((function, argument))

    def drain(self) -> None:
        """Every block put so far written (or the first error raised)."""
        self.tasks.join()
        self.check()

    def check(self) -> None:
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """Every block written (or the first error raised); the thread ends."""
        if self.thread.is_alive():
            self.tasks.put(None)
            self.thread.join()
        self.check()


class _Jsonl:
    """A JSONL file: lines gathered in a list (`write_line` is the list's own append, what `SnapshotFiles.line_writer`
    hands out) and given to the writer thread as one block each time `FLUSH_LINES` have gathered or the build says
    `flush`. Its rows are its lines (JSON escapes a newline inside a value), counted as they go."""

    def __init__(self, path: Path, encoder: RowEncoder, writer: _BlockWriter):
        self.sink, self.encoder, self.writer = _Sink(path), encoder, writer
        self.lines: list[bytes] = []
        self.write_line = self.lines.append
        self.rows = 0

    def write(self, row: dict) -> None:
        self.lines.append(self.encoder.line(row))
        if len(self.lines) >= FLUSH_LINES:
            self.flush()

    def write_block(self, block: bytes, rows: int) -> None:
        """Lines joined elsewhere (whole lines, in order), after those gathered here."""
        self.flush()
        if block:
            self.rows += rows
            self.writer.put(self.sink, block)

    def flush(self) -> None:
        if self.lines:
            self.rows += len(self.lines)
            block = b"".join(self.lines)
            self.lines.clear()  # not a new list: `write_line` is this one's append
            self.writer.put(self.sink, block)

    def close(self) -> str:
        """The last lines written and the file fsynced (the writer thread finished first); its sha256."""
        return self.sink.close()

    def abandon(self) -> None:
        self.sink.abandon()


class _Parquet:
    """Buffers rows and writes one row group per `batch_rows`, so memory stays bounded."""

    def __init__(self, path: Path, fmt: str, *, ranking: bool, batch_rows: int):
        import pyarrow.parquet as pq

        self.schema = schema(fmt, ranking=ranking)
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="snappy")
        self.encoded = JSON_ENCODED.get(fmt, ())
        self.batch_rows, self.buffer, self.rows = batch_rows, [], 0

    def write(self, row: dict) -> None:
        if self.encoded:
            row = {**row, **{k: None if row[k] is None else canonical_json(row[k]) for k in self.encoded}}
        self.buffer.append(row)
        self.rows += 1
        if len(self.buffer) >= self.batch_rows:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self.buffer:
            self.writer.write_table(pa.Table.from_pylist(self.buffer, schema=self.schema))
            self.buffer = []

    def close(self) -> None:
        self._flush()
        self.writer.close()


class SnapshotFiles:
    """The files of one snapshot. `write(fmt, split, row)` opens a file on its first row."""

    def __init__(self, root: Path, name: str, *, parquet: bool = False, ranking: bool = False,
                 batch_rows: int = 10_000):
        root.mkdir(parents=True, exist_ok=True)
        self.final = root / name
        if self.final.exists():
            raise FileExistsError(f"{self.final}: a snapshot folder of that name exists; snapshots are never overwritten")
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=root))
        self.parquet, self.ranking, self.batch_rows = parquet, ranking, batch_rows
        self.open: dict[str, _Jsonl | _Parquet] = {}
        self.encoder = RowEncoder()
        self.writer: _BlockWriter | None = None  # started with the first JSONL file
        self.published = False

    def _jsonl(self, name: str) -> _Jsonl:
        writer = self.open.get(name)
        if writer is None:
            if self.writer is None:
                self.writer = _BlockWriter()
            writer = self.open[name] = _Jsonl(self.tmp / name, self.encoder, self.writer)
        return writer

    def write(self, fmt: str, split: str, row: dict) -> None:
        self._jsonl(file_name(fmt, split)).write(row)
        if self.parquet:
            name = file_name(fmt, split, "parquet")
            writer = self.open.get(name)
            if writer is None:
                writer = self.open[name] = _Parquet(self.tmp / name, fmt, ranking=self.ranking,
                                                    batch_rows=self.batch_rows)
            writer.write(row)

    def line_writer(self, fmt: str, split: str) -> Callable[[bytes], object]:
        """The write of a file that takes rows already encoded as their JSONL lines (see `lines`), one call per
        line (the append of the file's list of lines: call `flush` now and then, say once per chunk of items);
        only in a JSONL-only snapshot."""
        self._lines_only()
        return self._jsonl(file_name(fmt, split)).write_line

    def write_block(self, fmt: str, split: str, block: bytes, rows: int) -> None:
        """`rows` whole lines joined, written after the file's lines so far; only in a JSONL-only snapshot."""
        self._lines_only()
        self._jsonl(file_name(fmt, split)).write_block(block, rows)

    def _lines_only(self) -> None:
        if self.parquet:
            raise ValueError("a snapshot with Parquet files takes rows, not lines")

    def flush(self) -> None:
        """Hand the lines gathered so far to the writer thread."""
        for writer in self.open.values():
            if isinstance(writer, _Jsonl):
                writer.flush()

    def then(self, function: Callable, argument) -> None:
        """`function(argument)` once every block handed to the writer thread so far is written: say, to reuse the
        memory a `write_block` came from."""
        if self.writer is None:
            self.writer = _BlockWriter()
        self.writer.call(function, argument)

    def finish_writes(self) -> None:
        """Every line so far written (not yet fsynced)."""
        self.flush()
        if self.writer is not None:
            self.writer.drain()

    def publish(self) -> list[FileInfo]:
        """Close, hash, make read-only, and move the folder into place in one rename."""
        self.flush()
        if self.writer is not None:
            self.writer.finish()
        infos = []
        for name, writer in sorted(self.open.items()):
            path = self.tmp / name
            if isinstance(writer, _Jsonl):
                sha256 = writer.close()
            else:
                writer.close()
                sha256 = _sha256_of(path)
            infos.append(FileInfo(name, writer.rows, sha256, path.stat().st_size))
            path.chmod(READ_ONLY)
        self.open = {}
        self.tmp.chmod(0o755)
        if self.final.exists():
            raise FileExistsError(f"{self.final}: appeared while building; not overwritten")
        os.rename(self.tmp, self.final)
        self.published = True
        _fsync_dir(self.final.parent)
        return infos

    def discard(self) -> None:
        """Remove everything this build wrote, the published folder included."""
        if self.writer is not None:
            try:
                self.writer.finish()
            except Exception:  # noqa: BLE001 - the files are being thrown away anyway
                pass
        for writer in self.open.values():
            try:
                writer.abandon() if isinstance(writer, _Jsonl) else writer.close()
            except Exception:  # noqa: BLE001 - the files are being thrown away anyway
                pass
        self.open = {}
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.published:
            shutil.rmtree(self.final, ignore_errors=True)
            self.published = False


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(DIRECT_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
