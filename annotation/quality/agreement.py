"""Raw agreement on categorical labels: percent agreement, leave-one-out, Fleiss' kappa.

Most functions read a per-item count table (rows = items, columns = labels). Functions
that take `weights` also accept a (B, n_rows) matrix of row multiplicities and then return
B figures at once: the bootstrap resamples items by reweighting rows of this table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answers import count_table, group_by, position_in_group, within_group_pairs

TIE = 1  # column of the tie in a direction table (first, tie, second)


def direction_table(item_codes: np.ndarray, n_items: int, direction: np.ndarray) -> np.ndarray:
    """(n_items, 3) counts of first-better, tie, second-better answers."""
    return count_table(item_codes, n_items, np.asarray(direction, dtype=np.int64) + 1, 3)


def weighted_sum(weights: np.ndarray | None, rows: np.ndarray) -> np.ndarray:
    """Sum over rows, each counted `weights` times (one result per row of `weights`)."""
    rows = np.asarray(rows, dtype=np.float64)
    return rows.sum(axis=0) if weights is None else weights @ rows


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)


def _pairs(n: np.ndarray) -> np.ndarray:
    return n * (n - 1) / 2


# --- percent agreement (MT-Bench: every unordered pair of answers on an item counts once) ---


def pair_counts(table: np.ndarray, *, drop_label: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per item: agreeing pairs and all pairs; with `drop_label`, pairs touching it are left out."""
    table = np.asarray(table, dtype=np.float64)
    if drop_label is not None:
        table = np.delete(table, drop_label, axis=1)
    return _pairs(table).sum(axis=1), _pairs(table.sum(axis=1))


