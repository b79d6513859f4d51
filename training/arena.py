"""Win rates by model from human answers, as Chatbot Arena reports them: Bradley-Terry strengths on the Elo scale
with bootstrap confidence intervals over items. Pure numpy/scipy, no Django."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

SCALE, BASE = 400 / math.log(10), 1000.0


@dataclass(frozen=True)
class Comparison:
    item: int
    first: str
    second: str
    outcome: float  # 1: first won, 0: second won, 0.5: tie


def _fit(models: list[str], comparisons: list[Comparison], weights: np.ndarray,
         start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood strengths (a tie counts half a win each way), with a tiny ridge so that a model that
    won or lost every comparison still gets a finite strength; centred on 0."""
    index = {m: i for i, m in enumerate(models)}
    a = np.array([index[c.first] for c in comparisons])
    b = np.array([index[c.second] for c in comparisons])
    y = np.array([c.outcome for c in comparisons])

    def loss(theta):
        d = theta[a] - theta[b]
        p = 1 / (1 + np.exp(-d))
        nll = -(weights * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum()
        grad_d = weights * (p - y)
        grad = np.bincount(a, grad_d, len(models)) - np.bincount(b, grad_d, len(models))
        return nll + 1e-3 * (theta ** 2).sum(), grad + 2e-3 * theta

    theta = minimize(loss, np.zeros(len(models)) if start is None else start, jac=True, method="L-BFGS-B").x
    return theta - theta.mean()


def model_strengths(comparisons: list[Comparison], *, rounds: int = 100, seed: int = 0) -> list[dict]:
    """Per model: Elo-scale strength, 95% bootstrap interval (items resampled), wins, losses, ties."""
    if not comparisons:
        return []
    models = sorted({c.first for c in comparisons} | {c.second for c in comparisons})
    strengths = _fit(models, comparisons, np.ones(len(comparisons)))
    items = np.array([c.item for c in comparisons])
    unique, inverse = np.unique(items, return_inverse=True)
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(rounds):
        counts = np.bincount(rng.integers(0, len(unique), len(unique)), minlength=len(unique))
        weights = counts[inverse].astype(float)
        if weights.sum() == 0:
            continue
        samples.append(_fit(models, comparisons, weights, start=strengths))  # warm: each resample is near the fit
    low, high = np.percentile(np.array(samples), [2.5, 97.5], axis=0) if samples else (strengths, strengths)
    out = []
    for i, model in enumerate(models):
        wins = sum(1 for c in comparisons if (c.first == model and c.outcome == 1) or (c.second == model and c.outcome == 0))
        ties = sum(1 for c in comparisons if model in (c.first, c.second) and c.outcome == 0.5)
        total = sum(1 for c in comparisons if model in (c.first, c.second))
        out.append({"model": model, "strength": BASE + SCALE * strengths[i], "ci_low": BASE + SCALE * low[i],
                    "ci_high": BASE + SCALE * high[i], "wins": wins, "losses": total - wins - ties, "ties": ties,
                    "comparisons": total})
    return sorted(out, key=lambda r: (-r["strength"], r["model"]))
