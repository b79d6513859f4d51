"""Percentile bootstrap over items, done on item patterns instead of items.

Every headline figure depends on an item only through its row of value counts (how many
answers gave -3, -2, ..., 3). Items with the same row are interchangeable, so drawing
n items with replacement is the same as drawing how many times each distinct row is hit:
a multinomial over the P distinct rows with their frequencies as probabilities. With
three answers per item on a 7-point scale P is at most a few hundred, so a thousand
replicates of a million answers cost milliseconds, and the result has exactly the
distribution of the item bootstrap.

When the rows are not what was sampled (a ranking's response pairs: the annotators ranked
items, and the pairs of one item rise and fall together), `cluster_members` describes each
sampled cluster by how many rows of each pattern it holds. The clusters are drawn, the same
way, and each draw brings all its rows: a cluster bootstrap, whose intervals do not pretend
that the pairs of one ranking are independent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

Statistics = Callable[[np.ndarray], dict[str, np.ndarray]]
_CELLS_PER_CHUNK = 4_000_000  # bounds the (replicates x patterns) weight block in memory


def item_patterns(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(patterns, frequency, inverse): the distinct rows, how often each occurs, row -> pattern."""
    table = np.asarray(table, dtype=np.int64)
    if table.shape[0] == 0:
        return table, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(table.max()) + 1
    if table.shape[1] * np.log2(max(base, 2)) < 62:
        # One int64 key per row (counts as digits in base `base`) sorts far faster than rows.
        keys = table @ (base ** np.arange(table.shape[1], dtype=np.int64))
        _, first, inverse, frequency = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
        return table[first], frequency, inverse.reshape(-1)
    patterns, inverse, frequency = np.unique(table, axis=0, return_inverse=True, return_counts=True)
    return patterns, frequency, inverse.reshape(-1)


def cluster_members(row_cluster: np.ndarray, row_pattern: np.ndarray, n_patterns: int):
    """(frequency, members): the distinct kinds of cluster, how many clusters are of each kind,
    and a sparse (kinds x patterns) matrix of how many rows of each pattern one of them holds."""
    clusters = np.unique(np.asarray(row_cluster), return_inverse=True)[1].reshape(-1)
    n_clusters = int(clusters.max()) + 1 if clusters.size else 0
    counts = sparse.csr_matrix((np.ones(clusters.shape[0]), (clusters, np.asarray(row_pattern))),
                               shape=(n_clusters, n_patterns))
    counts.sum_duplicates()
    # Clusters holding the same rows are interchangeable: draw kinds of cluster, not each one.
    kinds: dict[bytes, int] = {}
    first: list[int] = []
    frequency: list[int] = []
    for cluster in range(n_clusters):
        lo, hi = counts.indptr[cluster], counts.indptr[cluster + 1]
        key = counts.indices[lo:hi].tobytes() + counts.data[lo:hi].tobytes()
        kind = kinds.setdefault(key, len(first))
        if kind == len(first):
            first.append(cluster)
            frequency.append(0)
        frequency[kind] += 1
    return np.array(frequency, dtype=np.int64), counts[first]


def bootstrap_intervals(
    frequency: np.ndarray, statistics: Statistics, *, n_boot: int, seed: int | None, level: float = 0.95,
    members: sparse.spmatrix | None = None,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of each statistic; `statistics` maps (B, P) weights to figures.

    Without `members`, `frequency` counts the P patterns and the patterns are drawn. With
    `members` (C x P, see `cluster_members`), `frequency` counts the C kinds of cluster, the
    clusters are drawn, and each pattern weighs what its drawn clusters hold of it.
    Replicates in which a figure is undefined (NaN) are left out of its interval.
    """
    frequency = np.asarray(frequency, dtype=np.int64)
    n_items = int(frequency.sum())
    to_patterns = (lambda w: w) if members is None else (lambda w: np.asarray((members.T @ w.T).T))
    if n_boot <= 0 or n_items == 0:
        return {name: (float("nan"), float("nan")) for name in statistics(to_patterns(frequency[None, :] * 1.0))}
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // max(frequency.shape[0], 1))
    draws: dict[str, list[np.ndarray]] = {}
    for start in range(0, n_boot, chunk):
        weights = rng.multinomial(n_items, frequency / n_items, size=min(chunk, n_boot - start))
        for name, values in statistics(to_patterns(weights.astype(np.float64))).items():
            draws.setdefault(name, []).append(np.asarray(values, dtype=np.float64).reshape(-1))
    tail = (1 - level) / 2 * 100
    return {name: _percentiles(np.concatenate(parts), tail) for name, parts in draws.items()}


def _percentiles(values: np.ndarray, tail: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
