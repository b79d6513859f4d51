"""Writing a snapshot's files: canonical bytes, hashes, and one atomic publish.

Files are written into a hidden temporary folder next to the final one; `publish`
closes them, hashes them, makes them read-only and renames the folder into place, so a
reader sees either the whole snapshot or nothing. `discard` removes everything written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from .schemas import JSON_ENCODED, schema

READ_ONLY = 0o444
HASH_BLOCK = 1 << 20


def canonical_json(row: dict) -> str:
    """One row's bytes: sorted keys, no spaces, UTF-8 as is; NaN is refused rather than written."""
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(files: list[dict]) -> str:
    """One hash for the whole snapshot: sha256 of its `sha256sum`-style listing, sorted by name."""
    listing = "".join(f"{f['sha256']}  {f['name']}\n" for f in sorted(files, key=lambda f: f["name"]))
    return hashlib.sha256(listing.encode()).hexdigest()


class _Jsonl:
    def __init__(self, path: Path):
        self.file = open(path, "w", encoding="utf-8", newline="\n", buffering=HASH_BLOCK)
        self.rows = 0

    def write(self, row: dict) -> None:
        self.file.write(canonical_json(row) + "\n")
        self.rows += 1

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
        self.published = False

    def write(self, fmt: str, split: str, row: dict) -> None:
        for ext in ("jsonl", "parquet") if self.parquet else ("jsonl",):
            name = file_name(fmt, split, ext)
            writer = self.open.get(name)
            if writer is None:
                path = self.tmp / name
                writer = _Jsonl(path) if ext == "jsonl" else _Parquet(path, fmt, ranking=self.ranking,
                                                                      batch_rows=self.batch_rows)
                self.open[name] = writer
            writer.write(row)

    def publish(self) -> list[FileInfo]:
        """Close, hash, make read-only, and move the folder into place in one rename."""
        infos = []
        for name, writer in sorted(self.open.items()):
            writer.close()
            path = self.tmp / name
            infos.append(FileInfo(name, writer.rows, sha256_file(path), path.stat().st_size))
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
