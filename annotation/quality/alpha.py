"""Krippendorff's alpha (nominal, ordinal, interval, ratio) with missing data.

Written here rather than taken from the `krippendorff` package: that package is GPL-3.0
and needs a dense coders x units matrix, expanded to units x coders x values (0.8 GB
peak for the bench's million answers from 100 annotators, growing with the annotator
pool). Here the coincidence matrix comes from a sparse units x values count matrix,
o = C' diag(1/(m_u - 1)) C - diag(sum_u C_u / (m_u - 1)), so the cost is linear in the
number of answers. Definitions follow Krippendorff (2011), "Computing Krippendorff's
Alpha-Reliability"; the tests check them against the package to 1e-9.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from .answers import group_by

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def coincidence_matrix(unit: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values, o): the ordered values seen and their coincidence matrix.

    NaN values are missing; units with fewer than two values are unpairable and add nothing.
    """
    value = np.asarray(value, dtype=np.float64)
    keep = np.isfinite(value)
    units, values = group_by(np.asarray(unit)[keep]), group_by(value[keep])
    per_pair = np.where(units.sizes >= 2, 1.0 / np.maximum(units.sizes - 1, 1), 0.0)
    counts = sparse.csr_matrix(
        (np.ones(units.codes.shape[0]), (units.codes, values.codes)), shape=(units.n, values.n)
    )
    scaled = sparse.diags(per_pair) @ counts
    diagonal = np.bincount(values.codes, weights=per_pair[units.codes], minlength=values.n)
    matrix = np.asarray((counts.T @ scaled).todense()) - np.diag(diagonal)
    return values.keys.astype(np.float64), matrix


def pattern_coincidences(counts: np.ndarray) -> np.ndarray:
    """(P, V, V) coincidences contributed by each row of a units x values count table."""
    counts = np.asarray(counts, dtype=np.float64)
    m = counts.sum(axis=1)
    per_pair = np.where(m >= 2, 1.0 / np.maximum(m - 1, 1), 0.0)
    outer = counts[:, :, None] * counts[:, None, :]
    index = np.arange(counts.shape[1])
    outer[:, index, index] -= counts
    return outer * per_pair[:, None, None]


def distance_matrix(domain: np.ndarray, totals: np.ndarray, level: str) -> np.ndarray:
    """Squared distances delta^2 between values; `totals` (..., V) are the n_c (ordinal only)."""
    domain = np.asarray(domain, dtype=np.float64)
    c, k = domain[:, None], domain[None, :]
    if level == "nominal":
        return (c != k).astype(np.float64)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        total = c + k
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total != 0, ((c - k) / np.where(total != 0, total, 1)) ** 2, 0.0)
    if level == "ordinal":
        return _ordinal_distance(np.asarray(totals, dtype=np.float64))
    raise ValueError(f"level: expected one of {LEVELS}, got {level!r}")


def _ordinal_distance(totals: np.ndarray) -> np.ndarray:
    """(sum_{g=c..k} n_g - (n_c + n_k)/2)^2, for one or a stack of n_c vectors."""
    v = totals.shape[-1]
    index = np.arange(v)
    low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)
    cumulative = np.cumsum(totals, axis=-1)
    between = cumulative[..., high] - cumulative[..., low] + totals[..., low]
    return (between - (totals[..., low] + totals[..., high]) / 2) ** 2


def alpha_from_coincidences(matrix: np.ndarray, domain: np.ndarray, level: str) -> np.ndarray:
    """Alpha of one (V, V) coincidence matrix or a stack of them; NaN when undefined."""
    matrix = np.asarray(matrix, dtype=np.float64)
    totals = matrix.sum(axis=-1)
    n = totals.sum(axis=-1)
    distance = distance_matrix(domain, totals, level)
    observed = (matrix * distance).sum(axis=(-2, -1))
    expected = (totals[..., :, None] * totals[..., None, :] * distance).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1 - (n - 1) * observed / expected
    return np.where((expected > 0) & (n > 1), alpha, np.nan)


def krippendorff_alpha(unit: np.ndarray, value: np.ndarray, level: str = "interval") -> float:
    """Alpha of long-format data: one (unit, value) row per answer, NaN = missing."""
    return krippendorff_alphas(unit, value, (level,))[level]


def krippendorff_alphas(unit: np.ndarray, value: np.ndarray, levels=LEVELS) -> dict[str, float]:
    """Several levels of measurement from one coincidence matrix."""
    domain, matrix = coincidence_matrix(unit, value)
    return {level: float(alpha_from_coincidences(matrix, domain, level)) for level in levels}


def alpha_from_reliability_data(data, level: str = "interval") -> float:
    """Alpha of a coders x units matrix with NaN for missing, the layout of the literature."""
    data = np.asarray(data, dtype=np.float64)
    unit = np.broadcast_to(np.arange(data.shape[1]), data.shape)
    return krippendorff_alpha(unit.ravel(), data.ravel(), level)


def alpha_table(
    counts: np.ndarray, domain: np.ndarray, levels=LEVELS, weights: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Alpha from a units x values count table whose rows are counted `weights` times.

    Meant for a table of *distinct* rows (the bootstrap's item patterns): it materialises a
    V x V matrix per row.
    """
    per_row = pattern_coincidences(counts)
    if weights is None:
        matrix = per_row.sum(axis=0)
    else:
        matrix = np.tensordot(np.asarray(weights, dtype=np.float64), per_row, axes=(1, 0))
    return {level: alpha_from_coincidences(matrix, domain, level) for level in levels}
