"""Rankings with ties: every ranking statistic against an independent computation.

The fixture is shaped like real ranking data: 5-way rankings graded on a whole-point scale by
several judges, so that ties are common, one judge never ties, and one ranking ties
everything. Every figure of `ranking_report` is recomputed here the slow, obvious way, or
by the reference library (scipy's Kendall tau-b, statsmodels' Fleiss kappa, scikit-learn's
Cohen kappa, the `krippendorff` package).
"""

import itertools
import warnings

import krippendorff
import numpy as np
import pytest
from scipy import optimize
from scipy import stats as scipy_stats
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotation.quality import (
    Rankings,
    bradley_terry,
    consensus_groups,
    consensus_orders,
    decompose_rankings,
    kendall_w,
    pair_directions,
)
from annotation.quality.report import ItemTables, headline_statistics, ranking_report

SEED = 20240611
K, N_ITEMS, JUDGES, PER_ITEM = 5, 40, 6, 4


def judged_rankings(seed=SEED, n_items=N_ITEMS):
    """{(item, judge): groups best first}, each group's ids ascending."""
    rng = np.random.default_rng(seed)
    out = {}
    for item in range(n_items):
        ids = 1000 + 10 * item + np.arange(K)  # sparse ids, not positions
        quality = rng.normal(0, 1, K)
        difficulty = rng.choice([0.15, 1.5])  # some items are clear, some contested, as in real data
        for judge in sorted(rng.choice(JUDGES, PER_ITEM, replace=False).tolist()):
            noisy = quality + rng.normal(0, difficulty, K)
            grade = noisy if judge == 0 else np.round(noisy)  # whole-point grades tie often; judge 0 never ties
            out[item, judge] = [sorted(ids[grade == g].tolist()) for g in sorted(set(grade.tolist()), reverse=True)]
    first_judge = min(j for i, j in out if i == 0)
    out[0, first_judge] = [(1000 + np.arange(K)).tolist()]  # a judge who could not tell them apart
    return out


def as_rankings(judged):
    keys = sorted(judged)
    return Rankings.from_lists([i for i, _ in keys], [j for _, j in keys], [judged[k] for k in keys])


def relations(groups):
    """(lower id, higher id) -> -1 lower better, 0 tied, +1 higher better."""
    place = {r: g for g, group in enumerate(groups) for r in group}
    return {(a, b): int(np.sign(place[a] - place[b])) for a, b in itertools.combinations(sorted(place), 2)}


def pair_votes(judged):
    """{(item, lower, higher): {judge: relation}}: the decomposition, done by hand."""
    votes = {}
    for (item, judge), groups in judged.items():
        for pair, rel in relations(groups).items():
            votes.setdefault((item, *pair), {})[judge] = rel
    return votes


@pytest.fixture(scope="module")
def judged():
    data = judged_rankings()
    n_tied = sum(rel == 0 for by_judge in pair_votes(data).values() for rel in by_judge.values())
    assert 0.1 < n_tied / (len(data) * 10) < 0.5, n_tied  # ties are common, not everywhere
    return data


@pytest.fixture(scope="module")
def report(judged):
    return ranking_report(as_rankings(judged), n_boot=1000, seed=3)


def test_ties_decompose_into_tie_answers_and_the_counts_match(judged, report):
    votes = pair_votes(judged)
    assert report["n_items"] == N_ITEMS and report["n_rankings"] == len(judged)
    assert report["n_response_pairs"] == len(votes) == N_ITEMS * 10
    assert report["n_pairwise_answers"] == len(judged) * 10
    decomposed = decompose_rankings(as_rankings(judged))
    mine = {(int(decomposed.unit_item[u]), int(decomposed.unit_first[u]), int(decomposed.unit_second[u]), int(a)):
            int(v) for u, a, v in zip(decomposed.answers.item, decomposed.answers.annotator, decomposed.answers.value,
                                      strict=True)}
    assert mine == {(*unit, judge): rel for unit, by_judge in votes.items() for judge, rel in by_judge.items()}


def test_percent_agreement_with_and_without_ties_matches_counting_pairs_by_hand(judged, report):
    agree = total = agree_nt = total_nt = 0
    for by_judge in pair_votes(judged).values():
        for x, y in itertools.combinations(by_judge.values(), 2):
            agree, total = agree + (x == y), total + 1
            if x != 0 and y != 0:
                agree_nt, total_nt = agree_nt + (x == y), total_nt + 1
    assert report["percent_agreement"]["with_ties"] == pytest.approx(agree / total, abs=1e-12)
    assert report["percent_agreement"]["without_ties"] == pytest.approx(agree_nt / total_nt, abs=1e-12)


