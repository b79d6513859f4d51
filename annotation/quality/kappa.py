"""Cohen's kappa: from a contingency table (with its asymptotic standard error), from two
label vectors (scikit-learn's semantics), and for every pair of annotators at once.

Weights are disagreement weights on label *positions* in the ordered label list, as in
scikit-learn and R's irr: "linear" |i-j|, "quadratic" (i-j)^2, a 1-D vector w (Toeplitz:
weight w[|i-j|]), or a full matrix. Pass the whole scale as `labels` (e.g. -3..3) when
unused levels must keep their place.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .answers import group_by, within_group_pairs

Z_95 = 1.959963984540054


def disagreement_weights(n_labels: int, weights: str | np.ndarray | None) -> np.ndarray:
    index = np.arange(n_labels)
    distance = np.abs(index[:, None] - index[None, :]).astype(np.float64)
    if weights is None:
        return (distance > 0).astype(np.float64)
    if isinstance(weights, str):
        if weights == "linear":
            return distance
        if weights == "quadratic":
            return distance**2
        raise ValueError(f"weights: expected None, 'linear', 'quadratic' or an array, got {weights!r}")
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim == 1:
        if weights.shape[0] != n_labels:
            raise ValueError(f"weights: a Toeplitz vector needs {n_labels} entries, got {weights.shape[0]}")
        return weights[distance.astype(np.int64)]
    if weights.shape != (n_labels, n_labels):
        raise ValueError(f"weights: expected a {n_labels}x{n_labels} matrix, got {weights.shape}")
    return weights


def kappa_from_tables(tables: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted kappa for a stack of (..., V, V) tables; NaN where it is undefined."""
    tables = np.asarray(tables, dtype=np.float64)
    n = tables.sum(axis=(-2, -1))
    rows, cols = tables.sum(axis=-1), tables.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = rows[..., :, None] * cols[..., None, :] / n[..., None, None]
        observed_w = (weights * tables).sum(axis=(-2, -1))
        expected_w = (weights * expected).sum(axis=(-2, -1))
        kappa = 1 - observed_w / expected_w
    return np.where((n > 0) & (expected_w > 0), kappa, np.nan)


@dataclass(frozen=True)
class Kappa:
    kappa: float
    ase: float  # asymptotic standard error (Fleiss, Cohen & Everitt 1969; SAS "ASE")
    ci_low: float
    ci_high: float


def cohen_kappa_table(table: np.ndarray, *, weights: str | np.ndarray | None = None) -> Kappa:
    """Kappa of one square contingency table (rows: rater 1, columns: rater 2)."""
    table = np.asarray(table, dtype=np.float64)
    disagreement = disagreement_weights(table.shape[0], weights)
    kappa = float(kappa_from_tables(table, disagreement))
    ase = _kappa_ase(table, disagreement, kappa)
    return Kappa(kappa, ase, kappa - Z_95 * ase, kappa + Z_95 * ase)


def _kappa_ase(table: np.ndarray, disagreement: np.ndarray, kappa: float) -> float:
    """SAS's ASE, written with agreement weights w = 1 - d / max(d) (1 on the diagonal)."""
    n = table.sum()
    top = disagreement.max()
    if not np.isfinite(kappa) or n == 0 or top <= 0:
        return float("nan")
    w = 1 - disagreement / top
    p = table / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    chance = (w * row[:, None] * col[None, :]).sum()
    w_row = (w * col[None, :]).sum(axis=1)  # mean agreement weight of row i against rater 2
    w_col = (w * row[:, None]).sum(axis=0)
    spread = (p * (w - (w_row[:, None] + w_col[None, :]) * (1 - kappa)) ** 2).sum()
    variance = (spread - (kappa - chance * (1 - kappa)) ** 2) / ((1 - chance) ** 2 * n)
    return float(np.sqrt(variance)) if variance >= 0 else float("nan")


def cohen_kappa(y1, y2, *, labels=None, weights: str | np.ndarray | None = None) -> float:
    """Same result as `sklearn.metrics.cohen_kappa_score` (labels default to the sorted union)."""
    y1, y2 = np.asarray(y1), np.asarray(y2)
    labels = np.unique(np.r_[y1, y2]) if labels is None else np.asarray(labels)
    index1, index2 = np.searchsorted(labels, y1), np.searchsorted(labels, y2)
    known = _in_labels(labels, y1, index1) & _in_labels(labels, y2, index2)
    v = labels.shape[0]
    table = np.bincount(index1[known] * v + index2[known], minlength=v * v).reshape(v, v)
    return float(kappa_from_tables(table, disagreement_weights(v, weights)))


def _in_labels(labels: np.ndarray, y: np.ndarray, index: np.ndarray) -> np.ndarray:
    inside = index < labels.shape[0]
    return inside & (labels[np.minimum(index, labels.shape[0] - 1)] == y) if labels.size else inside


@dataclass(frozen=True)
class PairKappas:
    """Kappa for each pair of annotators who share items (annotator_a < annotator_b)."""

    annotator_a: np.ndarray
    annotator_b: np.ndarray
    n_items: np.ndarray
    kappas: dict[str, np.ndarray]  # name -> one kappa per pair


def pairwise_cohen_kappa(
    item: np.ndarray,
    annotator: np.ndarray,
    specs: dict[str, tuple[np.ndarray, np.ndarray, str | None]],
) -> PairKappas:
    """Cohen's kappa for every annotator pair, all pairs in one pass.

    `specs` maps an output name to (labels, values, weights): e.g. the direction with no
    weights and the -3..3 value with linear and quadratic weights. Each shared item gives
    one row of the pair's table. Contingency tables of all pairs are built with a single
    bincount over (pair, cell), so the cost is linear in the number of answer pairs.
    """
    first, second = within_group_pairs(group_by(item).codes)
    raters = group_by(annotator)  # dense codes keep the pair key small whatever the ids are
    a, b = raters.codes[first], raters.codes[second]
    keep = a != b  # an annotator answering an item twice is not a second rater
    first, second, a, b = first[keep], second[keep], a[keep], b[keep]
    swap = a > b
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    low, high = np.minimum(a, b), np.maximum(a, b)
    base = int(high.max()) + 1 if high.size else 1
    pairs = group_by(low * base + high)
    kappas = {
        name: _pair_tables_kappa(pairs.codes, pairs.n, np.asarray(values)[first], np.asarray(values)[second],
                                 labels, weights)
        for name, (labels, values, weights) in specs.items()
    }
    return PairKappas(
        annotator_a=raters.keys[pairs.keys // base].astype(np.int64),
        annotator_b=raters.keys[pairs.keys % base].astype(np.int64),
        n_items=pairs.sizes,
        kappas=kappas,
    )


def _pair_tables_kappa(codes, n_pairs, v1, v2, labels, weights) -> np.ndarray:
    labels = np.asarray(labels)
    v = labels.shape[0]
    cells = np.searchsorted(labels, v1) * v + np.searchsorted(labels, v2)
    tables = np.bincount(codes * v * v + cells, minlength=n_pairs * v * v).reshape(n_pairs, v, v)
    return kappa_from_tables(tables, disagreement_weights(v, weights))
