import numpy as np
import pytest

from annotation.quality import item_agreement, leave_one_out_agreement, majority_direction, percent_agreement
from annotation.quality.agreement import direction_table, loo_label_scores


def test_percent_agreement_counts_every_pair_once_and_two_ties_agree():
    # item 0: -2, -1, 0 -> pairs (-,-) agree, (-,0) x2 disagree     -> 1 of 3
    # item 1: 0, 0, 3   -> (0,0) agree, (0,+) x2 disagree            -> 1 of 3
    # item 2: 1, 2      -> agree                                      -> 1 of 1
    # item 3: -3 alone  -> no pair
    item = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3])
    value = np.array([-2, -1, 0, 0, 0, 3, 1, 2, -3])
    result = percent_agreement(item, value)
    assert result.n_pairs == 7
    assert result.with_ties == pytest.approx(3 / 7)
    # Without ties only (-2,-1) and (1,2) remain: both agree.
    assert result.n_pairs_without_ties == 2
    assert result.without_ties == pytest.approx(1.0)


def test_percent_agreement_without_ties_is_undefined_when_every_pair_has_a_tie():
    result = percent_agreement(np.array([0, 0]), np.array([0, 0]))
    assert result.with_ties == 1.0
    assert np.isnan(result.without_ties)


def test_item_agreement_is_the_share_of_agreeing_pairs_per_item():
    table = direction_table(np.array([0, 0, 0, 1, 1, 2]), 3, np.array([-1, -1, 1, 0, 0, 1]))
    np.testing.assert_allclose(item_agreement(table), [1 / 3, 1.0, np.nan])


def test_leave_one_out_scores_a_tied_mode_of_the_others_by_its_expected_value():
    # Held out -1: others (+1, 0) tie -> neither is -1 -> 0.
    # Held out +1: others (-1, 0) tie -> 0.   Held out 0: others (-1, +1) -> 0.
    # On [-1, -1, +1, +1]: held-out -1 sees (-1, +1, +1) -> mode +1 -> 0; held-out +1 likewise -> 0.
    # On [-1, +1]: each sees the other -> 0.   On [-1, 0, 0, +1]: held-out 0 sees (-1, 0, +1): 3-way tie -> 1/3.
    result = leave_one_out_agreement(np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]),
                                     np.array([-1, 0, 1, -1, 0, 0, 1, -1, -1, 1, -1]))
    np.testing.assert_allclose(result.per_answer[:3], [0, 0, 0])
    np.testing.assert_allclose(result.per_answer[3:7], [0, 1 / 3, 1 / 3, 0])
    np.testing.assert_allclose(result.per_answer[7:], [1, 1, 0, 1])


def test_leave_one_out_gives_half_credit_when_the_answer_is_one_of_two_tied_modes():
    # Answers -1, -1, +1. A held-out -1 sees (-1, +1): tied modes, one of them its own -> 1/2.
    # The held-out +1 sees (-1, -1) -> 0.
    scores = loo_label_scores(np.array([[2, 0, 1]]))
    assert scores[0, 0] == 0.5 and scores[0, 2] == 0.0
    # Answers -1, 0, 0, +1: a held-out 0 sees a three-way tie -> 1/3; -1 and +1 see the mode 0 -> 0.
    assert loo_label_scores(np.array([[1, 2, 1]]))[0].tolist() == [0.0, 1 / 3, 0.0]


def test_leave_one_out_excludes_items_with_a_single_answer_and_weighs_items_equally():
    result = leave_one_out_agreement(np.array([0, 0, 0, 0, 1, 1, 2]), np.array([1, 1, 1, -1, 1, 1, -1]))
    assert np.isnan(result.per_answer[-1])
    assert result.n_items == 2
    assert result.score == pytest.approx(((1 + 1 + 1 + 0) / 4 + 1) / 2)


def test_majority_is_a_tie_when_the_top_directions_are_level():
    table = np.array([[2, 0, 1], [1, 1, 0], [1, 0, 1], [0, 2, 1], [1, 1, 1], [0, 0, 3]])
    assert majority_direction(table).tolist() == [-1, 0, 0, 0, 0, 1]
