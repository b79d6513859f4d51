import numpy as np
import pytest

from annotation.quality import Answers, annotator_stats, reading_floor_seconds


def test_reading_floor_is_both_texts_at_600_words_per_minute_of_5_characters():
    assert reading_floor_seconds(2500, 500) == pytest.approx(60.0)
    assert reading_floor_seconds(2500, 500, wpm=300) == pytest.approx(120.0)


def answers():
    # annotator 0: four answers; annotator 1: two.
    return Answers(
        item=[0, 1, 2, 3, 0, 1],
        annotator=[0, 0, 0, 0, 1, 1],
        value=[-2, 1, 0, -1, -1, -3],
        shown_first_is_stored_first=[True, True, True, False, False, True],
        len_first=[100, 900, 500, 100, 100, 900],
        len_second=[400, 100, 500, 800, 400, 100],
        seconds=[3, 30, 1, 100, np.nan, 8],
        is_gold=[True, False, False, True, True, False],
        gold_value=[-1, np.nan, np.nan, 2, -3, np.nan],
    )


def test_position_bias_is_the_share_of_non_tie_answers_choosing_the_response_shown_first():
    stats = annotator_stats(answers(), np.full(6, np.nan))
    # annotator 0, non-tie: (-2, shown first) yes; (+1, shown first) no; (-1, stored-first shown second) no.
    assert stats.position.n.tolist() == [3, 2]
    assert stats.position.rate[0] == pytest.approx(1 / 3)
    # annotator 1: (-1, first shown second) no; (-3, shown first) yes.
    assert stats.position.rate[1] == pytest.approx(0.5)


def test_length_bias_is_the_share_of_non_tie_answers_choosing_the_longer_response():
    stats = annotator_stats(answers(), np.full(6, np.nan))
    # annotator 0: -2 picks 100 over 400 (shorter); +1 picks 100 over 900 (shorter); -1 picks 100 over 800.
    assert stats.length.n[0] == 3 and stats.length.rate[0] == 0.0
    # annotator 1: -1 picks shorter; -3 picks 900 over 100 (longer).
    assert stats.length.rate[1] == pytest.approx(0.5)


def test_gold_accuracy_compares_directions_on_gold_items_only():
    stats = annotator_stats(answers(), np.full(6, np.nan))
    assert stats.gold.n.tolist() == [2, 1]
    assert stats.gold.rate.tolist() == [0.5, 1.0]


def test_speed_reports_the_median_and_answers_faster_than_the_reading_floor():
    stats = annotator_stats(answers(), np.full(6, np.nan))
    assert stats.median_seconds.tolist() == [16.5, 8.0]
    # floors: 500 chars -> 10 s, 1000 -> 20 s, 1000 -> 20 s, 900 -> 18 s; annotator 1: 1000 -> 20 s
    assert stats.n_too_fast.tolist() == [2, 1]
    assert stats.too_fast.n.tolist() == [4, 1]  # annotator 1's untimed answer does not count


def test_columns_the_platform_lacks_give_undefined_figures_not_errors():
    stats = annotator_stats(Answers(item=[0, 0], annotator=[3, 4], value=[1, 1]), np.array([1.0, 1.0]))
    assert stats.annotator.tolist() == [3, 4]
    assert np.isnan(stats.position.rate).all() and np.isnan(stats.gold.rate).all()
    assert np.isnan(stats.median_seconds).all()
    assert stats.loo_agreement.tolist() == [1.0, 1.0]
