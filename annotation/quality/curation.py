"""Curation: which answers and items survive a lead's rules, with a rule-by-rule preview.

Rules apply in a fixed order, each to what the previous ones left:

 0. model_annotators           "exclude": the answers of annotators that are models (a reward model answering
                               as `ai:<name>`); "include" (the default): they count like anyone's
 1. exclude_flagged            answers flagged by their annotator
 2. exclude_both_bad           answers marking both responses bad
 3. min_annotator_reliability  answers of annotators whose Dawid-Skene reliability is lower
 4. min_gold_accuracy          answers of annotators whose gold accuracy is lower
                               (annotators with no gold answers, or missing from the
                               stats, are not judged by rules 3-4)
 5. min_answers_per_item       items left with fewer answers
 6. min_item_agreement         items whose share of agreeing answer pairs (by direction)
                               is lower; an item with one answer has no defined agreement
                               and fails this rule when it is active
    -- the consensus is computed here, once, on the answers still standing --
 7. ties                       "drop": items whose consensus is a tie (tie answers still
                               vote); "keep": nothing
 8. min_abs_strength           non-tie items whose strength is lower: the mean value of
                               their answers measured toward the consensus direction
                               (mean value x consensus direction), e.g. [-3, -3, +1] with
                               consensus "first" has strength 5/3

Adjudication (rule `adjudication`, "use" by default; "ignore" leaves rulings out): an item a lead has
settled (`adjudicated`: item key -> the value that stands, on the answers' scale) passes rules 5-6 whatever
its answers, and its consensus is the ruling: direction its sign, strength and margin its size, confidence 1.
It still needs one answer standing after rules 0-4, and rules 7-8 judge the ruling like any consensus.

An item disappears when its last answer does; the preview counts it under the rule that
removed that answer. The preview's last "remaining" figures are the result's sizes.

Rankings are curated as the pair answers they decompose into (`Answers.cluster` set: the
"item" of a row is a response pair, its cluster the ranked item, its answer_id the
ranking). Every count then names its unit: `pair_votes` (pair answers) and `pairs`
(response pairs) are what the rules act on; `answers` (rankings) and `items` (ranked
items) count those with at least one pair answer left.

Each surviving item also gets its support: per side, the strength its answers lend that
side, averaged over all its answers (|value| for an answer on that side, 0 for a tie or
the other side). The support of the consensus side is the item's `margin`: never negative,
0..3 on the pairwise scale, the share of votes for rankings' pairs (each vote is 1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .agreement import direction_table, item_agreement
from .annotators import gold_hits, rate_by
from .answers import Answers, group_by
from .consensus import METHODS, consensus
from .dawid_skene import dawid_skene
from .report import json_safe, select_criterion

RULES = ("model_annotators", "exclude_flagged", "exclude_both_bad", "min_annotator_reliability", "min_gold_accuracy",
         "min_answers_per_item", "min_item_agreement", "ties", "min_abs_strength")


RANGES = {"min_answers_per_item": (1, 1000), "min_item_agreement": (0.0, 1.0), "min_annotator_reliability": (0.0, 1.0),
          "min_gold_accuracy": (0.0, 1.0), "min_abs_strength": (0.0, 3.0)}


@dataclass(frozen=True)
class CurationRules:
    min_answers_per_item: int | None = None
    min_item_agreement: float | None = None
    min_annotator_reliability: float | None = None
    min_gold_accuracy: float | None = None
    exclude_flagged: bool = False
    exclude_both_bad: bool = False
    ties: str = "keep"
    min_abs_strength: float | None = None
    consensus: str = "majority"
    model_annotators: str = "include"
    adjudication: str = "use"

    def __post_init__(self) -> None:
        if self.adjudication not in ("use", "ignore"):
            raise ValueError(f"adjudication: expected 'use' or 'ignore', got {self.adjudication!r}")
        if self.model_annotators not in ("include", "exclude"):
            raise ValueError(f"model_annotators: expected 'include' or 'exclude', got {self.model_annotators!r}")
        if self.ties not in ("drop", "keep"):
            raise ValueError(f"ties: expected 'drop' or 'keep', got {self.ties!r}")
        if self.consensus not in METHODS:
            raise ValueError(f"consensus: expected one of {METHODS}, got {self.consensus!r}")
        for name in ("min_answers_per_item", "min_item_agreement", "min_annotator_reliability",
                     "min_gold_accuracy", "min_abs_strength"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise ValueError(f"{name}: expected a number or null, got {value!r}")
            low, high = RANGES[name]
            if value is not None and not low <= value <= high:
                raise ValueError(f"{name}: expected a value from {low} to {high}, got {value!r}")
        if self.min_answers_per_item is not None and self.min_answers_per_item != int(self.min_answers_per_item):
            raise ValueError(f"min_answers_per_item: expected a whole number, got {self.min_answers_per_item!r}")
        for name in ("exclude_flagged", "exclude_both_bad"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name}: expected true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, rules: Mapping[str, Any]) -> CurationRules:
        known = {f.name for f in fields(cls)}
        for name in rules:
            if name not in known:
                raise ValueError(f"{name}: unknown curation rule; expected one of {sorted(known)}")
        return cls(**rules)


@dataclass(frozen=True)
class CurationResult:
    answer_mask: np.ndarray  # per input row of the selected answers: survives?
    answer_ids: np.ndarray  # answer_id of the survivors
    items: np.ndarray  # surviving item keys, ordered
    consensus: np.ndarray  # -1 / 0 / +1 per surviving item
    strength: np.ndarray  # mean value toward the consensus direction (what min_abs_strength reads; may be < 0)
    confidence: np.ndarray  # vote share (majority) or posterior (Dawid-Skene)
    initial: dict[str, int]
    preview: list[dict[str, Any]]
    support_first: np.ndarray  # mean strength the item's answers lend the first (lower id) side, >= 0
    support_second: np.ndarray  # the same for the second side
    adjudicated: np.ndarray | None = None  # per surviving item: is its consensus a lead's ruling?

    def margin_toward(self, direction: np.ndarray) -> np.ndarray:
        """Support of the given side per surviving item (0 where the side is a tie)."""
        return np.where(direction < 0, self.support_first, np.where(direction > 0, self.support_second, 0.0))

    @property
    def remaining(self) -> dict[str, int]:
        """What the last rule left, in the units of `initial`."""
        last = self.preview[-1] if self.preview else {f"remaining_{unit}": n for unit, n in self.initial.items()}
        return {unit: last[f"remaining_{unit}"] for unit in self.initial}

    @property
    def margin(self) -> np.ndarray:
        """How strongly the answers back the consensus: its side's support, 0..3 (0 for a tie)."""
        return self.margin_toward(self.consensus)

    def to_dict(self) -> dict[str, Any]:
        items = [{"item": i, "consensus": c, "strength": s, "margin": m, "confidence": p}
                 for i, c, s, m, p in zip(self.items.tolist(), self.consensus.tolist(), self.strength.tolist(),
                                          self.margin.tolist(), self.confidence.tolist(), strict=True)]
        return json_safe({"initial": self.initial, "preview": self.preview,
                          "answer_ids": self.answer_ids, "items": items})


