"""Rankings: decomposition into pairwise preferences, Kendall's tau and W, Bradley-Terry.

A ranking lists response ids best first, possibly with ties (groups of equally good
responses). Decomposing it yields one pairwise answer per pair of its responses, keyed by
(item, lower id, higher id): the lower id plays the stored-first response, so -1 means the
lower id was ranked higher and 0 that the two were tied. All pairwise statistics then apply
unchanged, with the response pair as the unit; a tied pair is a tie answer everywhere.
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


Ranking = Sequence[int | Sequence[int]]  # best first; an entry that is a list is a group of tied ids


def ranking_groups(ranking: Ranking) -> list[list[int]]:
    """Groups best first, each group's ids ascending (a bare id is a group of one)."""
    return [sorted(entry) if isinstance(entry, Sequence) else [int(entry)] for entry in ranking]


@dataclass(frozen=True)
class Rankings:
    """One row per ranking, padded with -1: `order` (n, K) response ids best first (tied ids
    ascending), `rank` (n, K) the 0-based group of each position (equal in a row: tied).

    `answer_id` and `flagged` follow the ranking into its decomposed pairs, so curation can
    count and drop rankings as answers.
    """

    item: np.ndarray
    annotator: np.ndarray
    order: np.ndarray
    rank: np.ndarray | None = None
    answer_id: np.ndarray | None = None
    flagged: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rank is None:  # no ties: each position is its own group
            order = np.asarray(self.order)
            positions = np.broadcast_to(np.arange(order.shape[-1] if order.ndim == 2 else 0), order.shape)
            object.__setattr__(self, "rank", np.where(order >= 0, positions, -1).astype(np.int64))
        if self.answer_id is None:
            object.__setattr__(self, "answer_id", np.arange(np.asarray(self.item).shape[0], dtype=np.int64))

    @classmethod
    def from_lists(cls, item, annotator, rankings: Sequence[Ranking], *, answer_id=None, flagged=None) -> Rankings:
        """Rankings as ids best first, or as groups best first (a list entry is a tie)."""
        # Most rankings hold no tie: those are their own order and rank, with no grouping in Python.
        grouped = [ranking_groups(r) if any(isinstance(e, (list, tuple)) for e in r) else r for r in rankings]
        width = max((sum(len(e) if isinstance(e, list) else 1 for e in r) for r in grouped), default=2)
        order = np.full((len(grouped), width), -1, dtype=np.int64)
        rank = np.full((len(grouped), width), -1, dtype=np.int64)
        for row, groups in enumerate(grouped):
            if groups and isinstance(groups[0], list):
                flat = [r for group in groups for r in group]
                rank[row, : len(flat)] = [g for g, group in enumerate(groups) for _ in group]
            else:
                flat = groups
                rank[row, : len(flat)] = np.arange(len(flat))
            order[row, : len(flat)] = flat
        optional = {name: None if value is None else np.asarray(value)
                    for name, value in (("answer_id", answer_id), ("flagged", flagged))}
        return cls(np.asarray(item, dtype=np.int64), np.asarray(annotator, dtype=np.int64), order, rank, **optional)

    @property
    def has_ties(self) -> bool:
        rank = np.asarray(self.rank)
        return bool(((rank[:, 1:] == rank[:, :-1]) & (rank[:, 1:] >= 0)).any()) if rank.size else False


@dataclass(frozen=True)
class Decomposed:
    answers: Answers  # item = pair unit code; value = -1 (lower id better), 0 (tied) or +1
    unit_item: np.ndarray  # per unit code: the ranked item
    unit_first: np.ndarray  # per unit code: the lower response id
    unit_second: np.ndarray  # per unit code: the higher response id


