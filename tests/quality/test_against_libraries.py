"""Our vectorised statistics against the reference libraries, to 1e-9, on random data.

krippendorff (GPL-3.0), statsmodels and scikit-learn are test-only references here.
"""

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as scipy_stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohens_kappa
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotation.quality import (
    Rankings,
    alpha_from_reliability_data,
    cohen_kappa,
    cohen_kappa_table,
    decompose_rankings,
    fleiss_kappa,
    kendall_tau_pairs,
    kendall_w,
    pairwise_cohen_kappa,
)
from annotation.quality.alpha import LEVELS

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def reliability_data(draw):
    """Coders x units with values from a small domain and missing cells (NaN)."""
    coders = draw(st.integers(2, 6))
    units = draw(st.integers(1, 15))
    low = draw(st.sampled_from([-3, 0, 1]))
    values = st.one_of(st.none(), st.integers(low, low + draw(st.integers(1, 6))))
    cells = draw(st.lists(values, min_size=coders * units, max_size=coders * units))
    return np.array([np.nan if c is None else c for c in cells], dtype=float).reshape(coders, units)


@PROPERTY
@given(reliability_data(), st.sampled_from(LEVELS))
def test_krippendorff_alpha_matches_the_krippendorff_package_with_missing_data(data, level):
    ours = alpha_from_reliability_data(data, level)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except ValueError:  # the package refuses one-value domains and data without a pairable unit
        assert np.isnan(ours)
        return
    if np.isnan(expected):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(expected, abs=1e-9)


def test_krippendorff_alpha_matches_the_package_on_continuous_values():
    rng = np.random.default_rng(3)
    data = rng.normal(size=(5, 40)).round(2)
    data[rng.random(data.shape) < 0.4] = np.nan
    for level in ("interval", "ordinal"):
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
        assert alpha_from_reliability_data(data, level) == pytest.approx(expected, abs=1e-9)


@st.composite
def two_raters(draw):
    n = draw(st.integers(2, 40))
    labels = draw(st.integers(2, 6))
    y = st.lists(st.integers(0, labels - 1), min_size=n, max_size=n)
    return np.array(draw(y)), np.array(draw(y)), np.arange(labels)