def curate(
    answers: Answers,
    rules: CurationRules | Mapping[str, Any],
    *,
    annotator_stats: Mapping[int, Mapping[str, Any]] | Sequence[Mapping[str, Any]] | None = None,
    criterion: str | None = None,
    model_annotators: Sequence[int] = (),
    adjudicated: Mapping[int, float] | None = None,
) -> CurationResult:
    """Apply `rules` (see the module docstring for the order) and preview each step.

    `annotator_stats` maps annotator code -> {"ds_reliability", "gold_accuracy"}, or is
    the `annotators` list of `agreement_report` (built without names). When None, the
    figures are computed from these answers. `model_annotators` lists the codes of annotators that are models.
    `adjudicated` maps item keys to the value a lead ruled stands (see the module docstring).
    """
    rules = rules if isinstance(rules, CurationRules) else CurationRules.from_dict(rules)
    answers = select_criterion(answers, criterion)
    tracker = _Tracker(answers)
    stats = _stats_lookup(answers, annotator_stats, rules)
    tracker.apply("model_annotators", _answer_rule(rules.model_annotators == "exclude",
                                                   np.isin(answers.annotator, np.asarray(model_annotators, int))))
    tracker.apply("exclude_flagged", _answer_rule(rules.exclude_flagged, answers.flagged))
    tracker.apply("exclude_both_bad", _answer_rule(rules.exclude_both_bad, answers.both_bad))
    tracker.apply("min_annotator_reliability",
                  _annotator_rule(answers, stats.get("ds_reliability"), rules.min_annotator_reliability))
    tracker.apply("min_gold_accuracy", _annotator_rule(answers, stats.get("gold_accuracy"), rules.min_gold_accuracy))
    ruled = _rulings(tracker, adjudicated if rules.adjudication == "use" else None)
    tracker.apply("min_answers_per_item", _exempt(tracker, _count_rule(tracker, rules.min_answers_per_item), ruled))
    tracker.apply("min_item_agreement", _exempt(tracker, _agreement_rule(tracker, rules.min_item_agreement), ruled))
    agreed = _consensus_of(tracker, rules.consensus, ruled)
    tracker.apply("ties", _item_rule(tracker, agreed, lambda c, s: c != 0, rules.ties == "drop"))
    tracker.apply("min_abs_strength", _item_rule(
        tracker, agreed, lambda c, s: (c == 0) | (s >= (rules.min_abs_strength or 0)),
        rules.min_abs_strength is not None))
    return tracker.result(agreed)


