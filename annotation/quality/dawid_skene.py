"""Dawid-Skene EM (full confusion matrices) and its one-coin variant.

Own implementation because crowd-kit, which has both, pulls transformers and nltk into the
web install and works through pandas joins; here each EM step is two sparse products
with a (annotators x labels) by items count matrix, about 0.06 s per step at a million
answers. The algorithm matches crowd-kit's `DawidSkene`:
start from the vote shares (soft majority vote), M-step, then alternate E and M until the
mean log-likelihood per answer improves by less than `tol` or `max_iter` is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .answers import group_by, row_max, row_sum

_EPS = 1e-10  # crowd-kit's floor on probabilities, so no log(0)


@dataclass(frozen=True)
class DawidSkeneResult:
    classes: np.ndarray  # (K,) label values, ordered
    items: np.ndarray  # (n_items,) item keys, ordered
    annotators: np.ndarray  # (A,) annotator keys, ordered
    posteriors: np.ndarray  # (n_items, K) P(true label = classes[k] | answers)
    priors: np.ndarray  # (K,)
    confusion: np.ndarray  # (A, K, K): [annotator, true, answered], rows sum to 1
    n_iter: int
    converged: bool
    log_likelihood: float

    @property
    def labels(self) -> np.ndarray:
        """Most probable label per item (first class on exact ties)."""
        if self.posteriors.shape[0] == 0:
            return np.zeros(0)
        return self.classes[np.argmax(self.posteriors, axis=1)]

    @property
    def reliability(self) -> np.ndarray:
        """Per annotator: prior-weighted accuracy, sum_k prior_k * P(answer k | true k)."""
        diagonal = np.diagonal(self.confusion, axis1=1, axis2=2)
        return diagonal @ self.priors if diagonal.size else np.zeros(self.confusion.shape[0])


def dawid_skene(
    item: np.ndarray,
    annotator: np.ndarray,
    label: np.ndarray,
    *,
    one_coin: bool = False,
    tol: float = 1e-5,
    max_iter: int = 100,
) -> DawidSkeneResult:
    """Fit Dawid-Skene by EM; `one_coin` ties each annotator's confusion to one accuracy.

    One-coin: P(answer = true) = s_a and each wrong label (1 - s_a)/(K - 1), with s_a the
    posterior-weighted share of the annotator's answers that match the truth (as crowd-kit's
    `OneCoinDawidSkene`).
    """
    items, raters, classes = group_by(item), group_by(annotator), group_by(label)
    k = classes.n
    if items.n == 0:
        return DawidSkeneResult(classes.keys, items.keys, raters.keys, np.zeros((0, 0)), np.zeros(0),
                                np.zeros((0, 0, 0)), 0, True, 0.0)
    votes = _vote_matrix(raters, classes, items)
    posteriors = _vote_shares(items, classes)
    confusion = _m_step(votes, posteriors, raters.n, k, one_coin)
    fit = _em(votes, posteriors, confusion, one_coin=one_coin, tol=tol, max_iter=max_iter)
    return DawidSkeneResult(classes.keys, items.keys, raters.keys, *fit)


def _em(votes, posteriors, confusion, *, one_coin: bool, tol: float, max_iter: int):
    """Alternate E and M steps; stop when the mean log-likelihood per answer gains < tol."""
    n_raters, k, _ = confusion.shape
    votes_by_item = votes.T.tocsr()  # the E-step's product runs over items; CSR makes it fast
    n_answers = max(votes.sum(), 1)
    previous, log_likelihood, n_iter, converged = -np.inf, -np.inf, 0, False
    priors = posteriors.mean(axis=0)
    while n_iter < max_iter and not converged:
        n_iter += 1
        posteriors, log_likelihood = _e_step(votes_by_item, priors, confusion)
        priors = posteriors.mean(axis=0)
        confusion = _m_step(votes, posteriors, n_raters, k, one_coin)
        converged = log_likelihood / n_answers - previous < tol
        previous = log_likelihood / n_answers
    return posteriors, priors, confusion, n_iter, bool(converged), float(log_likelihood)


def _vote_matrix(raters, classes, items) -> sparse.csr_matrix:
    """(A*K, n_items): how often annotator a gave label k on each item."""
    rows = raters.codes * classes.n + classes.codes
    shape = (raters.n * classes.n, items.n)
    return sparse.csr_matrix((np.ones(rows.shape[0]), (rows, items.codes)), shape=shape)


def _vote_shares(items, classes) -> np.ndarray:
    counts = np.bincount(items.codes * classes.n + classes.codes, minlength=items.n * classes.n)
    counts = counts.reshape(items.n, classes.n).astype(np.float64)
    return counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)


def _m_step(votes, posteriors, n_raters: int, k: int, one_coin: bool) -> np.ndarray:
    """Confusion [annotator, true, answered] from posterior-weighted answer counts."""
    weighted = np.asarray(votes @ posteriors).reshape(n_raters, k, k)  # [a, answered, true]
    weighted = weighted.transpose(0, 2, 1)
    if one_coin:
        return _one_coin_confusion(weighted, k)
    weighted = np.maximum(weighted, _EPS)
    return weighted / weighted.sum(axis=2, keepdims=True)


def _one_coin_confusion(weighted: np.ndarray, k: int) -> np.ndarray:
    answered = weighted.sum(axis=(1, 2))
    skill = np.trace(weighted, axis1=1, axis2=2) / np.maximum(answered, _EPS)
    off = (1 - skill) / max(k - 1, 1)
    confusion = np.repeat(off[:, None, None], k, axis=1).repeat(k, axis=2)
    index = np.arange(k)
    confusion[:, index, index] = skill[:, None]
    return np.clip(confusion, _EPS, 1 - _EPS) if k > 1 else np.ones_like(confusion)


def _e_step(votes_by_item, priors, confusion) -> tuple[np.ndarray, float]:
    """Posteriors and the observed-data log-likelihood, computed in log space."""
    n_raters, k, _ = confusion.shape
    log_confusion = np.log(confusion).transpose(0, 2, 1).reshape(n_raters * k, k)  # [(a, answered), true]
    log_joint = np.log(np.maximum(priors, _EPS))[None, :] + np.asarray(votes_by_item @ log_confusion)
    top = row_max(log_joint)[:, None] if log_joint.size else np.zeros((0, 1))
    scaled = np.exp(log_joint - top)
    total = row_sum(scaled)[:, None]
    return scaled / total, float((np.log(total) + top).sum())