@PROPERTY
@given(two_raters(), st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_matches_scikit_learn(raters, weights):
    y1, y2, labels = raters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = cohen_kappa_score(y1, y2, labels=labels, weights=weights)
        expected_default = cohen_kappa_score(y1, y2, weights=weights)
    for ours, reference in ((cohen_kappa(y1, y2, labels=labels, weights=weights), expected),
                            (cohen_kappa(y1, y2, weights=weights), expected_default)):
        if np.isnan(reference):
            assert np.isnan(ours)
        else:
            assert ours == pytest.approx(reference, abs=1e-9)


@PROPERTY
@given(st.integers(2, 5).flatmap(
    lambda k: st.lists(st.integers(0, 12), min_size=k * k, max_size=k * k).map(
        lambda cells: np.array(cells).reshape(k, k)).filter(lambda table: table.sum() > 0)),
    st.sampled_from([None, "linear", "quadratic"]))
def test_cohen_kappa_table_matches_statsmodels_kappa_and_standard_error(table, weights):
    result = cohen_kappa_table(table, weights=weights)
    k = table.shape[0]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if weights is None:
            expected = sm_cohens_kappa(table)
        else:
            expected = sm_cohens_kappa(table, weights=np.arange(k), wt="linear" if weights == "linear" else "quadratic")
    if not np.isfinite(expected.kappa):
        assert np.isnan(result.kappa)
        return
    assert result.kappa == pytest.approx(expected.kappa, abs=1e-9)
    if np.isfinite(expected.std_kappa):
        assert result.ase == pytest.approx(expected.std_kappa, abs=1e-9)


def test_cohen_kappa_of_an_empty_table_is_undefined_not_an_error():
    assert np.isnan(cohen_kappa_table(np.zeros((3, 3))).kappa)


@PROPERTY
@given(st.integers(2, 7), st.integers(2, 5), st.integers(1, 30), st.randoms(use_true_random=False))
def test_fleiss_kappa_matches_statsmodels_with_a_constant_rater_count(raters, categories, items, rnd):
    rng = np.random.default_rng(rnd.randrange(2**32))
    p = rng.dirichlet(np.ones(categories))
    table = rng.multinomial(raters, p, size=items)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = sm_fleiss_kappa(table)
    ours = float(fleiss_kappa(table))
    if np.isfinite(expected):
        assert ours == pytest.approx(expected, abs=1e-9)
    else:
        assert np.isnan(ours)


def test_pairwise_cohen_kappa_matches_scikit_learn_for_every_annotator_pair():
    rng = np.random.default_rng(7)
    n_items, per_item, pool = 120, 3, 7
    item = np.repeat(np.arange(n_items), per_item)
    annotator = np.concatenate([rng.choice(pool, per_item, replace=False) for _ in range(n_items)]) * 10 + 5
    truth = rng.integers(-3, 4, n_items)
    value = np.where(rng.random(item.size) < 0.6, truth[item], rng.integers(-3, 4, item.size)).astype(float)
    domain = np.arange(-3, 4)
    pairs = pairwise_cohen_kappa(item, annotator, {
        "kappa": (np.array([-1, 0, 1]), np.sign(value), None),
        "linear": (domain, value, "linear"), "quadratic": (domain, value, "quadratic")})
    assert len(pairs.annotator_a) == pool * (pool - 1) // 2
    for index, (a, b) in enumerate(zip(pairs.annotator_a, pairs.annotator_b, strict=True)):
        shared = np.intersect1d(item[annotator == a], item[annotator == b])
        va = np.array([value[(item == i) & (annotator == a)][0] for i in shared])
        vb = np.array([value[(item == i) & (annotator == b)][0] for i in shared])
        assert pairs.n_items[index] == shared.size
        assert pairs.kappas["kappa"][index] == pytest.approx(cohen_kappa_score(np.sign(va), np.sign(vb)), abs=1e-9)
        for weights in ("linear", "quadratic"):
            expected = cohen_kappa_score(va, vb, labels=domain, weights=weights)
            assert pairs.kappas[weights][index] == pytest.approx(expected, abs=1e-9)


def random_rankings(rng, n_items, per_item, pool, k):
    items, annotators, orders = [], [], []
    for item in range(n_items):
        responses = 100 * item + np.arange(k)
        for a in rng.choice(pool, per_item, replace=False):
            items.append(item)
            annotators.append(a)
            orders.append(rng.permutation(responses).tolist())
    return Rankings.from_lists(items, annotators, orders)


def test_kendall_tau_between_annotators_matches_scipy():
    rng = np.random.default_rng(11)
    rankings = random_rankings(rng, n_items=25, per_item=3, pool=5, k=5)
    taus = kendall_tau_pairs(decompose_rankings(rankings))
    for a, b, tau, n in zip(taus.annotator_a, taus.annotator_b, taus.tau, taus.n_items, strict=True):
        per_item = []
        for item in np.intersect1d(rankings.item[rankings.annotator == a], rankings.item[rankings.annotator == b]):
            order_a = rankings.order[(rankings.item == item) & (rankings.annotator == a)][0]
            order_b = rankings.order[(rankings.item == item) & (rankings.annotator == b)][0]
            rank_b = {r: i for i, r in enumerate(order_b)}
            per_item.append(scipy_stats.kendalltau(np.arange(len(order_a)), [rank_b[r] for r in order_a]).statistic)
        assert n == len(per_item)
        assert tau == pytest.approx(np.mean(per_item), abs=1e-9)


def test_kendall_w_matches_the_friedman_statistic():
    rng = np.random.default_rng(5)
    rankings = random_rankings(rng, n_items=10, per_item=4, pool=6, k=4)
    items, w = kendall_w(rankings)
    for item, w_item in zip(items, w, strict=True):
        orders = rankings.order[rankings.item == item]
        responses = np.sort(orders[0])
        ranks = np.array([[list(order).index(r) + 1 for r in responses] for order in orders])  # raters x responses
        chi2 = scipy_stats.friedmanchisquare(*ranks.T).statistic
        m, k = ranks.shape
        assert w_item == pytest.approx(chi2 / (m * (k - 1)), abs=1e-9)