def test_leave_one_out_agreement_matches_each_vote_against_the_mode_of_the_others(judged, report):
    unit_scores = []
    for by_judge in pair_votes(judged).values():
        values = list(by_judge.values())
        scores = []
        for k, own in enumerate(values):
            others = values[:k] + values[k + 1:]
            counts = {v: others.count(v) for v in set(others)}
            modes = [v for v, c in counts.items() if c == max(counts.values())]
            scores.append(1 / len(modes) if own in modes else 0.0)
        unit_scores.append(np.mean(scores))
    assert report["leave_one_out_agreement"] == pytest.approx(np.mean(unit_scores), abs=1e-12)


def reliability_data(judged):
    """Judges x response pairs, NaN where a judge did not rank the item."""
    units = sorted(pair_votes(judged).items())
    data = np.full((JUDGES, len(units)), np.nan)
    for column, (_, by_judge) in enumerate(units):
        for judge, rel in by_judge.items():
            data[judge, column] = rel
    return data


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval"])
def test_krippendorff_alpha_matches_the_krippendorff_package_with_ties_between_the_sides(judged, report, level):
    expected = krippendorff.alpha(reliability_data=reliability_data(judged), level_of_measurement=level)
    assert report["krippendorff_alpha"][level] == pytest.approx(expected, abs=1e-9)


def test_fleiss_kappa_matches_statsmodels_with_ties_as_a_category(judged, report):
    table = np.array([[list(by_judge.values()).count(v) for v in (-1, 0, 1)]
                      for by_judge in pair_votes(judged).values()])
    assert report["fleiss_kappa"] == pytest.approx(sm_fleiss_kappa(table), abs=1e-9)


def test_cohen_kappa_of_every_judge_pair_matches_scikit_learn(judged, report):
    votes = pair_votes(judged)
    by_pair = {tuple(entry["annotators"]): entry for entry in report["cohen_kappa"]}
    assert len(by_pair) == JUDGES * (JUDGES - 1) // 2
    for (a, b), entry in by_pair.items():
        shared = [(v[a], v[b]) for v in votes.values() if a in v and b in v]
        x, y = (np.array(side) for side in zip(*shared, strict=True))
        assert entry["kappa"] == pytest.approx(cohen_kappa_score(x, y), abs=1e-9)
        for weights in ("linear", "quadratic"):
            assert entry[weights] == pytest.approx(cohen_kappa_score(x, y, labels=[-1, 0, 1], weights=weights),
                                                   abs=1e-9)


def place_vector(groups, responses):
    place = {r: g for g, group in enumerate(groups) for r in group}
    return [place[r] for r in responses]


def test_kendall_tau_b_between_judges_matches_scipy_variant_b(judged, report):
    expected = {}
    for (item, a), (item_b, b) in itertools.combinations(sorted(judged), 2):
        if item != item_b:
            continue
        responses = sorted(r for g in judged[item, a] for r in g)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a ranking that ties everything: tau-b is undefined
            tau = scipy_stats.kendalltau(place_vector(judged[item, a], responses),
                                         place_vector(judged[item, b], responses), variant="b").statistic
        if np.isfinite(tau):
            expected.setdefault((a, b), []).append(tau)
    got = {tuple(t["annotators"]): t for t in report["kendall_tau"]}
    assert set(got) == set(expected)
    for pair, taus in expected.items():
        assert got[pair]["n_items"] == len(taus)
        assert got[pair]["tau"] == pytest.approx(np.mean(taus), abs=1e-12)
    # The undefined item really was left out: judge pairs on item 0 count one item fewer.
    all_tied = next(j for (i, j), g in judged.items() if i == 0 and len(g) == 1)
    assert any(all_tied in pair for pair in expected)


def straightforward_w(rankings_of_item):
    """Kendall's W with the tie correction, from mid-ranks, written out."""
    responses = sorted(r for g in rankings_of_item[0] for r in g)
    m, k = len(rankings_of_item), len(responses)
    ranks = np.array([scipy_stats.rankdata(place_vector(groups, responses)) for groups in rankings_of_item])
    s = ((ranks.sum(axis=0) - m * (k + 1) / 2) ** 2).sum()
    t = sum(len(g) ** 3 - len(g) for groups in rankings_of_item for g in groups)
    denominator = m**2 * (k**3 - k) - m * t
    return 12 * s / denominator if denominator > 0 else np.nan


