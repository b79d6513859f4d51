"""`agreement_report`: every figure the app shows, as one JSON-serialisable dict.

Shape (None wherever a figure is undefined, e.g. too few pairs or no variation):

    criterion, n_items, n_annotations, n_annotators
    percent_agreement        {with_ties, without_ties}          MT-Bench, by direction
    leave_one_out_agreement  AlpacaEval "human agreement", by direction
    cohen_kappa              [{annotators: [a, b], kappa, linear, quadratic, n_items}]
                             kappa by direction; linear / quadratic on the -3..3 value
    fleiss_kappa             by direction (varying rater counts allowed, see agreement.py)
    krippendorff_alpha       {nominal (direction), ordinal, interval, ratio (value)};
                             ratio is None on a signed scale (no true zero)
    confidence_intervals     {percent_agreement_with_ties, percent_agreement_without_ties,
                              leave_one_out_agreement, fleiss_kappa, krippendorff_alpha_nominal,
                              krippendorff_alpha_ordinal, krippendorff_alpha_interval: [lo, hi]}
                             95% percentile bootstrap over items (over `Answers.cluster` when
                             set: a ranking's pairs are resampled with their item), seeded
    bias                     {position, position_answers, length, length_answers}
    annotators               [{annotator, n_answers, loo_agreement, gold_answers, gold_accuracy,
                               position_answers, position_bias, length_answers, length_bias,
                               tie_rate, median_seconds, timed_answers, too_fast,
                               ds_reliability, ds_confusion (rows: true class, cols: answer)}]
    label_distribution       {majority: {first, tie, second}, dawid_skene: {...}}
    dawid_skene              {classes, priors, n_iter, converged}
    items                    [{item, n_answers, agreement, loo_agreement, majority,
                               ds_label, ds_posterior}]   (include_items=False leaves it out)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import agreement as agr
from .alpha import alpha_table
from .annotators import READING_WPM, AnnotatorStats, annotator_stats, length_hits, overall_rate, position_hits
from .answers import DIRECTION_NAMES, Answers, Groups, count_table, distinct, group_by, value_domain
from .bootstrap import bootstrap_intervals, cluster_members, item_patterns
from .consensus import Consensus, consensus, majority_direction
from .kappa import PairKappas, pairwise_cohen_kappa
from .rankings import (
    Decomposed,
    Rankings,
    bradley_terry,
    consensus_groups,
    decompose_rankings,
    kendall_tau_pairs,
    kendall_w,
)

DIRECTIONS = np.array([-1.0, 0.0, 1.0])
HEADLINE = (
    "percent_agreement_with_ties", "percent_agreement_without_ties", "leave_one_out_agreement",
    "fleiss_kappa", "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval",
)


def select_criterion(answers: Answers, criterion: str | None) -> Answers:
    """The answers to one question: a named criterion, or (None) the main answer.

    Main answers are rows whose criterion is None or ""; without a criterion column every
    row is a main answer.
    """
    if answers.criterion is None:
        if criterion is not None:
            raise ValueError("criterion: these answers carry no criterion column")
        return answers
    if criterion is None:
        wanted = is_main_answer(answers.criterion)
    else:
        wanted = answers.criterion == criterion
    return answers.subset(wanted)


def is_main_answer(criterion: np.ndarray) -> np.ndarray:
    """Rows whose criterion is None or "" (compared in numpy's loop: 5x a comprehension's speed)."""
    return np.asarray(np.equal(criterion, None) | np.equal(criterion, ""), dtype=bool)


@dataclass(frozen=True)
class ItemTables:
    """Per-item counts of each scale value, their directions, and the distinct patterns."""

    items: Groups
    domain: np.ndarray
    values: np.ndarray  # (n_items, V)
    directions: np.ndarray  # (n_items, 3)
    patterns: np.ndarray  # (P, V) distinct rows of `values`
    frequency: np.ndarray  # (P,)
    pattern_of_item: np.ndarray  # (n_items,) row of `patterns` each item has

    @classmethod
    def build(cls, answers: Answers) -> ItemTables:
        items = group_by(answers.item)
        domain = value_domain(answers.value)
        codes = np.searchsorted(domain, answers.value)
        values = count_table(items.codes, items.n, codes, domain.shape[0])
        patterns, frequency, pattern_of_item = item_patterns(values)
        return cls(items, domain, values, values @ _sign_columns(domain), patterns, frequency, pattern_of_item)


def _sign_columns(domain: np.ndarray) -> np.ndarray:
    """(V, 3) 0/1 matrix sending each scale value to its direction column."""
    return (np.sign(domain)[:, None] == DIRECTIONS[None, :]).astype(np.int64)


def headline_statistics(tables: ItemTables) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """Headline figures as a function of (B, P) pattern weights (see bootstrap.py)."""
    patterns, domain = tables.patterns, tables.domain
    directions = patterns @ _sign_columns(domain)
    signed = domain.size > 0 and domain.min() < 0

    def statistics(weights: np.ndarray) -> dict[str, np.ndarray]:
        percent = agr.percent_agreement_table(directions, weights)
        nominal = alpha_table(directions, DIRECTIONS, ("nominal",), weights)
        levels = ("ordinal", "interval") if signed else ("ordinal", "interval", "ratio")
        scaled = alpha_table(patterns, domain, levels, weights)
        return {
            "percent_agreement_with_ties": percent["with_ties"],
            "percent_agreement_without_ties": percent["without_ties"],
            "leave_one_out_agreement": agr.loo_agreement_table(directions, weights),
            "fleiss_kappa": agr.fleiss_kappa(directions, weights),
            "krippendorff_alpha_nominal": nominal["nominal"],
            "krippendorff_alpha_ordinal": scaled["ordinal"],
            "krippendorff_alpha_interval": scaled["interval"],
            # The ratio metric needs a true zero and non-negative values; on a signed
            # preference scale it would call -3 and +3 identical, so it is left undefined.
            "krippendorff_alpha_ratio": scaled.get("ratio", np.full(weights.shape[0], np.nan)),
        }

    return statistics


def agreement_report(
    answers: Answers,
    *,
    criterion: str | None = None,
    n_boot: int = 1000,
    seed: int | None = 0,
    annotator_names: Mapping[int, str] | Sequence[str] | None = None,
    include_items: bool | str = True,
    reading_wpm: float = READING_WPM,
) -> dict[str, Any]:
    """Agreement, per-annotator quality and per-item consensus of one question's answers.

    `include_items`: True, the per-item rows as dicts; "columns", the same as one array per field
    (`item_columns`); False, none.

    Directions (first / tie / second) feed percent agreement, leave-one-out agreement,
    Cohen's unweighted kappa, Fleiss' kappa and nominal alpha; the full -3..3 value feeds
    weighted kappa and ordinal / interval alpha. Undefined figures are None.
    """
    answers = select_criterion(answers, criterion)
    name = _namer(annotator_names)
    tables = ItemTables.build(answers)
    statistics = headline_statistics(tables)
    point = {key: value[0] for key, value in statistics(tables.frequency[None, :].astype(np.float64)).items()}
    intervals = _headline_intervals(answers, tables, statistics, n_boot=n_boot, seed=seed)
    loo = agr.leave_one_out_agreement(answers.item, answers.direction)
    ds = consensus(answers, "dawid_skene") if len(answers) else None
    report = {
        "criterion": criterion,
        "n_items": tables.items.n,
        "n_annotations": len(answers),
        "n_annotators": int(distinct(answers.annotator).shape[0]),
        "percent_agreement": {"with_ties": point["percent_agreement_with_ties"],
                              "without_ties": point["percent_agreement_without_ties"]},
        "leave_one_out_agreement": point["leave_one_out_agreement"],
        "cohen_kappa": _cohen_entries(_pair_kappas(answers, tables.domain), name),
        "fleiss_kappa": point["fleiss_kappa"],
        "krippendorff_alpha": {level: point[f"krippendorff_alpha_{level}"]
                               for level in ("nominal", "ordinal", "interval", "ratio")},
        "confidence_intervals": {key: list(value) for key, value in intervals.items()},
        "bias": _overall_bias(answers),
        "annotators": _annotator_entries(annotator_stats(answers, loo.per_answer, wpm=reading_wpm), ds, name),
        "label_distribution": _label_distribution(tables, ds),
        "dawid_skene": _model_summary(ds),
    }
    report = json_safe(report)
    if include_items == "columns":  # for callers that want a few rows or one column of 10^5 items
        report["items"] = item_columns(tables, loo, ds)
    elif include_items:  # built JSON-ready: json_safe over 10^5 small dicts would dominate the run time
        report["items"] = _item_entries(tables, loo, ds)
    return report


def _headline_intervals(answers: Answers, tables: ItemTables, statistics, *, n_boot: int, seed: int | None):
    """Bootstrap over items, or over `answers.cluster` when the items were not what was sampled."""
    def headline(weights: np.ndarray) -> dict[str, np.ndarray]:
        return {k: v for k, v in statistics(weights).items() if k in HEADLINE}

    if answers.cluster is None:
        return bootstrap_intervals(tables.frequency, headline, n_boot=n_boot, seed=seed)
    item_cluster = np.zeros(tables.items.n, dtype=np.int64)
    item_cluster[tables.items.codes] = answers.cluster
    frequency, members = cluster_members(item_cluster, tables.pattern_of_item, tables.patterns.shape[0])
    return bootstrap_intervals(frequency, headline, n_boot=n_boot, seed=seed, members=members)


def _pair_kappas(answers: Answers, domain: np.ndarray) -> PairKappas:
    return pairwise_cohen_kappa(answers.item, answers.annotator, {
        "kappa": (DIRECTIONS, answers.direction.astype(np.float64), None),
        "linear": (domain, answers.value, "linear"),
        "quadratic": (domain, answers.value, "quadratic"),
    })


def _cohen_entries(pairs: PairKappas, name: Callable[[int], Any]) -> list[dict]:
    columns = zip(pairs.annotator_a.tolist(), pairs.annotator_b.tolist(), pairs.kappas["kappa"].tolist(),
                  pairs.kappas["linear"].tolist(), pairs.kappas["quadratic"].tolist(), pairs.n_items.tolist(), strict=True)
    return [{"annotators": [name(a), name(b)], "kappa": k, "linear": lin, "quadratic": quad, "n_items": n}
            for a, b, k, lin, quad, n in columns]


def _overall_bias(answers: Answers) -> dict[str, Any]:
    position, length = position_hits(answers), length_hits(answers)
    return {
        "position": overall_rate(*position), "position_answers": int(position[0].sum()),
        "length": overall_rate(*length), "length_answers": int(length[0].sum()),
    }


def _annotator_entries(stats: AnnotatorStats, ds: Consensus | None, name) -> list[dict]:
    reliability = ds.model.reliability if ds else np.zeros(0)
    entries = []
    for i, code in enumerate(stats.annotator.tolist()):
        entries.append({
            "annotator": name(code),
            "n_answers": stats.n_answers[i],
            "loo_agreement": stats.loo_agreement[i],
            "gold_answers": stats.gold.n[i], "gold_accuracy": stats.gold.rate[i],
            "position_answers": stats.position.n[i], "position_bias": stats.position.rate[i],
            "length_answers": stats.length.n[i], "length_bias": stats.length.rate[i],
            "tie_rate": stats.tie_rate[i],
            "median_seconds": stats.median_seconds[i],
            "timed_answers": stats.too_fast.n[i], "too_fast": stats.n_too_fast[i],
            "ds_reliability": reliability[i] if ds else None,
            "ds_confusion": ds.model.confusion[i] if ds else None,
        })
    return entries


def _label_distribution(tables: ItemTables, ds: Consensus | None) -> dict[str, dict[str, int]]:
    def counts(directions: np.ndarray) -> dict[str, int]:
        return {label: int((directions == d).sum()) for d, label in DIRECTION_NAMES.items()}

    out = {"majority": counts(majority_direction(tables.directions))}
    out["dawid_skene"] = counts(ds.direction) if ds else counts(np.zeros(0))
    return out


def _model_summary(ds: Consensus | None) -> dict[str, Any] | None:
    if ds is None:
        return None
    model = ds.model
    return {"classes": model.classes, "priors": model.priors, "n_iter": model.n_iter, "converged": model.converged}


ITEM_FIELDS = ("item", "n_answers", "agreement", "loo_agreement", "majority", "ds_label", "ds_posterior")


def item_columns(tables: ItemTables, loo: agr.LeaveOneOut, ds: Consensus | None) -> dict[str, np.ndarray]:
    """The per-item figures as one array each (ITEM_FIELDS), items ordered; undefined figures are NaN."""
    n = tables.items.n
    return {
        "item": tables.items.keys, "n_answers": tables.items.sizes,
        "agreement": np.asarray(agr.item_agreement(tables.directions), dtype=np.float64),
        "loo_agreement": np.asarray(loo.per_item, dtype=np.float64),
        "majority": majority_direction(tables.directions),
        "ds_label": ds.direction if ds else np.zeros(n, dtype=np.int64),
        "ds_posterior": np.asarray(ds.confidence if ds else np.full(n, np.nan), dtype=np.float64),
    }


def item_rows(columns: Mapping[str, np.ndarray], rows: np.ndarray | None = None) -> list[dict]:
    """`item_columns` (or the given rows of them) as JSON-ready dicts, NaN as None."""
    picked = [columns[name] if rows is None else columns[name][rows] for name in ITEM_FIELDS]
    as_lists = [_floats(c) if c.dtype.kind == "f" else c.tolist() for c in picked]
    return [dict(zip(ITEM_FIELDS, values, strict=True)) for values in zip(*as_lists, strict=True)]


def _item_entries(tables: ItemTables, loo: agr.LeaveOneOut, ds: Consensus | None) -> list[dict]:
    return item_rows(item_columns(tables, loo, ds))


def _floats(values: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(x) else x for x in np.asarray(values, dtype=np.float64).tolist()]


def _namer(names: Mapping[int, str] | Sequence[str] | None) -> Callable[[int], Any]:
    if names is None:
        return lambda code: code
    if isinstance(names, Mapping):
        return lambda code: names.get(code, code)
    return lambda code: names[code] if 0 <= code < len(names) else code


def json_safe(value: Any) -> Any:
    """Plain Python containers and numbers; NaN and infinities become None."""
    if isinstance(value, dict):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def ranking_report(
    rankings: Rankings,
    *,
    n_boot: int = 1000,
    seed: int | None = 0,
    annotator_names: Mapping[int, str] | Sequence[str] | None = None,
    include_items: bool = True,
) -> dict[str, Any]:
    """`agreement_report` of the decomposed pairwise preferences, plus ranking figures.

    The pairwise figures treat each (item, response pair) as a unit, a tied pair being a
    tie answer; `n_response_pairs` counts those units. Their intervals resample ranked
    items, each with all its pairs (the annotators ranked items; the pairs of one ranking
    are not independent draws). Added: mean Kendall's tau-b per annotator pair, Kendall's W
    (tie-corrected) per item and its mean with an interval, and per item its agreement
    (the share of agreeing answer pairs over all its response pairs, ties agreeing with
    ties) and its Bradley-Terry consensus, as groups of equal strength and flattened.
    """
    decomposed = decompose_rankings(rankings)
    report = agreement_report(decomposed.answers, n_boot=n_boot, seed=seed,
                              annotator_names=annotator_names, include_items=False)
    name = _namer(annotator_names)
    taus = kendall_tau_pairs(decomposed)
    items, w = kendall_w(rankings)
    report["n_response_pairs"] = report.pop("n_items")
    report["n_pairwise_answers"] = report.pop("n_annotations")
    report["n_items"] = int(items.shape[0])
    report["n_rankings"] = int(np.asarray(rankings.item).shape[0])
    report["kendall_tau"] = json_safe([
        {"annotators": [name(a), name(b)], "tau": t, "n_items": n}
        for a, b, t, n in zip(taus.annotator_a.tolist(), taus.annotator_b.tolist(), taus.tau.tolist(),
                              taus.n_items.tolist(), strict=True)])
    defined = np.isfinite(w)
    report["kendall_w"] = json_safe({"mean": w[defined].mean() if defined.any() else None,
                                     "n_items": int(defined.sum())})
    report["confidence_intervals"]["kendall_w"] = list(_mean_interval(w[defined], n_boot=n_boot, seed=seed))
    report = json_safe(report)
    if include_items:
        groups = consensus_groups(bradley_terry(decomposed))
        counts = group_by(rankings.item).sizes
        agreement = ranked_item_agreement(decomposed, items)
        report["items"] = [{"item": i, "n_rankings": n, "n_answers": n, "agreement": a, "kendall_w": x,
                            "consensus_order": [r for g in groups.get(i, []) for r in g],
                            "consensus_groups": groups.get(i, [])}
                           for i, n, a, x in zip(items.tolist(), counts.tolist(), _floats(agreement), _floats(w),
                                                 strict=True)]
    return report


def ranked_item_agreement(decomposed: Decomposed, items: np.ndarray) -> np.ndarray:
    """Per ranked item (`items`, ordered): agreeing answer pairs over all answer pairs, pooled over
    its response pairs, by direction (two ties agree). NaN with fewer than two rankings."""
    answers = decomposed.answers
    n_units = decomposed.unit_item.shape[0]
    agree, total = agr.pair_counts(agr.direction_table(answers.item, n_units, answers.direction))
    owner = np.searchsorted(items, decomposed.unit_item)
    return agr.ratio(np.bincount(owner, weights=agree, minlength=items.shape[0]),
                     np.bincount(owner, weights=total, minlength=items.shape[0]))


def _mean_interval(values: np.ndarray, *, n_boot: int, seed: int | None) -> tuple[float, float]:
    """Percentile interval of a mean over items, by the same pattern bootstrap (items with equal values)."""
    distinct, frequency = np.unique(values, return_counts=True)
    interval = bootstrap_intervals(frequency, lambda weights: {"mean": weights @ distinct / weights.sum(axis=1)},
                                   n_boot=n_boot, seed=seed)
    return interval["mean"]