def decompose_rankings(rankings: Rankings) -> Decomposed:
    """Every ranking becomes its C(K, 2) pairwise preferences (K=4 gives 6); tied pairs are ties.

    Each pair answer keeps its ranking's `answer_id` (and `flagged`), so a ranking's pairs
    can be traced back to it.
    """
    order, rank = np.asarray(rankings.order, dtype=np.int64), np.asarray(rankings.rank, dtype=np.int64)
    n, width = order.shape if order.ndim == 2 else (0, 0)
    position_pairs = np.array(list(combinations(range(width), 2)), dtype=np.int64).reshape(-1, 2)
    better, worse = order[:, position_pairs[:, 0]].ravel(), order[:, position_pairs[:, 1]].ravel()
    tied = (rank[:, position_pairs[:, 0]] == rank[:, position_pairs[:, 1]]).ravel()
    row = np.repeat(np.arange(n), position_pairs.shape[0])
    present = (better >= 0) & (worse >= 0)
    better, worse, tied, row = better[present], worse[present], tied[present], row[present]
    first, second = np.minimum(better, worse), np.maximum(better, worse)
    item = np.asarray(rankings.item, dtype=np.int64)[row]
    units = group_by(_records(item=item, first=first, second=second))
    flagged = None if rankings.flagged is None else np.asarray(rankings.flagged, dtype=bool)[row]
    answers = Answers(item=units.codes, annotator=np.asarray(rankings.annotator)[row],
                      value=np.where(tied, 0.0, np.where(better == first, -1.0, 1.0)),
                      answer_id=np.asarray(rankings.answer_id, dtype=np.int64)[row], cluster=item,
                      flagged=flagged, both_bad=None if flagged is None else np.zeros(row.shape[0], dtype=bool))
    keys = units.keys
    return Decomposed(answers, np.asarray(keys["item"]), np.asarray(keys["first"]), np.asarray(keys["second"]))


@dataclass(frozen=True)
class PairTaus:
    annotator_a: np.ndarray
    annotator_b: np.ndarray
    n_items: np.ndarray  # items both ranked on which tau-b is defined
    tau: np.ndarray  # mean over those items of Kendall's tau-b


