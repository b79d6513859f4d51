"""Consensus direction per item: majority vote or Dawid-Skene."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .agreement import direction_table
from .answers import Answers, group_by
from .dawid_skene import DawidSkeneResult, dawid_skene

METHODS = ("majority", "dawid_skene")


def majority_direction(table: np.ndarray) -> np.ndarray:
    """Most frequent direction per row of a (first, tie, second) count table.

    Tie-breaking: when two or more directions share the top count the consensus is a tie
    (0). A split vote is evidence of no clear preference, and this rule is symmetric in
    the two responses and needs no randomness. Rows without answers get 0.
    """
    table = np.asarray(table)
    if table.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    top = table.max(axis=1)
    contested = (table == top[:, None]).sum(axis=1) > 1
    return np.where(contested, 0, np.argmax(table, axis=1) - 1).astype(np.int64)


@dataclass(frozen=True)
class Consensus:
    items: np.ndarray  # item keys, ordered
    direction: np.ndarray  # -1 / 0 / +1 per item
    confidence: np.ndarray  # share of votes (majority) or posterior (Dawid-Skene) of that direction
    model: DawidSkeneResult | None = None


def consensus(answers: Answers, method: str = "majority", **dawid_skene_options) -> Consensus:
    """Consensus direction of every item that has answers."""
    if method not in METHODS:
        raise ValueError(f"consensus: expected one of {METHODS}, got {method!r}")
    items = group_by(answers.item)
    if method == "majority":
        table = direction_table(items.codes, items.n, answers.direction)
        direction = majority_direction(table)
        share = table[np.arange(items.n), direction + 1] / np.maximum(table.sum(axis=1), 1)
        return Consensus(items.keys, direction, share)
    model = dawid_skene(answers.item, answers.annotator, answers.direction, **dawid_skene_options)
    best = np.argmax(model.posteriors, axis=1) if items.n else np.zeros(0, dtype=np.int64)
    return Consensus(model.items, model.classes[best].astype(np.int64),
                     model.posteriors[np.arange(items.n), best], model)