def test_kendall_w_with_ties_matches_a_straightforward_tie_corrected_w_and_scipys_friedman(judged, report):
    items, w = kendall_w(as_rankings(judged))
    assert items.tolist() == list(range(N_ITEMS))
    for item, w_item in zip(items.tolist(), w.tolist(), strict=True):
        rankings_of_item = [g for (i, _), g in sorted(judged.items()) if i == item]
        assert w_item == pytest.approx(straightforward_w(rankings_of_item), abs=1e-12)
        responses = sorted(r for g in rankings_of_item[0] for r in g)
        ranks = np.array([scipy_stats.rankdata(place_vector(g, responses)) for g in rankings_of_item])
        chi2 = scipy_stats.friedmanchisquare(*ranks.T).statistic  # scipy applies the same tie correction
        assert w_item == pytest.approx(chi2 / (len(rankings_of_item) * (K - 1)), abs=1e-9)
    assert report["kendall_w"]["mean"] == pytest.approx(np.mean(w), abs=1e-12)


def test_item_agreement_is_the_share_of_agreeing_vote_pairs_over_the_items_pairs(judged, report):
    expected = {}
    for (item, *_), by_judge in pair_votes(judged).items():
        agree, total = expected.get(item, (0, 0))
        pairs = list(itertools.combinations(by_judge.values(), 2))
        expected[item] = (agree + sum(x == y for x, y in pairs), total + len(pairs))
    got = {row["item"]: row["agreement"] for row in report["items"]}
    assert got == pytest.approx({item: a / t for item, (a, t) in expected.items()}, abs=1e-12)


def bradley_terry_by_optimizer(votes_of_item, responses, prior=0.1):
    """Maximum likelihood with ties as half a win each way and `prior` even virtual games per pair."""
    index = {r: i for i, r in enumerate(responses)}
    wins = []
    for (a, b), by_judge in votes_of_item.items():
        rels = list(by_judge.values())
        wins.append((index[a], index[b], sum(r < 0 for r in rels) + 0.5 * rels.count(0) + prior / 2,
                     sum(r > 0 for r in rels) + 0.5 * rels.count(0) + prior / 2))

    def negative_log_likelihood(theta):
        return -sum(w_a * (theta[a] - np.logaddexp(theta[a], theta[b])) +
                    w_b * (theta[b] - np.logaddexp(theta[a], theta[b])) for a, b, w_a, w_b in wins)

    theta = optimize.minimize(negative_log_likelihood, np.zeros(len(responses)), method="BFGS",
                              options={"gtol": 1e-10}).x
    strength = np.exp(theta)
    return strength / strength.mean()


def test_bradley_terry_with_ties_matches_the_maximum_likelihood_found_by_an_optimizer(judged, report):
    decomposed = decompose_rankings(as_rankings(judged))
    fit = bradley_terry(decomposed)
    votes = pair_votes(judged)
    groups = consensus_groups(fit)
    for item in range(0, N_ITEMS, 4):
        responses = sorted(r for g in judged[next(k for k in judged if k[0] == item)] for r in g)
        expected = bradley_terry_by_optimizer({(a, b): v for (i, a, b), v in votes.items() if i == item}, responses)
        ours = np.array([fit.strength[(fit.item == item) & (fit.response == r)][0] for r in responses])
        np.testing.assert_allclose(ours, expected, rtol=1e-5)
        by_strength = {}  # the optimizer's strengths, equal to its precision, strongest first, ids ascending
        for response, strength in zip(responses, np.round(expected, 5).tolist(), strict=True):
            by_strength.setdefault(strength, []).append(response)
        assert groups[item] == [by_strength[s] for s in sorted(by_strength, reverse=True)]
    assert groups[0][0] == [1000, 1002, 1004]  # item 0: three responses every judge tied
    assert [row["consensus_groups"] for row in report["items"]] == [groups[i] for i in range(N_ITEMS)]
    assert [row["consensus_order"] for row in report["items"]] == [consensus_orders(fit)[i] for i in range(N_ITEMS)]