class _Tracker:
    """Holds the surviving-answer mask and records what each rule removed, in every unit."""

    def __init__(self, answers: Answers):
        self.answers = answers
        self.items = group_by(answers.item)
        self.alive = np.ones(len(answers), dtype=bool)
        # unit name -> (group code of each row, number of groups); rankings count four units.
        if answers.cluster is None:
            self.units = {"answers": None, "items": (self.items.codes, self.items.n)}
        else:
            rankings, ranked = group_by(answers.answer_id), group_by(answers.cluster)
            self.units = {"answers": (rankings.codes, rankings.n), "items": (ranked.codes, ranked.n),
                          "pairs": (self.items.codes, self.items.n), "pair_votes": None}
        self.initial = self.counts()
        self.preview: list[dict[str, Any]] = []

    def item_counts(self) -> np.ndarray:
        return np.bincount(self.items.codes[self.alive], minlength=self.items.n)

    def counts(self) -> dict[str, int]:
        """How many of each unit are left: rows themselves, or groups with a row left."""
        out = {}
        for unit, groups in self.units.items():
            if groups is None:
                out[unit] = int(self.alive.sum())
            else:
                codes, n = groups
                out[unit] = int((np.bincount(codes[self.alive], minlength=n) > 0).sum())
        return out

    def apply(self, rule: str, keep: np.ndarray | None) -> None:
        before = self.counts()
        if keep is not None:
            self.alive &= keep
        after = self.counts()
        step: dict[str, Any] = {"rule": rule, "active": keep is not None}
        step.update({f"removed_{unit}": before[unit] - after[unit] for unit in after})
        step.update({f"remaining_{unit}": after[unit] for unit in after})
        self.preview.append(step)

    def result(self, agreed) -> CurationResult:
        alive_items = self.item_counts() > 0
        return CurationResult(
            answer_mask=self.alive.copy(), answer_ids=self.answers.answer_id[self.alive],
            items=self.items.keys[alive_items], consensus=agreed["direction"][alive_items],
            strength=agreed["strength"][alive_items], confidence=agreed["confidence"][alive_items],
            initial=self.initial, preview=self.preview,
            support_first=agreed["support_first"][alive_items], support_second=agreed["support_second"][alive_items],
            adjudicated=agreed["adjudicated"][alive_items])


def _answer_rule(active: bool, column: np.ndarray | None) -> np.ndarray | None:
    if not active:
        return None
    if column is None:
        raise ValueError("answers: this rule needs a column the answers do not carry")
    return ~column


def _annotator_rule(answers: Answers, figures: dict[int, float] | None, minimum: float | None):
    if minimum is None:
        return None
    lookup = figures or {}
    raters = group_by(answers.annotator)
    figure = np.array([lookup.get(code, np.nan) for code in raters.keys.tolist()], dtype=np.float64)
    figure = np.where(np.isfinite(figure), figure, np.inf)  # unknown: not judged
    return (figure >= minimum)[raters.codes]


def _count_rule(tracker: _Tracker, minimum: int | None):
    if minimum is None:
        return None
    return tracker.item_counts()[tracker.items.codes] >= minimum


