"""Every value of /work/shared/reference/agreement_vectors.md, to its printed precision.

Long figures (seven significant digits or more) are checked to 1e-6.
"""

import numpy as np
import pytest

from annotation.quality import (
    alpha_from_reliability_data,
    cohen_kappa,
    cohen_kappa_table,
    coincidence_matrix,
    fleiss_kappa,
    fleiss_kappa_z,
    leave_one_out_agreement,
    one_vs_one_agreement,
    percent_agreement,
)
from annotation.quality.answers import count_table

nan = np.nan


def printed(value, expected: str) -> bool:
    """True when `value` rounds to the printed `expected` (half a unit of its last digit)."""
    decimals = len(expected.split(".")[1]) if "." in expected else 0
    return abs(value - float(expected)) <= 0.5 * 10.0**-decimals + 1e-12


# --- Cohen's kappa ---

def test_cohen_kappa_reproduces_the_two_by_two_sklearn_table():
    y1 = [0] * 40 + [1] * 60
    y2 = [0] * 20 + [1] * 20 + [0] * 10 + [1] * 50
    kappa = cohen_kappa(y1, y2)
    assert printed(kappa, "0.348")
    assert kappa == pytest.approx(0.3478261, abs=1e-6)


def test_cohen_kappa_reproduces_the_three_label_sklearn_vectors():
    y1 = [0] * 46 + [1] * 44 + [2] * 10
    assert printed(cohen_kappa(y1, [0] * 52 + [1] * 32 + [2] * 16), "0.8013")
    y2 = [0] * 50 + [1] * 40 + [2] * 10
    assert printed(cohen_kappa(y1, y2), "0.9315")
    assert printed(cohen_kappa(y1, y2, weights="linear"), "0.9412")
    assert printed(cohen_kappa(y1, y2, weights="quadratic"), "0.9541")


TABLE10 = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def test_cohen_kappa_table_reproduces_the_sas_printout_with_its_standard_error():
    result = cohen_kappa_table(TABLE10)
    assert printed(result.kappa, "0.4842")
    assert printed(result.ase, "0.1380")
    assert printed(result.ci_low, "0.2137")
    assert printed(result.ci_high, "0.7547")


def test_cohen_kappa_table_reproduces_the_sas_linear_weighted_kappa():
    assert printed(cohen_kappa_table(TABLE10, weights="linear").kappa, "0.4701")


ANXIETY = np.array([
    3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3,
    3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4,
    2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2,
]).reshape(3, 20).T  # column-major: one column per rater


@pytest.mark.parametrize("weights, expected", [
    (None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325), ([0, 0, 1, 1, 2], 0.2391304),
])
def test_cohen_kappa_matches_irr_kappa2_on_the_anxiety_raters_2_and_3(weights, expected):
    # irr drops the unused level 5, so the weights run over the levels actually used.
    assert cohen_kappa(ANXIETY[:, 1], ANXIETY[:, 2], weights=weights) == pytest.approx(expected, abs=1e-6)
    edges = [1, 2, 3, 4, 6, 7]
    table, _, _ = np.histogram2d(ANXIETY[:, 1], ANXIETY[:, 2], bins=[edges, edges])
    assert cohen_kappa_table(table, weights=weights).kappa == pytest.approx(expected, abs=1e-6)


# --- Fleiss' kappa ---

WIKIPEDIA_FLEISS = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_fleiss_kappa_reproduces_the_wikipedia_example():
    kappa = float(fleiss_kappa(WIKIPEDIA_FLEISS))
    assert printed(kappa, "0.210")
    assert kappa == pytest.approx(0.2099307, abs=1e-6)


DIAGNOSES = ("444444 222555 233335 555555 222444 113333 333355 113334 114444 555555 144444 124444 222333 "
             "144444 224445 333335 111455 111112 224444 133555 555555 244444 224555 114444 144445 222224 "
             "111155 224444 133333 555555").split()


def diagnoses_table():
    """Build the counts table from the long ratings, as the app would."""
    patient = np.repeat(np.arange(len(DIAGNOSES)), 6)
    rating = np.array([int(c) for row in DIAGNOSES for c in row])
    return count_table(patient, len(DIAGNOSES), rating - 1, 5)


def test_fleiss_kappa_reproduces_irr_on_the_fleiss_1971_diagnoses():
    table = diagnoses_table()
    assert table.sum(axis=0).tolist() == [26, 26, 30, 55, 43]
    assert float(fleiss_kappa(table)) == pytest.approx(0.4302445, abs=1e-6)
    assert fleiss_kappa_z(table) == pytest.approx(17.65183, abs=1e-5)