def percent_agreement_table(table: np.ndarray, weights: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Pooled share of agreeing pairs, with ties (two ties agree) and without ties."""
    agree, total = pair_counts(table)
    agree_nt, total_nt = pair_counts(table, drop_label=TIE)
    return {
        "with_ties": ratio(weighted_sum(weights, agree), weighted_sum(weights, total)),
        "without_ties": ratio(weighted_sum(weights, agree_nt), weighted_sum(weights, total_nt)),
    }


@dataclass(frozen=True)
class PercentAgreement:
    with_ties: float
    without_ties: float
    n_pairs: int
    n_pairs_without_ties: int


def percent_agreement(item: np.ndarray, value: np.ndarray) -> PercentAgreement:
    """MT-Bench agreement of canonical values (or directions: only the sign is used)."""
    groups = group_by(item)
    table = direction_table(groups.codes, groups.n, np.sign(np.asarray(value, dtype=np.float64)))
    figures = percent_agreement_table(table)
    return PercentAgreement(
        with_ties=float(figures["with_ties"]),
        without_ties=float(figures["without_ties"]),
        n_pairs=int(pair_counts(table)[1].sum()),
        n_pairs_without_ties=int(pair_counts(table, drop_label=TIE)[1].sum()),
    )


def item_agreement(table: np.ndarray) -> np.ndarray:
    """Per item: share of its answer pairs that agree (NaN with fewer than two answers)."""
    agree, total = pair_counts(table)
    return ratio(agree, total)


def one_vs_one_agreement(item: np.ndarray, label: np.ndarray) -> tuple[float, float]:
    """AlpacaEval `n_majority_vote_1=n_majority_vote_2=1`: mean agreement over position pairs.

    Answers are numbered by their order within the item (AlpacaEval's annotator `index`);
    for each ordered pair of positions (p, q), p != q, the agreement over items that have
    both is one result. Returns their mean and their standard error ("sem_annotators").
    """
    codes = group_by(item).codes
    position = position_in_group(codes)
    first, second = within_group_pairs(codes)
    if first.size == 0:
        return float("nan"), float("nan")
    agree = (np.asarray(label)[first] == np.asarray(label)[second]).astype(np.float64)
    pair_key = group_by(np.minimum(position[first], position[second]) * (position.max() + 1)
                        + np.maximum(position[first], position[second]))
    per_pair = np.bincount(pair_key.codes, weights=agree) / pair_key.sizes
    ordered = np.repeat(per_pair, 2)  # (p, q) and (q, p) score the same
    return float(ordered.mean()), _sem(ordered)


def _sem(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan")
    return float(values.std(ddof=1) / np.sqrt(values.size))


# --- leave-one-out agreement (AlpacaEval "human agreement") ---


def loo_label_scores(table: np.ndarray) -> np.ndarray:
    """(n_items, n_labels): the score an answer with each label gets against the others' mode.

    The mode of the other answers decides. When the others' mode is tied between several
    labels, the answer scores 1/(number of tied labels) if its label is one of them, else 0:
    the expected score under AlpacaEval's rule, which samples one of the tied modes
    (pandas `sample(random_state=123)`), without its arbitrariness. NaN where the item has
    fewer than two answers (no "others").
    """
    table = np.asarray(table, dtype=np.int64)
    n_labels = table.shape[1]
    scores = np.full(table.shape, np.nan)
    valid = table.sum(axis=1) >= 2
    for label in range(n_labels):
        others = table[valid].copy()
        others[:, label] -= 1
        top = others.max(axis=1)
        n_modes = (others == top[:, None]).sum(axis=1)
        scores[valid, label] = np.where(others[:, label] == top, 1.0 / n_modes, 0.0)
    return scores


def loo_item_means(table: np.ndarray) -> np.ndarray:
    """Per item: mean leave-one-out score of its answers (NaN with fewer than two)."""
    table = np.asarray(table, dtype=np.float64)
    scores = np.nan_to_num(loo_label_scores(table))
    return ratio((scores * table).sum(axis=1), np.where(table.sum(axis=1) >= 2, table.sum(axis=1), 0))


def loo_agreement_table(table: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Item-averaged leave-one-out agreement: every item with two or more answers weighs the same."""
    means = loo_item_means(table)
    valid = np.isfinite(means)
    return ratio(weighted_sum(weights, np.where(valid, means, 0.0)), weighted_sum(weights, valid))


@dataclass(frozen=True)
class LeaveOneOut:
    score: float  # mean over items of the mean over the item's answers
    per_answer: np.ndarray  # NaN for answers alone on their item
    per_item: np.ndarray  # indexed by group code of `item`
    sem_positions: float  # AlpacaEval "sem_annotators": spread over held-out positions
    n_items: int


def leave_one_out_agreement(
    item: np.ndarray, value: np.ndarray, *, rule: str = "mode", span: float = 2.0
) -> LeaveOneOut:
    """Each answer against the consensus of the other answers on its item.

    Pass `Answers.direction` as `value` for the platform's figure (answers agree by
    direction); any discrete labels work with rule="mode".

    rule="mode": 1 if the answer equals the others' mode (see `loo_label_scores` for ties).
    rule="median": 1 - |answer - median(others)| / span, AlpacaEval's "absolute" scoring
    rule; `span` is the distance between the two extreme preferences (2 for -1..1, 1 for
    AlpacaEval's 1..2). Items with a single answer are excluded.
    """
    groups = group_by(item)
    value = np.asarray(value, dtype=np.float64)
    if rule == "mode":
        labels = group_by(value)
        scores = loo_label_scores(count_table(groups.codes, groups.n, labels.codes, labels.n))
        per_answer = scores[groups.codes, labels.codes] if value.size else np.zeros(0)
    elif rule == "median":
        per_answer = 1.0 - np.abs(value - _median_of_others(groups.codes, value)) / span
    else:
        raise ValueError(f"rule: expected 'mode' or 'median', got {rule!r}")
    per_item = ratio(np.bincount(groups.codes, weights=np.nan_to_num(per_answer), minlength=groups.n),
                      np.where(groups.sizes >= 2, groups.sizes, 0))
    valid = np.isfinite(per_item)
    score = float(per_item[valid].mean()) if valid.any() else float("nan")
    return LeaveOneOut(score, per_answer, per_item, _position_sem(groups.codes, per_answer), int(valid.sum()))


def _median_of_others(codes: np.ndarray, value: np.ndarray) -> np.ndarray:
    """For every row, the median of the other rows of its group (NaN when alone)."""
    n = value.shape[0]
    order = np.lexsort((value, codes))
    sorted_value = value[order]
    sizes = np.bincount(codes)
    starts = (np.cumsum(sizes) - sizes)[codes[order]]
    rank = np.arange(n) - starts  # position of each sorted row inside its group
    others = sizes[codes[order]] - 1
    low, high = (others - 1) // 2, others // 2

    def pick(j: np.ndarray) -> np.ndarray:  # j-th of the others, skipping the held-out row
        index = starts + j + (j >= rank)
        return sorted_value[np.clip(index, 0, max(n - 1, 0))]

    median = np.where(others >= 1, (pick(low) + pick(high)) / 2, np.nan)
    out = np.empty(n)
    out[order] = median
    return out


def _position_sem(codes: np.ndarray, per_answer: np.ndarray) -> float:
    position = position_in_group(codes)
    valid = np.isfinite(per_answer)
    if not valid.any():
        return float("nan")
    totals = np.bincount(position[valid], weights=per_answer[valid])
    counts = np.bincount(position[valid])
    return _sem(totals[counts > 0] / counts[counts > 0])


# --- Fleiss' kappa ---


def fleiss_kappa(table: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Fleiss' kappa from an (items, categories) count table.

    Items may have different numbers of raters: each item's observed agreement P_i uses
    its own m_i (P_i = (sum_j n_ij^2 - m_i) / (m_i (m_i - 1))), P-bar is the plain mean of
    P_i over items, and the category shares p_j pool all ratings. Items with fewer than two
    ratings are left out. With a constant m this is exactly Fleiss (1971) and
    statsmodels' `fleiss_kappa`; with varying m it is the usual generalisation (as in
    Krippendorff's alpha, no item is dropped for having an unusual rater count).
    """
    table = np.asarray(table, dtype=np.float64)
    m = table.sum(axis=1)
    ok = m >= 2
    agreement = ratio((table**2).sum(axis=1) - m, m * (m - 1))
    p_bar = ratio(weighted_sum(weights, np.where(ok, agreement, 0.0)), weighted_sum(weights, ok))
    shares = weighted_sum(weights, table * ok[:, None])
    total = weighted_sum(weights, m * ok)
    p_j = ratio(shares, np.asarray(total)[..., None])
    p_e = (p_j**2).sum(axis=-1)
    return ratio(p_bar - p_e, 1 - p_e)


def fleiss_kappa_z(table: np.ndarray) -> float:
    """z of Fleiss' kappa under the null of chance agreement (Fleiss, Nee & Landis 1979).

    Defined only with the same number of raters on every item (as R's `kappam.fleiss`);
    NaN otherwise.
    """
    table = np.asarray(table, dtype=np.float64)
    m = table.sum(axis=1)
    if table.shape[0] == 0 or not np.all(m == m[0]) or m[0] < 2:
        return float("nan")
    n_items, raters = table.shape[0], m[0]
    p = table.sum(axis=0) / table.sum()
    pq = p * (1 - p)
    spread = pq.sum() ** 2 - (pq * ((1 - p) - p)).sum()
    se = np.sqrt(2) / (pq.sum() * np.sqrt(n_items * raters * (raters - 1))) * np.sqrt(spread)
    return float(fleiss_kappa(table) / se) if se > 0 else float("nan")