def _agreement_rule(tracker: _Tracker, minimum: float | None):
    if minimum is None:
        return None
    alive = tracker.alive
    table = direction_table(tracker.items.codes[alive], tracker.items.n, tracker.answers.direction[alive])
    agreement = np.nan_to_num(item_agreement(table), nan=-np.inf)
    return agreement[tracker.items.codes] >= minimum


def _rulings(tracker: _Tracker, adjudicated: Mapping[int, float] | None) -> np.ndarray:
    """Per item group: the value a lead ruled stands, NaN where there is no ruling."""
    ruled = np.full(tracker.items.n, np.nan)
    for key, value in (adjudicated or {}).items():
        at = int(np.searchsorted(tracker.items.keys, key))
        if at < tracker.items.n and tracker.items.keys[at] == key:
            ruled[at] = float(value)
    return ruled


def _exempt(tracker: _Tracker, keep: np.ndarray | None, ruled: np.ndarray) -> np.ndarray | None:
    """A rule's verdict with the settled items' answers kept."""
    return None if keep is None else keep | np.isfinite(ruled)[tracker.items.codes]


def _consensus_of(tracker: _Tracker, method: str, ruled: np.ndarray) -> dict[str, np.ndarray]:
    """Consensus, strength and confidence per item (all items; dead ones get 0 / NaN); a ruling overrides."""
    n = tracker.items.n
    out = {"direction": np.zeros(n, dtype=np.int64), "strength": np.full(n, np.nan), "confidence": np.full(n, np.nan),
           "support_first": np.zeros(n), "support_second": np.zeros(n), "adjudicated": np.zeros(n, dtype=bool)}
    alive = tracker.alive
    if not alive.any():
        return out
    found = consensus(tracker.answers.subset(alive), method)
    where = np.searchsorted(tracker.items.keys, found.items)
    out["direction"][where] = found.direction
    out["confidence"][where] = found.confidence
    codes, value = tracker.items.codes[alive], tracker.answers.value[alive]
    answered = np.maximum(np.bincount(codes, minlength=n), 1)
    mean = np.bincount(codes, weights=value, minlength=n) / answered
    out["strength"][where] = mean[where] * found.direction
    out["support_first"] = np.bincount(codes, weights=np.maximum(-value, 0.0), minlength=n) / answered
    out["support_second"] = np.bincount(codes, weights=np.maximum(value, 0.0), minlength=n) / answered
    settled = np.isfinite(ruled)
    out["adjudicated"] = settled
    out["direction"][settled] = np.sign(ruled[settled]).astype(np.int64)
    out["strength"][settled] = np.abs(ruled[settled])
    out["confidence"][settled] = 1.0
    out["support_first"][settled] = np.maximum(-ruled[settled], 0.0)
    out["support_second"][settled] = np.maximum(ruled[settled], 0.0)
    return out


def _item_rule(tracker: _Tracker, agreed, keeps, active: bool):
    if not active:
        return None
    keep_item = keeps(agreed["direction"], np.nan_to_num(agreed["strength"], nan=-np.inf))
    return keep_item[tracker.items.codes]


def _stats_lookup(answers: Answers, given, rules: CurationRules) -> dict[str, dict[int, float]]:
    """{"ds_reliability": {code: x}, "gold_accuracy": {code: y}} from the caller or computed."""
    if given is not None:
        entries = given.items() if isinstance(given, Mapping) else ((e["annotator"], e) for e in given)
        out: dict[str, dict[int, float]] = {"ds_reliability": {}, "gold_accuracy": {}}
        for code, entry in entries:
            for key in out:
                if entry.get(key) is not None:
                    out[key][int(code)] = float(entry[key])
        return out
    out = {}
    if rules.min_annotator_reliability is not None and len(answers):
        model = dawid_skene(answers.item, answers.annotator, answers.direction)
        out["ds_reliability"] = dict(zip(model.annotators.tolist(), model.reliability.tolist(), strict=True))
    if rules.min_gold_accuracy is not None and len(answers):
        raters = group_by(answers.annotator)
        gold = rate_by(raters.codes, raters.n, *gold_hits(answers))
        out["gold_accuracy"] = dict(zip(raters.keys.tolist(), gold.rate.tolist(), strict=True))
    return out