# --- Krippendorff's alpha ---

WIKIPEDIA_ALPHA = [
    [nan, nan, nan, nan, nan, 3, 4, 1, 2, 1, 1, 3, 3, nan, 3],
    [1, nan, 2, 1, 3, 3, 4, 3, nan, nan, nan, nan, nan, nan, nan],
    [nan, nan, 2, 1, 3, 4, 4, nan, 2, 1, 1, 3, 3, nan, 4],
]


def test_krippendorff_alpha_reproduces_the_wikipedia_example():
    assert alpha_from_reliability_data(WIKIPEDIA_ALPHA, "nominal") == pytest.approx(0.691358, abs=1e-6)
    assert alpha_from_reliability_data(WIKIPEDIA_ALPHA, "interval") == pytest.approx(0.810845, abs=1e-6)


def long_form(data):
    data = np.asarray(data, dtype=float)
    return np.broadcast_to(np.arange(data.shape[1]), data.shape).ravel(), data.ravel()


EXAMPLE_A = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]


def test_krippendorff_example_a_has_the_published_coincidences_and_alpha():
    domain, matrix = coincidence_matrix(*long_form(EXAMPLE_A))
    assert domain.tolist() == [0, 1]
    np.testing.assert_allclose(matrix, [[10, 4], [4, 2]])
    assert printed(alpha_from_reliability_data(EXAMPLE_A, "nominal"), "0.095")


def test_krippendorff_example_b_nominal_alpha():
    data = [[1, 1, 2, 2, 4, 3, 3, 3, 5, 4, 4, 1], [2, 1, 2, 2, 2, 3, 3, 3, 5, 4, 4, 4]]
    assert printed(alpha_from_reliability_data(data, "nominal"), "0.692")


EXAMPLE_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]


def test_krippendorff_example_c_has_the_published_coincidences_with_missing_data():
    t = 1 / 3
    domain, matrix = coincidence_matrix(*long_form(EXAMPLE_C))
    assert domain.tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(matrix, [[7, 4 * t, t, t, 0], [4 * t, 10, 4 * t, t, 0], [t, 4 * t, 8, t, 0],
                                        [t, t, t, 4, 0], [0, 0, 0, 0, 3]], atol=1e-12)
    np.testing.assert_allclose(matrix.sum(axis=1), [9, 13, 10, 5, 3])
    assert matrix.sum() == pytest.approx(40)  # unit 12 has one value: unpairable


@pytest.mark.parametrize("level, short, long", [
    ("nominal", "0.743", 0.7434211), ("ordinal", "0.815", 0.8153875),
    ("interval", "0.849", 0.8491071), ("ratio", "0.797", 0.7974028),
])
def test_krippendorff_example_c_reproduces_all_four_levels(level, short, long):
    alpha = alpha_from_reliability_data(EXAMPLE_C, level)
    assert printed(alpha, short)
    assert alpha == pytest.approx(long, abs=1e-6)


# --- AlpacaEval leave-one-out agreement ---

def alpaca_long(prefs):
    prefs = np.asarray(prefs, dtype=float)
    item = np.repeat(np.arange(prefs.shape[0]), prefs.shape[1])
    return item, prefs.ravel()


ALPACA = [[1, 1, 1, 1], [2, 2, 2, 1]]


def test_alpacaeval_one_vs_one_agreement_and_its_sem():
    score, sem = one_vs_one_agreement(*alpaca_long(ALPACA))
    assert score == pytest.approx(0.75)
    assert sem == pytest.approx(0.07537783614444091, abs=1e-12)


def test_percent_agreement_equals_alpacaeval_one_vs_one_on_its_vector():
    item, value = alpaca_long(ALPACA)
    direction = np.where(value == 1, -1, 1)  # AlpacaEval: 1 = output_1 preferred
    assert percent_agreement(item, direction).with_ties == pytest.approx(0.75)


def test_alpacaeval_human_agreement_is_each_answer_against_the_mode_of_the_other_three():
    result = leave_one_out_agreement(*alpaca_long(ALPACA))
    assert result.score == pytest.approx(0.875)
    assert result.sem_positions == pytest.approx(0.125)


@pytest.mark.parametrize("second_item, expected", [([2, 2, 2, 1.5], 0.9375), ([1.9, 1.8, 1.7, 1.6], 0.925)])
def test_alpacaeval_absolute_rule_scores_against_the_median_of_the_others(second_item, expected):
    item, value = alpaca_long([[1, 1, 1, 1], second_item])
    assert leave_one_out_agreement(item, value, rule="median", span=1.0).score == pytest.approx(expected)
