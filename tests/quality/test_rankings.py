import numpy as np

from annotation.quality import Rankings, bradley_terry, consensus_orders, decompose_rankings, kendall_w
from annotation.quality.report import ranking_report


def test_a_ranking_of_four_decomposes_into_six_pairs_with_the_lower_id_as_first():
    decomposed = decompose_rankings(Rankings.from_lists([5], [1], [[12, 10, 13, 11]]))
    pairs = {(int(decomposed.unit_first[u]), int(decomposed.unit_second[u])): v
             for u, v in zip(decomposed.answers.item, decomposed.answers.value, strict=True)}
    # -1: the lower id (stored-first) ranked higher; +1: the higher id ranked higher.
    assert pairs == {(10, 11): -1, (10, 12): 1, (10, 13): -1, (11, 12): 1, (11, 13): 1, (12, 13): -1}
    assert decomposed.unit_item.tolist() == [5] * 6


def test_decomposition_keys_pairs_by_item_and_response_pair_across_annotators():
    decomposed = decompose_rankings(Rankings.from_lists([1, 1, 2], [7, 8, 7], [[1, 2, 3], [3, 2, 1], [4, 5]]))
    assert len(decomposed.answers) == 3 + 3 + 1
    assert decomposed.unit_item.shape[0] == 4  # three pairs of item 1, one of item 2
    assert np.bincount(decomposed.answers.item).tolist() == [2, 2, 2, 1]


def test_rankings_of_different_lengths_are_padded_not_mixed():
    decomposed = decompose_rankings(Rankings.from_lists([1, 2], [0, 0], [[1, 2], [3, 4, 5]]))
    assert len(decomposed.answers) == 1 + 3


def test_bradley_terry_orders_a_clear_case_correctly():
    orders = [[30, 10, 40, 20]] * 4 + [[10, 30, 40, 20]] + [[7, 8, 9]] * 3
    rankings = Rankings.from_lists([1] * 5 + [2] * 3, list(range(5)) + [0, 1, 2], orders)
    fit = bradley_terry(decompose_rankings(rankings))
    assert consensus_orders(fit) == {1: [30, 10, 40, 20], 2: [7, 8, 9]}
    strengths = dict(zip(fit.response.tolist(), fit.strength.tolist(), strict=True))
    assert strengths[30] > strengths[10] > strengths[40] > strengths[20] > 0


def test_bradley_terry_counts_a_tie_as_half_a_win_each_way():
    from annotation.quality.answers import Answers
    from annotation.quality.rankings import Decomposed

    answers = Answers(item=[0, 0], annotator=[0, 1], value=[0.0, 0.0])
    decomposed = Decomposed(answers, np.array([1]), np.array([10]), np.array([11]))
    fit = bradley_terry(decomposed)
    np.testing.assert_allclose(fit.strength, [1.0, 1.0])


def test_kendall_w_is_one_for_identical_rankings_and_zero_for_opposite_pairs():
    rankings = Rankings.from_lists([1, 1, 1, 2, 2], [0, 1, 2, 0, 1],
                                   [[1, 2, 3], [1, 2, 3], [1, 2, 3], [4, 5, 6], [6, 5, 4]])
    items, w = kendall_w(rankings)
    assert items.tolist() == [1, 2]
    np.testing.assert_allclose(w, [1.0, 0.0])


def test_ranking_report_adds_ranking_figures_and_consensus_orders():
    rankings = Rankings.from_lists([1, 1, 1, 2], [0, 1, 2, 0], [[3, 1, 2], [3, 1, 2], [1, 3, 2], [5, 4]])
    report = ranking_report(rankings, n_boot=50)
    assert report["n_items"] == 2 and report["n_rankings"] == 4 and report["n_response_pairs"] == 4
    # Item 1: of its 3 x 3 answer pairs over 3 response pairs, 7 agree (the third ranking swaps 3 and 1).
    assert report["items"][0] == {"item": 1, "n_rankings": 3, "n_answers": 3, "kendall_w": report["items"][0]["kendall_w"],
                                  "agreement": 7 / 9, "consensus_order": [3, 1, 2],
                                  "consensus_groups": [[3], [1], [2]]}
    assert report["items"][1]["kendall_w"] is None  # one ranking: undefined
    assert {tuple(t["annotators"]) for t in report["kendall_tau"]} == {(0, 1), (0, 2), (1, 2)}
