"""Rankings: decomposition into pairwise preferences, Kendall's tau and W, Bradley-Terry.

A ranking lists response ids best first. Decomposing it yields one pairwise answer per
pair of its responses, keyed by (item, lower id, higher id): the lower id plays the
stored-first response, so -1 means the lower id was ranked higher. All pairwise
statistics then apply unchanged, with the response pair as the unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from .answers import Answers, group_by, within_group_pairs


def _records(**columns: np.ndarray) -> np.ndarray:
    """Integer columns as one structured array, so np.unique groups by the tuple."""
    n = len(next(iter(columns.values())))
    out = np.empty(n, dtype=[(name, np.int64) for name in columns])
    for name, column in columns.items():
        out[name] = column
    return out


@dataclass(frozen=True)
class Rankings:
    """One row per ranking; `order` is (n, K) response ids best first, padded with -1."""

    item: np.ndarray
    annotator: np.ndarray
    order: np.ndarray

    @classmethod
    def from_lists(cls, item, annotator, rankings: Sequence[Sequence[int]]) -> Rankings:
        width = max((len(r) for r in rankings), default=2)
        order = np.full((len(rankings), width), -1, dtype=np.int64)
        for row, ranking in enumerate(rankings):
            order[row, : len(ranking)] = ranking
        return cls(np.asarray(item, dtype=np.int64), np.asarray(annotator, dtype=np.int64), order)


@dataclass(frozen=True)
class Decomposed:
    answers: Answers  # item = pair unit code; value = -1 (lower id better) or +1
    unit_item: np.ndarray  # per unit code: the ranked item
    unit_first: np.ndarray  # per unit code: the lower response id
    unit_second: np.ndarray  # per unit code: the higher response id


def decompose_rankings(rankings: Rankings) -> Decomposed:
    """Every ranking becomes its C(K, 2) pairwise preferences (K=4 gives 6)."""
    order = np.asarray(rankings.order, dtype=np.int64)
    n, width = order.shape if order.ndim == 2 else (0, 0)
    position_pairs = np.array(list(combinations(range(width), 2)), dtype=np.int64).reshape(-1, 2)
    better, worse = order[:, position_pairs[:, 0]].ravel(), order[:, position_pairs[:, 1]].ravel()
    row = np.repeat(np.arange(n), position_pairs.shape[0])
    present = (better >= 0) & (worse >= 0)
    better, worse, row = better[present], worse[present], row[present]
    first, second = np.minimum(better, worse), np.maximum(better, worse)
    item = np.asarray(rankings.item, dtype=np.int64)[row]
    units = group_by(_records(item=item, first=first, second=second))
    answers = Answers(item=units.codes, annotator=np.asarray(rankings.annotator)[row],
                      value=np.where(better == first, -1.0, 1.0))
    keys = units.keys
    return Decomposed(answers, np.asarray(keys["item"]), np.asarray(keys["first"]), np.asarray(keys["second"]))


@dataclass(frozen=True)
class PairTaus:
    annotator_a: np.ndarray
    annotator_b: np.ndarray
    n_items: np.ndarray  # items both ranked
    tau: np.ndarray  # mean over those items of Kendall's tau


def kendall_tau_pairs(decomposed: Decomposed) -> PairTaus:
    """Mean Kendall's tau between every two annotators over the items both ranked.

    Rankings hold no ties, so on one item tau = (concordant - discordant) / C(K, 2), the
    mean over response pairs of the product of the two directions; this equals
    `scipy.stats.kendalltau` (tau-b without ties) and is computed for all pairs at once.
    """
    answers = decomposed.answers
    first, second = within_group_pairs(answers.item)
    raters = group_by(answers.annotator)
    a, b = raters.codes[first], raters.codes[second]
    keep = a != b
    a, b, product = a[keep], b[keep], (answers.value[first] * answers.value[second])[keep]
    item = decomposed.unit_item[answers.item[first[keep]]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    per_item = group_by(_records(a=low, b=high, item=item))
    tau_item = np.bincount(per_item.codes, weights=product, minlength=per_item.n) / np.maximum(per_item.sizes, 1)
    keys = per_item.keys
    pair = group_by(np.asarray(keys["a"]) * max(raters.n, 1) + np.asarray(keys["b"]))
    tau = np.bincount(pair.codes, weights=tau_item, minlength=pair.n) / np.maximum(pair.sizes, 1)
    return PairTaus(raters.keys[pair.keys // max(raters.n, 1)], raters.keys[pair.keys % max(raters.n, 1)],
                    pair.sizes, tau)


def kendall_w(rankings: Rankings) -> tuple[np.ndarray, np.ndarray]:
    """(items, W): Kendall's coefficient of concordance per item (NaN with < 2 rankings).

    W = 12 S / (m^2 (K^3 - K)), S the sum of squared deviations of the responses' rank
    sums from their mean; rankings are complete and tie-free, so no tie correction.
    """
    order = np.asarray(rankings.order, dtype=np.int64)
    items = group_by(rankings.item)
    width = (order >= 0).sum(axis=1)
    k = np.bincount(items.codes, weights=width, minlength=items.n) / np.maximum(items.sizes, 1)
    row, position = np.nonzero(order >= 0)
    responses = group_by(_records(item=items.codes[row], response=order[row, position]))
    rank_sum = np.bincount(responses.codes, weights=position + 1.0, minlength=responses.n)
    owner = np.asarray(responses.keys["item"]) if responses.n else np.zeros(0, np.int64)
    m = items.sizes.astype(np.float64)
    deviation = rank_sum - (m * (k + 1) / 2)[owner]
    spread = np.bincount(owner, weights=deviation**2, minlength=items.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 12 * spread / (m**2 * (k**3 - k))
    return items.keys, np.where((m >= 2) & (k >= 2), w, np.nan)


@dataclass(frozen=True)
class BradleyTerry:
    item: np.ndarray  # per response: its item
    response: np.ndarray  # response ids
    strength: np.ndarray  # per response; within an item they sum to the item's response count
    n_iter: int


def bradley_terry(decomposed: Decomposed, *, prior: float = 0.1, tol: float = 1e-9,
                  max_iter: int = 1000) -> BradleyTerry:
    """Bradley-Terry strengths of every item's responses by Hunter's (2004) MM algorithm.

    Wins come from the decomposed preferences, a tie counting half a win each way. Every
    compared pair also gets `prior` virtual comparisons split evenly, which keeps the
    maximum-likelihood strengths finite when a response lost every comparison (the order
    of clearly separated responses does not change). All items are fitted together, one
    bincount per step.
    """
    units, wins_first, wins_second = _unit_wins(decomposed, prior)
    players = group_by(_records(item=np.tile(decomposed.unit_item, 2),
                                response=np.concatenate([decomposed.unit_first, decomposed.unit_second])))
    n_units = units.shape[0]
    left, right = players.codes[:n_units], players.codes[n_units:]
    owner = group_by(np.asarray(players.keys["item"])) if players.n else group_by(np.zeros(0, np.int64))
    wins = np.bincount(left, weights=wins_first, minlength=players.n) + \
        np.bincount(right, weights=wins_second, minlength=players.n)
    games = wins_first + wins_second
    strength, n_iter, change = np.ones(players.n), 0, np.inf
    while n_iter < max_iter and change >= tol:
        n_iter += 1
        per_game = games / (strength[left] + strength[right])
        denominator = np.bincount(left, weights=per_game, minlength=players.n) + \
            np.bincount(right, weights=per_game, minlength=players.n)
        updated = _normalise(wins / denominator, owner)
        change = np.max(np.abs(updated - strength)) if players.n else 0.0
        strength = updated
    return BradleyTerry(np.asarray(players.keys["item"]), np.asarray(players.keys["response"]), strength, n_iter)


def _unit_wins(decomposed: Decomposed, prior: float):
    answers = decomposed.answers
    n_units = decomposed.unit_item.shape[0]
    first = np.bincount(answers.item, weights=(answers.value < 0) + 0.5 * (answers.value == 0), minlength=n_units)
    second = np.bincount(answers.item, weights=(answers.value > 0) + 0.5 * (answers.value == 0), minlength=n_units)
    return np.arange(n_units), first + prior / 2, second + prior / 2


def _normalise(strength: np.ndarray, owner) -> np.ndarray:
    """Scale each item's strengths to mean 1 (BT is invariant to a per-item scale)."""
    totals = np.bincount(owner.codes, weights=strength, minlength=owner.n)
    return strength * owner.sizes[owner.codes] / totals[owner.codes]


def consensus_orders(fit: BradleyTerry) -> dict[int, list[int]]:
    """Per item, its response ids strongest first (lower id first on equal strength)."""
    order = np.lexsort((fit.response, -fit.strength, fit.item))
    items, responses = fit.item[order], fit.response[order]
    starts = np.flatnonzero(np.r_[True, items[1:] != items[:-1]]) if items.size else np.zeros(0, int)
    bounds = np.r_[starts, items.size]
    return {int(items[s]): responses[s:e].tolist() for s, e in zip(bounds[:-1], bounds[1:], strict=True)}