def kendall_tau_pairs(decomposed: Decomposed) -> PairTaus:
    """Mean Kendall's tau-b between every two annotators over the items both ranked.

    On one item, with x and y the two annotators' directions (-1, 0, +1) on each response
    pair both ranked, tau-b = sum(x y) / sqrt(#{x != 0} #{y != 0}): concordant minus
    discordant pairs over the geometric mean of the pairs each left untied. This is
    `scipy.stats.kendalltau` (variant 'b') for all annotator pairs at once. An item on which
    either annotator tied everything has no tau-b and is left out of the mean.
    """
    answers = decomposed.answers
    first, second = within_group_pairs(answers.item)
    raters = group_by(answers.annotator)
    a, b = raters.codes[first], raters.codes[second]
    keep = a != b
    a, b, x, y = a[keep], b[keep], answers.value[first][keep], answers.value[second][keep]
    item = decomposed.unit_item[answers.item[first[keep]]]
    low, high = np.minimum(a, b), np.maximum(a, b)
    per_item = group_by(_records(a=low, b=high, item=item))
    sums = {name: np.bincount(per_item.codes, weights=w, minlength=per_item.n)
            for name, w in (("xy", x * y), ("x", (x != 0).astype(float)), ("y", (y != 0).astype(float)))}
    untied = sums["x"] * sums["y"]
    defined = untied > 0
    tau_item = sums["xy"] / np.sqrt(np.where(defined, untied, 1.0))
    keys = per_item.keys
    pair = group_by(np.asarray(keys["a"]) * max(raters.n, 1) + np.asarray(keys["b"]))
    n_defined = np.bincount(pair.codes, weights=defined, minlength=pair.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.bincount(pair.codes, weights=np.where(defined, tau_item, 0.0), minlength=pair.n) / n_defined
    return PairTaus(raters.keys[pair.keys // max(raters.n, 1)], raters.keys[pair.keys % max(raters.n, 1)],
                    n_defined.astype(np.int64), tau)


def mid_ranks(rankings: Rankings) -> tuple[np.ndarray, np.ndarray]:
    """(n, K) 1-based ranks with tied responses sharing the mean of their places, and per
    position the size of its tie group (1 when untied); 0 on padding."""
    rank = np.asarray(rankings.rank, dtype=np.int64)
    present = rank >= 0
    same = (rank[:, :, None] == rank[:, None, :]) & present[:, None, :]
    above = ((rank[:, None, :] < rank[:, :, None]) & present[:, None, :]).sum(axis=2)
    size = np.where(present, same.sum(axis=2), 0)
    return np.where(present, above + (size + 1) / 2, 0.0), size


def kendall_w(rankings: Rankings) -> tuple[np.ndarray, np.ndarray]:
    """(items, W): Kendall's coefficient of concordance per item (NaN with < 2 rankings).

    W = 12 S / (m^2 (K^3 - K) - m T), S the sum of squared deviations of the responses'
    rank sums from their mean m (K + 1) / 2, tied responses taking their mid-rank, and
    T = sum over rankings and tie groups of t^3 - t (Kendall and Babington Smith's tie
    correction; T = 0 without ties). Undefined when every ranking ties everything.
    """
    order = np.asarray(rankings.order, dtype=np.int64)
    items = group_by(rankings.item)
    ranks, size = mid_ranks(rankings)
    width = (order >= 0).sum(axis=1)
    k = np.bincount(items.codes, weights=width, minlength=items.n) / np.maximum(items.sizes, 1)
    ties = np.bincount(items.codes, weights=(np.maximum(size, 1) ** 2 - 1).sum(axis=1) * 1.0, minlength=items.n)
    row, position = np.nonzero(order >= 0)
    responses = group_by(_records(item=items.codes[row], response=order[row, position]))
    rank_sum = np.bincount(responses.codes, weights=ranks[row, position], minlength=responses.n)
    owner = np.asarray(responses.keys["item"]) if responses.n else np.zeros(0, np.int64)
    m = items.sizes.astype(np.float64)
    deviation = rank_sum - (m * (k + 1) / 2)[owner]
    spread = np.bincount(owner, weights=deviation**2, minlength=items.n)
    denominator = m**2 * (k**3 - k) - m * ties
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 12 * spread / denominator
    return items.keys, np.where((m >= 2) & (k >= 2) & (denominator > 0), w, np.nan)


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


EQUAL_STRENGTH = 1e-9  # strengths have mean 1 per item; closer than this they are equal


def consensus_ranks(fit: BradleyTerry, *, tolerance: float = EQUAL_STRENGTH) -> np.ndarray:
    """Per response of `fit`, its 0-based place among its item's groups of equal strength (0: strongest).

    Responses whose strengths differ by less than `tolerance` (chained: a~b and b~c puts all
    three together) share a group. Without it, two responses the data cannot tell apart (say,
    each preferred once over the other) would be ordered by the last bits of the MM iteration,
    which depend on the order of floating-point sums, not on the answers.
    """
    order = np.lexsort((fit.response, -fit.strength, fit.item))
    items, strength = fit.item[order], fit.strength[order]
    if not items.size:
        return np.zeros(0, dtype=np.int64)
    new_item = np.r_[True, items[1:] != items[:-1]]
    group = np.cumsum(new_item | np.r_[True, (strength[:-1] - strength[1:]) >= tolerance]) - 1
    first_group = group[new_item][np.cumsum(new_item) - 1]
    ranks = np.empty(items.size, dtype=np.int64)
    ranks[order] = group - first_group
    return ranks


def consensus_groups(fit: BradleyTerry, *, tolerance: float = EQUAL_STRENGTH) -> dict[int, list[list[int]]]:
    """Per item, its responses strongest first in groups of equal strength (see `consensus_ranks`), ids ascending."""
    ranks = consensus_ranks(fit, tolerance=tolerance)
    order = np.lexsort((fit.response, ranks, fit.item))
    out: dict[int, list[list[int]]] = {}
    for item, rank, response in zip(fit.item[order].tolist(), ranks[order].tolist(), fit.response[order].tolist(),
                                    strict=True):
        groups = out.setdefault(item, [])
        if len(groups) == rank:
            groups.append([])
        groups[rank].append(response)
    return out


def pair_directions(fit: BradleyTerry, unit_item: np.ndarray, first: np.ndarray, second: np.ndarray, *,
                    tolerance: float = EQUAL_STRENGTH) -> np.ndarray:
    """Per response pair (item, lower id, higher id), how the consensus orders it: -1 the lower id
    ahead, 0 the same group, +1 the higher id ahead. Every response must be in `fit`."""
    ranks = consensus_ranks(fit, tolerance=tolerance)
    n_players, n = fit.item.shape[0], np.asarray(unit_item).shape[0]
    keys = group_by(_records(item=np.concatenate([fit.item, unit_item, unit_item]),
                             response=np.concatenate([fit.response, first, second])))
    rank_of = np.zeros(keys.n, dtype=np.int64)
    rank_of[keys.codes[:n_players]] = ranks
    rank_first, rank_second = rank_of[keys.codes[n_players:n_players + n]], rank_of[keys.codes[n_players + n:]]
    return np.sign(rank_first - rank_second).astype(np.int64)


def consensus_orders(fit: BradleyTerry) -> dict[int, list[int]]:
    """Per item, its response ids strongest first (lower id first on equal strength)."""
    return {item: [r for group in groups for r in group] for item, groups in consensus_groups(fit).items()}
