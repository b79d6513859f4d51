"""Reading a snapshot's files as they are, into `datasets.Dataset`s in TRL's conversational form."""

from __future__ import annotations

from pathlib import Path

from .files import read_jsonl

# The columns each trainer reads; a snapshot's extra columns (ids, agreement, ranks) stay out of the batches.
COLUMNS = {
    "sft": ("messages",),
    "reward": ("prompt", "chosen", "rejected"),
    "dpo": ("prompt", "chosen", "rejected"),
    "kto": ("prompt", "completion", "label"),
    "rloo": ("prompt",),
    "grpo": ("prompt",),
}
FORMAT = {"sft": "sft", "reward": "preference", "dpo": "preference", "kto": "kto", "rloo": "prompts",
          "grpo": "prompts"}


def read_rows(snapshot_dir: Path, fmt: str, split: str) -> list[dict]:
    return read_jsonl(Path(snapshot_dir) / f"{fmt}-{split}.jsonl")


def load_split(snapshot_dir: Path, kind: str, split: str, *, use_margin: bool = False):
    """The split's rows with the columns the kind's trainer reads (None when the split has no rows)."""
    from datasets import Dataset

    rows = read_rows(snapshot_dir, FORMAT[kind], split)
    if not rows:
        return None
    keep = COLUMNS[kind] + (("margin",) if use_margin else ())
    return Dataset.from_list([{k: row[k] for k in keep} for row in rows])


def eval_prompts(snapshot_dir: Path, n: int) -> list[list[dict]]:
    """Up to n held-out prompts (the test split of `prompts`, else of the kind's own files)."""
    rows = read_rows(snapshot_dir, "prompts", "test") or read_rows(snapshot_dir, "prompts", "train")
    return [row["prompt"] for row in rows[:n]]
