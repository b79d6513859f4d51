"""The grouping helpers' fast paths give exactly what numpy's own functions give."""

import numpy as np
import pytest

from annotation.quality import Answers, agreement_report
from annotation.quality.answers import group_by, group_median, row_max, row_sum
from annotation.quality.report import ITEM_FIELDS, item_rows


@pytest.mark.parametrize("keys", [
    np.array([7, 3, 3, 9, 7, 7]),  # small dense ints
    np.arange(5_000_000, 5_000_600)[::-1].repeat(2),  # ids far from zero
    np.array([-2, 5, -2, 0], dtype=np.int32),  # negative, narrower dtype
    np.array([1.0, -1.0, 0.0, 1.0, 3.0]),  # whole floats (directions, values)
    np.array([0.5, 0.25, 0.5]),  # fractions: numpy's path
    np.array([1, 10**12, 1]),  # sparse ids: numpy's path
    np.array([1.0, np.nan]),
])
def test_group_by_equals_numpy_unique(keys):
    uniques, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    groups = group_by(keys)
    assert groups.keys.dtype == uniques.dtype
    np.testing.assert_array_equal(groups.keys, uniques)
    np.testing.assert_array_equal(groups.codes, inverse.reshape(-1))
    np.testing.assert_array_equal(groups.sizes, counts)


def test_group_median_equals_the_median_of_each_groups_finite_values():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 40, 10_000)
    values = rng.lognormal(3, 1, 10_000)
    values[::13] = np.nan
    got = group_median(codes, 42, values)
    for group in range(42):
        mine = values[(codes == group) & np.isfinite(values)]
        assert (np.isnan(got[group]) and mine.size == 0) or got[group] == np.median(mine)


def test_row_sum_and_row_max_are_numpys_bit_for_bit():
    table = np.random.default_rng(4).standard_normal((100_000, 3)) * 1e3
    np.testing.assert_array_equal(row_sum(table), table.sum(axis=1))
    np.testing.assert_array_equal(row_max(table), table.max(axis=1))


def test_item_columns_are_the_item_rows_as_arrays():
    rng = np.random.default_rng(5)
    answers = Answers(item=rng.integers(0, 300, 2_000), annotator=rng.integers(0, 12, 2_000),
                      value=rng.integers(-3, 4, 2_000).astype(float))
    rows = agreement_report(answers, n_boot=20)["items"]
    columns = agreement_report(answers, n_boot=20, include_items="columns")["items"]
    assert set(columns) == set(ITEM_FIELDS)
    assert item_rows(columns) == rows
    assert item_rows(columns, np.array([4, 0])) == [rows[4], rows[0]]


def test_distinct_is_np_unique_by_sorting():
    from annotation.quality.answers import distinct

    rng = np.random.default_rng(3)
    for ids in (np.zeros(0, np.int64), np.array([5]), rng.integers(-50, 50, 1000), rng.permutation(10_000) * 7):
        got = distinct(ids)
        assert np.array_equal(got, np.unique(ids)) and got.dtype == ids.dtype
