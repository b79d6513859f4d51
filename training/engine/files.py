"""The files an engine run and its supervisor (the worker) share, in the job's work folder.

The supervisor writes `spec.json` and, to cancel, `CANCEL`; the engine appends to
`metrics.jsonl` and `events.jsonl`, keeps `checkpoints/`, and ends by writing `result.json`
and `output/`. No torch here: the worker side reads these too.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path


def write_json_atomic(path: Path, data) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False, default=str))
    os.replace(tmp, path)


def read_jsonl(path: str | Path) -> list[dict]:
    """Every row of a JSONL file ([] when it does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_jsonl(path: Path, rows) -> str:
    """Write rows, one per line (UTF-8 as is); returns the path, as the spec records it."""
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return str(path)


def append_jsonl(path: Path, row: dict) -> None:
    """One line per call, flushed, so a reader tailing the file never sees half a row it keeps."""
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True, allow_nan=False, default=str) + "\n")
        f.flush()


class JsonlTail:
    """Reads the whole lines appended to a file since the last call (a partial last line waits)."""

    def __init__(self, path: Path):
        self.path, self.offset = path, 0

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        return [json.loads(line) for line in data[:end].splitlines() if line.strip()]


@dataclass(frozen=True)
class JobFiles:
    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "spec.json"

    @property
    def cancel(self) -> Path:
        return self.root / "CANCEL"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def result(self) -> Path:
        return self.root / "result.json"

    @property
    def log(self) -> Path:
        return self.root / "train.log"

    def cancel_requested(self) -> bool:
        return self.cancel.exists()

    def event(self, name: str, **data) -> None:
        append_jsonl(self.events, {"event": name, "time": time.time(), **data})

    def latest_checkpoint(self) -> Path | None:
        """The newest complete checkpoint (its trainer state written last), or None."""
        done = [p for p in self.checkpoints.glob("checkpoint-*") if (p / "trainer_state.json").exists()]
        return max(done, key=lambda p: int(p.name.rsplit("-", 1)[1]), default=None)
