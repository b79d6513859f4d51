"""Per-annotator figures: gold accuracy, position and length bias, speed.

All answers are compared by direction. Bias rates look only at non-tie answers, since a
tie chooses neither side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answers import Answers, group_by, group_median

READING_WPM = 600.0  # words per minute
CHARS_PER_WORD = 5.0  # the typing-speed convention for a "word"


def reading_floor_seconds(len_first, len_second, *, wpm: float = READING_WPM,
                          chars_per_word: float = CHARS_PER_WORD) -> np.ndarray:
    """Least time in which both responses can have been read.

    600 wpm is more than twice a typical adult silent-reading speed (~240 wpm) and above
    skimming speed, so an answer faster than this almost surely did not read both
    responses. Characters are turned into words at 5 per word.
    """
    characters = np.asarray(len_first, dtype=np.float64) + np.asarray(len_second, dtype=np.float64)
    return characters / chars_per_word / wpm * 60.0


@dataclass(frozen=True)
class Rate:
    """Per annotator: how many answers qualified and the share that had the property."""

    n: np.ndarray
    rate: np.ndarray


def rate_by(codes: np.ndarray, n_groups: int, qualifies: np.ndarray, hit: np.ndarray) -> Rate:
    n = np.bincount(codes[qualifies], minlength=n_groups)
    hits = np.bincount(codes[qualifies], weights=hit[qualifies].astype(np.float64), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return Rate(n, np.where(n > 0, hits / np.maximum(n, 1), np.nan))


def _always(answers: Answers) -> np.ndarray:
    return np.ones(len(answers), dtype=bool)


def gold_hits(answers: Answers) -> tuple[np.ndarray, np.ndarray]:
    """(qualifies, correct): gold answers, and whether their direction matches the gold's."""
    if answers.is_gold is None or answers.gold_value is None:
        return ~_always(answers), ~_always(answers)
    qualifies = answers.is_gold & np.isfinite(answers.gold_value)
    return qualifies, np.sign(np.nan_to_num(answers.gold_value)) == answers.direction


def position_hits(answers: Answers) -> tuple[np.ndarray, np.ndarray]:
    """(qualifies, chose the response shown first) among non-tie answers."""
    if answers.shown_first_is_stored_first is None:
        return ~_always(answers), ~_always(answers)
    chose_stored_first = answers.direction < 0
    return answers.direction != 0, chose_stored_first == answers.shown_first_is_stored_first


def length_hits(answers: Answers) -> tuple[np.ndarray, np.ndarray]:
    """(qualifies, chose the longer response) among non-tie answers on unequal lengths."""
    if answers.len_first is None or answers.len_second is None:
        return ~_always(answers), ~_always(answers)
    first, second = answers.len_first, answers.len_second
    qualifies = (answers.direction != 0) & np.isfinite(first) & np.isfinite(second) & (first != second)
    return qualifies, (answers.direction < 0) == (first > second)


def too_fast(answers: Answers, *, wpm: float = READING_WPM) -> tuple[np.ndarray, np.ndarray]:
    """(qualifies, faster than the reading floor) for answers with a time and both lengths."""
    if answers.seconds is None or answers.len_first is None or answers.len_second is None:
        return ~_always(answers), ~_always(answers)
    floor = reading_floor_seconds(answers.len_first, answers.len_second, wpm=wpm)
    qualifies = np.isfinite(answers.seconds) & np.isfinite(floor)
    return qualifies, answers.seconds < floor


@dataclass(frozen=True)
class AnnotatorStats:
    annotator: np.ndarray  # keys, ordered
    n_answers: np.ndarray
    loo_agreement: np.ndarray  # mean leave-one-out score of the annotator's answers
    gold: Rate
    position: Rate  # rate = share choosing the response shown first
    length: Rate  # rate = share choosing the longer response
    tie_rate: np.ndarray
    median_seconds: np.ndarray
    too_fast: Rate  # n = timed answers, rate = share faster than the reading floor

    @property
    def n_too_fast(self) -> np.ndarray:
        return np.rint(np.nan_to_num(self.too_fast.rate) * self.too_fast.n).astype(np.int64)


def annotator_stats(answers: Answers, loo_per_answer: np.ndarray, *, wpm: float = READING_WPM) -> AnnotatorStats:
    raters = group_by(answers.annotator)
    codes, n = raters.codes, raters.n
    loo = rate_by(codes, n, np.isfinite(loo_per_answer), np.nan_to_num(loo_per_answer))
    seconds = answers.seconds if answers.seconds is not None else np.full(len(answers), np.nan)
    return AnnotatorStats(
        annotator=raters.keys,
        n_answers=raters.sizes,
        loo_agreement=loo.rate,
        gold=rate_by(codes, n, *gold_hits(answers)),
        position=rate_by(codes, n, *position_hits(answers)),
        length=rate_by(codes, n, *length_hits(answers)),
        tie_rate=rate_by(codes, n, _always(answers), answers.direction == 0).rate,
        median_seconds=group_median(codes, n, seconds),
        too_fast=rate_by(codes, n, *too_fast(answers, wpm=wpm)),
    )


def overall_rate(qualifies: np.ndarray, hit: np.ndarray) -> float:
    return float(hit[qualifies].mean()) if qualifies.any() else float("nan")
