"""Snapshot files: the pure part of dataset snapshots (no Django, no database).

A snapshot is a folder of files named ``<format>-<split>.<ext>``, each written in a
canonical byte form so that the same answers, rules and seed give byte-identical files:

- ``sft``: ``{"messages": [...conversation, {"role": "assistant", "content": reply}]}``
  from demonstrations (TRL ``SFTTrainer``, conversational).
- ``preference``: ``{"prompt": [...], "chosen": [assistant], "rejected": [assistant]}``
  plus ``margin`` (how strongly the answers back the chosen side, never negative; see
  ``rows.Verdict``), ``agreement`` and ``n_annotators`` (TRL
  ``DPOTrainer`` / ``RewardTrainer``; the reward trainer reads ``margin``). Pairs expanded
  from rankings also carry ``ranking_id``, ``chosen_rank``, ``rejected_rank``, ``ranking_size``.
- ``kto``: unpaired ``{"prompt", "completion", "label"}`` (TRL ``KTOTrainer``).
- ``prompts``: ``{"prompt": [...]}`` for rollouts (train) and held-out samples (test).
- ``raw``: every answer, with an annotator pseudonym, its time and the order shown.

``split`` decides train/test per prompt; ``rows`` builds the rows (``lines`` writes the most
numerous ones straight as their JSONL bytes, the same bytes); ``writers`` writes,
hashes and publishes the folder in one rename; ``schemas`` holds the Parquet schemas.
"""

from . import lines
from .rows import (
    PairVotes,
    Verdict,
    kto_rows_from_pair,
    kto_rows_from_ranking,
    preference_row,
    prompt_row,
    ranking_pairs,
    raw_row,
    sft_row,
)
from .split import pseudonym, split_of
from .writers import FileInfo, SnapshotFiles, canonical_json, file_name, fingerprint

__all__ = [
    "lines", "FileInfo", "PairVotes", "Verdict", "SnapshotFiles", "canonical_json", "file_name", "fingerprint", "kto_rows_from_pair",
    "kto_rows_from_ranking", "preference_row", "prompt_row", "pseudonym", "ranking_pairs", "raw_row", "sft_row",
    "split_of",
]