def test_equal_strengths_are_one_consensus_group_ordered_by_lower_id_first():
    # 9 and 36 are each preferred to the other equally often: their strengths are equal, and the
    # MM iteration used to leave them 2e-16 apart in whichever direction its sums rounded.
    rankings = Rankings.from_lists([1] * 4, [0, 1, 2, 3], [[9, 36, 54, 3], [36, 9, 54, 3]] * 2)
    fit = bradley_terry(decompose_rankings(rankings))
    assert consensus_orders(fit) == {1: [9, 36, 54, 3]}
    assert consensus_groups(fit) == {1: [[9, 36], [54], [3]]}
    decomposed = decompose_rankings(rankings)
    directions = dict(zip(zip(decomposed.unit_first.tolist(), decomposed.unit_second.tolist(), strict=False),
                          pair_directions(fit, decomposed.unit_item, decomposed.unit_first,
                                          decomposed.unit_second).tolist(), strict=True))
    assert directions[(9, 36)] == 0 and directions[(9, 54)] == -1 and directions[(3, 9)] == 1


def resampled(judged, drawn):
    """The judged rankings of the drawn items, each draw a fresh item."""
    by_item = {}
    for (item, judge), groups in judged.items():
        by_item.setdefault(item, []).append((judge, groups))
    return {(new, judge): groups for new, item in enumerate(drawn) for judge, groups in by_item[int(item)]}


def test_the_interval_weights_reproduce_the_figures_of_an_actual_resample_of_ranked_items(judged):
    """The cluster bootstrap's weights are exactly those of drawing whole items with their pairs."""
    from annotation.quality.bootstrap import cluster_members

    decomposed = decompose_rankings(as_rankings(judged))
    tables = ItemTables.build(decomposed.answers)
    item_of_unit = np.zeros(tables.items.n, dtype=np.int64)
    item_of_unit[tables.items.codes] = decomposed.answers.cluster
    frequency, members = cluster_members(item_of_unit, tables.pattern_of_item, tables.patterns.shape[0])
    assert frequency.sum() == N_ITEMS
    statistics = headline_statistics(tables)
    rng = np.random.default_rng(0)
    for _ in range(3):
        drawn = rng.integers(0, N_ITEMS, N_ITEMS)
        unit_weights = np.zeros(tables.patterns.shape[0])
        for item in drawn:
            np.add.at(unit_weights, tables.pattern_of_item[item_of_unit == item], 1)
        figures = {k: float(v[0]) for k, v in statistics(unit_weights[None, :]).items()}
        again = ranking_report(as_rankings(resampled(judged, drawn)), n_boot=0)
        assert figures["percent_agreement_with_ties"] == pytest.approx(again["percent_agreement"]["with_ties"])
        assert figures["fleiss_kappa"] == pytest.approx(again["fleiss_kappa"])
        assert figures["krippendorff_alpha_ordinal"] == pytest.approx(again["krippendorff_alpha"]["ordinal"])


def test_intervals_resample_ranked_items_not_response_pairs(judged, report):
    """As wide as a naive bootstrap over ranked items; resampling pairs gave about 0.6 of that width."""
    rng = np.random.default_rng(1)
    naive = {"with": [], "alpha": []}
    for _ in range(300):
        again = ranking_report(as_rankings(resampled(judged, rng.integers(0, N_ITEMS, N_ITEMS))), n_boot=0,
                               include_items=False)
        naive["with"].append(again["percent_agreement"]["with_ties"])
        naive["alpha"].append(again["krippendorff_alpha"]["ordinal"])
    for name, key in (("with", "percent_agreement_with_ties"), ("alpha", "krippendorff_alpha_ordinal")):
        low, high = report["confidence_intervals"][key]
        naive_low, naive_high = np.percentile(naive[name], [2.5, 97.5])
        assert high - low == pytest.approx(naive_high - naive_low, rel=0.25), key


def test_krippendorff_ordinal_alpha_and_kendall_w_have_intervals_that_bracket_them(report):
    for key, point in (("krippendorff_alpha_ordinal", report["krippendorff_alpha"]["ordinal"]),
                       ("kendall_w", report["kendall_w"]["mean"])):
        low, high = report["confidence_intervals"][key]
        assert low < point < high, key


def test_a_flat_ranking_and_its_groups_of_one_are_the_same_ranking():
    flat = Rankings.from_lists([1, 1], [0, 1], [[3, 1, 2], [2, 3, 1]])
    grouped = Rankings.from_lists([1, 1], [0, 1], [[[3], [1], [2]], [[2], [3], [1]]])
    assert np.array_equal(flat.order, grouped.order) and np.array_equal(flat.rank, grouped.rank)
    assert not flat.has_ties and Rankings.from_lists([1], [0], [[[1, 2], [3]]]).has_ties
