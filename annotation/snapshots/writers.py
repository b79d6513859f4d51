"""Writing a snapshot's files: canonical bytes, hashes, and one atomic publish.

Files are written into a hidden temporary folder next to the final one; `publish`
closes them, hashes them, makes them read-only and renames the folder into place, so a
reader sees either the whole snapshot or nothing. `discard` removes everything written.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

from .schemas import JSON_ENCODED, schema

READ_ONLY = 0o444
HASH_BLOCK = 1 << 20


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


def _hash_and_count_lines(path: Path) -> tuple[str, int]:
    """(sha256, number of newlines) in one read: a JSONL file's rows are its lines."""
    digest, lines = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
            lines += block.count(b"\n")
    return digest.hexdigest(), lines


def fingerprint(files: list[dict]) -> str:
    """One hash for the whole snapshot: sha256 of its `sha256sum`-style listing, sorted by name."""
    listing = "".join(f"{f['sha256']}  {f['name']}\n" for f in sorted(files, key=lambda f: f["name"]))
    return hashlib.sha256(listing.encode()).hexdigest()


class _Jsonl:
    """Rows are counted when the file is hashed (its lines: JSON escapes a newline inside a value), so that
    `SnapshotFiles.line_writer` can hand out the file's own write."""

    def __init__(self, path: Path, encoder: RowEncoder):
        self.file = open(path, "wb", buffering=HASH_BLOCK)
        self.encoder = encoder

    def write(self, row: dict) -> None:
        self.file.write(self.encoder.line(row))

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()


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
        self.published = False

    def write(self, fmt: str, split: str, row: dict) -> None:
        for ext in ("jsonl", "parquet") if self.parquet else ("jsonl",):
            name = file_name(fmt, split, ext)
            writer = self.open.get(name)
            if writer is None:
                path = self.tmp / name
                writer = _Jsonl(path, self.encoder) if ext == "jsonl" else _Parquet(path, fmt, ranking=self.ranking,
                                                                      batch_rows=self.batch_rows)
                self.open[name] = writer
            writer.write(row)

    def line_writer(self, fmt: str, split: str) -> Callable[[bytes], object]:
        """The write of a file that takes rows already encoded as their JSONL lines (see `lines`), one call per
        line; only in a JSONL-only snapshot."""
        if self.parquet:
            raise ValueError("a snapshot with Parquet files takes rows, not lines")
        name = file_name(fmt, split)
        writer = self.open.get(name)
        if writer is None:
            writer = self.open[name] = _Jsonl(self.tmp / name, self.encoder)
        return writer.file.write

    def publish(self) -> list[FileInfo]:
        """Close, hash, make read-only, and move the folder into place in one rename."""
        infos = []
        for name, writer in sorted(self.open.items()):
            writer.close()
            path = self.tmp / name
            sha256, lines = _hash_and_count_lines(path)
            infos.append(FileInfo(name, writer.rows if isinstance(writer, _Parquet) else lines, sha256,
                                  path.stat().st_size))
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
        for writer in self.open.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001 - the files are being thrown away anyway
                pass
        self.open = {}
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.published:
            shutil.rmtree(self.final, ignore_errors=True)
            self.published = False


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
