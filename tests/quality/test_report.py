import json

import numpy as np
import pytest

from annotation.quality import (
    Answers,
    agreement_report,
    fleiss_kappa,
    krippendorff_alphas,
    leave_one_out_agreement,
    percent_agreement,
)
from annotation.quality.agreement import direction_table
from annotation.quality.answers import group_by
from annotation.quality.bootstrap import item_patterns
from annotation.quality.report import ItemTables, headline_statistics


def simulated(seed=0, n_items=400, pool=8, per_item=3, drop=0.1):
    rng = np.random.default_rng(seed)
    truth = rng.choice([-1, 0, 1], size=n_items, p=[0.45, 0.1, 0.45])
    item = np.repeat(np.arange(n_items), per_item) * 7 + 3  # item ids need not be dense
    annotator = np.concatenate([rng.choice(pool, per_item, replace=False) for _ in range(n_items)])
    right = rng.random(item.size) < rng.uniform(0.5, 0.95, pool)[annotator]
    direction = np.where(right, truth[(item - 3) // 7], rng.choice([-1, 0, 1], size=item.size))
    keep = rng.random(item.size) > drop
    n = int(keep.sum())
    return Answers(
        item=item[keep], annotator=annotator[keep],
        value=(direction * rng.integers(1, 4, item.size))[keep].astype(float),
        shown_first_is_stored_first=rng.random(n) < 0.5,
        len_first=rng.integers(100, 3000, n), len_second=rng.integers(100, 3000, n),
        seconds=rng.exponential(60, n), is_gold=(item[keep] % 10 == 3),
        gold_value=np.where(item[keep] % 10 == 3, truth[(item[keep] - 3) // 7], np.nan),
    )


def test_the_report_is_plain_json_with_the_documented_shape():
    report = agreement_report(simulated(), n_boot=200)
    json.dumps(report, allow_nan=False)
    assert set(report) >= {"n_items", "n_annotations", "percent_agreement", "leave_one_out_agreement",
                           "cohen_kappa", "fleiss_kappa", "krippendorff_alpha", "confidence_intervals",
                           "annotators", "label_distribution", "items"}
    assert set(report["percent_agreement"]) == {"with_ties", "without_ties"}
    assert set(report["krippendorff_alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    assert set(report["confidence_intervals"]) == {
        "percent_agreement_with_ties", "percent_agreement_without_ties", "leave_one_out_agreement",
        "fleiss_kappa", "krippendorff_alpha_nominal", "krippendorff_alpha_ordinal", "krippendorff_alpha_interval"}
    entry = report["cohen_kappa"][0]
    assert set(entry) == {"annotators", "kappa", "linear", "quadratic", "n_items"}
    assert set(report["items"][0]) == {"item", "n_answers", "agreement", "loo_agreement", "majority",
                                       "ds_label", "ds_posterior"}


def test_report_figures_equal_the_standalone_functions():
    answers = simulated(seed=1)
    report = agreement_report(answers, n_boot=0)
    pa = percent_agreement(answers.item, answers.value)
    assert report["percent_agreement"] == pytest.approx({"with_ties": pa.with_ties, "without_ties": pa.without_ties})
    assert report["leave_one_out_agreement"] == pytest.approx(
        leave_one_out_agreement(answers.item, answers.direction).score)
    items = group_by(answers.item)
    assert report["fleiss_kappa"] == pytest.approx(
        float(fleiss_kappa(direction_table(items.codes, items.n, answers.direction))))
    by_direction = krippendorff_alphas(answers.item, answers.direction.astype(float))
    by_value = krippendorff_alphas(answers.item, answers.value)
    alpha = report["krippendorff_alpha"]
    assert alpha["nominal"] == pytest.approx(by_direction["nominal"], abs=1e-12)
    assert alpha["ordinal"] == pytest.approx(by_value["ordinal"], abs=1e-12)
    assert alpha["interval"] == pytest.approx(by_value["interval"], abs=1e-12)


def test_ratio_alpha_is_undefined_on_a_signed_preference_scale():
    assert agreement_report(simulated(), n_boot=0)["krippendorff_alpha"]["ratio"] is None


def test_pattern_weights_reproduce_the_figures_of_an_actual_item_resample():
    answers = simulated(seed=2, n_items=150)
    tables = ItemTables.build(answers)
    _, _, pattern_of_item = item_patterns(tables.values)
    statistics = headline_statistics(tables)
    rng = np.random.default_rng(0)
    for _ in range(3):
        drawn = rng.integers(0, tables.items.n, tables.items.n)
        weights = np.bincount(pattern_of_item[drawn], minlength=tables.patterns.shape[0])[None, :].astype(float)
        figures = {k: float(v[0]) for k, v in statistics(weights).items()}
        resampled = _resample(answers, tables.items, drawn)
        pa = percent_agreement(resampled.item, resampled.value)
        groups = group_by(resampled.item)
        assert figures["percent_agreement_with_ties"] == pytest.approx(pa.with_ties, abs=1e-12)
        assert figures["percent_agreement_without_ties"] == pytest.approx(pa.without_ties, abs=1e-12)
        assert figures["leave_one_out_agreement"] == pytest.approx(
            leave_one_out_agreement(resampled.item, resampled.direction).score, abs=1e-12)
        assert figures["fleiss_kappa"] == pytest.approx(
            float(fleiss_kappa(direction_table(groups.codes, groups.n, resampled.direction))), abs=1e-12)
        assert figures["krippendorff_alpha_interval"] == pytest.approx(
            krippendorff_alphas(resampled.item, resampled.value)["interval"], abs=1e-12)
        assert figures["krippendorff_alpha_nominal"] == pytest.approx(
            krippendorff_alphas(resampled.item, resampled.direction.astype(float))["nominal"], abs=1e-12)


def _resample(answers, items, drawn):
    """The answers of the drawn items, each draw a fresh item."""
    rows = [np.flatnonzero(items.codes == code) for code in drawn]
    index = np.concatenate(rows)
    new_item = np.repeat(np.arange(len(rows)), [r.size for r in rows])
    return Answers(item=new_item, annotator=answers.annotator[index], value=answers.value[index])


def test_bootstrap_intervals_are_seeded_and_bracket_the_estimate():
    answers = simulated(seed=3)
    first = agreement_report(answers, n_boot=300, seed=11, include_items=False)
    again = agreement_report(answers, n_boot=300, seed=11, include_items=False)
    other = agreement_report(answers, n_boot=300, seed=12, include_items=False)
    assert first["confidence_intervals"] == again["confidence_intervals"]
    assert first["confidence_intervals"] != other["confidence_intervals"]
    low, high = first["confidence_intervals"]["percent_agreement_with_ties"]
    assert low < first["percent_agreement"]["with_ties"] < high
    low, high = first["confidence_intervals"]["krippendorff_alpha_interval"]
    assert low < first["krippendorff_alpha"]["interval"] < high


def test_bootstrap_interval_width_matches_a_naive_item_bootstrap():
    answers = simulated(seed=4, n_items=300)
    report = agreement_report(answers, n_boot=1000, seed=0, include_items=False)
    items = group_by(answers.item)
    rng = np.random.default_rng(1)
    naive = []
    for _ in range(300):
        resampled = _resample(answers, items, rng.integers(0, items.n, items.n))
        naive.append(percent_agreement(resampled.item, resampled.value).with_ties)
    low, high = report["confidence_intervals"]["percent_agreement_with_ties"]
    naive_low, naive_high = np.percentile(naive, [2.5, 97.5])
    assert high - low == pytest.approx(naive_high - naive_low, rel=0.25)


@pytest.mark.parametrize("answers", [
    Answers(item=[], annotator=[], value=[]),
    Answers(item=[1, 2, 3], annotator=[5, 5, 5], value=[1, -1, 0]),  # one annotator, one answer per item
    Answers(item=[1, 1, 2, 2], annotator=[5, 6, 5, 6], value=[2, 2, 2, 2]),  # everyone gives the same value
    Answers(item=[1, 1], annotator=[5, 5], value=[-1, 1]),  # an annotator answering an item twice
])
def test_degenerate_inputs_give_nulls_not_exceptions(answers):
    report = agreement_report(answers, n_boot=50)
    json.dumps(report, allow_nan=False)
    assert report["n_annotations"] == len(answers)


def test_undefined_figures_are_null_and_defined_ones_are_numbers():
    report = agreement_report(Answers(item=[1, 1, 2, 2], annotator=[5, 6, 5, 6], value=[2, 2, 2, 2]), n_boot=50)
    assert report["percent_agreement"]["with_ties"] == 1.0
    assert report["fleiss_kappa"] is None  # no variation: chance agreement is 1
    assert report["krippendorff_alpha"]["nominal"] is None
    assert report["cohen_kappa"][0]["kappa"] is None


def test_the_report_names_annotators_when_given_names():
    answers = Answers(item=[1, 1, 2, 2], annotator=[0, 1, 0, 1], value=[1, 2, -1, -2])
    report = agreement_report(answers, n_boot=0, annotator_names=["ann", "bob"])
    assert report["cohen_kappa"][0]["annotators"] == ["ann", "bob"]
    assert [a["annotator"] for a in report["annotators"]] == ["ann", "bob"]
    report = agreement_report(answers, n_boot=0, annotator_names={1: "bob"})
    assert [a["annotator"] for a in report["annotators"]] == [0, "bob"]


def test_a_criterion_selects_its_rows_and_none_selects_the_main_answer():
    answers = Answers(item=[1, 1, 1, 1], annotator=[0, 1, 0, 1], value=[1, 1, -1, 2],
                      criterion=["", "", "helpfulness", "helpfulness"])
    assert agreement_report(answers, n_boot=0)["percent_agreement"]["with_ties"] == 1.0
    report = agreement_report(answers, criterion="helpfulness", n_boot=0)
    assert report["criterion"] == "helpfulness" and report["percent_agreement"]["with_ties"] == 0.0
    with pytest.raises(ValueError, match="criterion"):
        agreement_report(Answers(item=[1], annotator=[0], value=[1]), criterion="helpfulness")


def test_items_list_the_contested_ones_with_their_agreement_and_consensus():
    answers = Answers(item=[7, 7, 7, 9, 9, 9], annotator=[0, 1, 2, 0, 1, 2], value=[-2, -1, 3, 1, 2, 3])
    items = {entry["item"]: entry for entry in agreement_report(answers, n_boot=0)["items"]}
    assert items[7]["agreement"] == pytest.approx(1 / 3) and items[7]["majority"] == -1
    assert items[9]["agreement"] == 1.0 and items[9]["majority"] == 1 and items[9]["ds_label"] == 1


def test_answers_reject_columns_of_the_wrong_length_naming_the_column():
    with pytest.raises(ValueError, match="seconds"):
        Answers(item=[1, 2], annotator=[0, 0], value=[1, 1], seconds=[1.0])
    with pytest.raises(ValueError, match="item"):
        Answers(item=[1.5], annotator=[0], value=[1])


def test_answers_can_be_built_from_records_with_missing_optional_fields():
    answers = Answers.from_records([
        {"item": 1, "annotator": 0, "value": -2, "seconds": 12.5, "flagged": True},
        {"item": 1, "annotator": 1, "value": 0},
    ])
    assert answers.direction.tolist() == [-1, 0]
    assert np.isnan(answers.seconds[1]) and answers.flagged.tolist() == [True, False]
    assert answers.answer_id.tolist() == [0, 1]
    assert answers.subset(np.array([False, True])).annotator.tolist() == [1]
    with pytest.raises(ValueError, match="colour"):
        Answers.from_records([{"item": 1, "annotator": 0, "value": 1, "colour": "red"}])
