import json

import numpy as np
import pytest

from annotation.quality import Answers, CurationRules, agreement_report, curate
from annotation.quality.curation import RULES


def hand_answers():
    #            item 1 (agree)   item 2 (split)    item 3 (ties)   item 4 (weak)  item 5 (one answer)
    return Answers(
        item=[1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5],
        annotator=[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0],
        value=[-3, -3, -2, -2, 0, 1, 0, 0, 1, 1, 1, -1, 3],
        flagged=[False] * 12 + [True],
        both_bad=[False, False, True] + [False] * 10,
        is_gold=[False] * 13, gold_value=[np.nan] * 13,
        answer_id=np.arange(100, 113),
    )


def test_no_rules_keep_everything_and_give_the_majority_consensus():
    result = curate(hand_answers(), {})
    assert result.answer_mask.all()
    assert result.items.tolist() == [1, 2, 3, 4, 5]
    assert result.consensus.tolist() == [-1, 0, 0, 1, 1]  # item 2: three-way split
    assert all(not step["active"] and step["removed_answers"] == 0 for step in result.preview)
    assert [step["rule"] for step in result.preview] == list(RULES)


def test_each_rule_removes_what_it_names_in_order():
    rules = {"exclude_flagged": True, "exclude_both_bad": True, "min_answers_per_item": 3,
             "min_item_agreement": 0.3, "ties": "drop", "min_abs_strength": 1.0}
    result = curate(hand_answers(), rules)
    removed = {step["rule"]: (step["removed_answers"], step["removed_items"]) for step in result.preview}
    assert removed["exclude_flagged"] == (1, 1)  # item 5's only answer, so item 5 goes too
    assert removed["exclude_both_bad"] == (1, 0)
    assert removed["min_answers_per_item"] == (2, 1)  # item 1 now has two answers
    assert removed["min_item_agreement"] == (3, 1)  # item 2: no agreeing pair; items 3, 4 have 1 of 3
    assert removed["ties"] == (3, 1)  # item 3: consensus tie
    assert removed["min_abs_strength"] == (3, 1)  # item 4: mean 1/3 toward "second"
    assert result.items.tolist() == [] and not result.answer_mask.any()


def test_min_abs_strength_measures_the_mean_value_toward_the_consensus():
    result = curate(hand_answers(), {"exclude_both_bad": True, "min_abs_strength": 1.0})
    strengths = dict(zip(result.items.tolist(), result.strength.tolist(), strict=True))
    assert strengths[1] == pytest.approx(3.0)  # -3, -3 toward "first"
    assert 4 not in strengths and 3 in strengths  # weak item goes; a tie is the ties rule's business


def test_annotator_rules_use_the_given_stats_and_leave_unknown_annotators_alone():
    stats = {0: {"ds_reliability": 0.9, "gold_accuracy": 0.2}, 1: {"ds_reliability": 0.4, "gold_accuracy": None}}
    result = curate(hand_answers(), {"min_annotator_reliability": 0.5, "min_gold_accuracy": 0.5},
                    annotator_stats=stats)
    removed = {step["rule"]: step["removed_answers"] for step in result.preview}
    assert removed["min_annotator_reliability"] == 4  # annotator 1
    assert removed["min_gold_accuracy"] == 5  # annotator 0; annotator 2 has no figures
    assert set(hand_answers().annotator[result.answer_mask].tolist()) == {2}


def test_annotator_stats_can_be_the_reports_annotator_list():
    answers = hand_answers()
    report = agreement_report(answers, n_boot=0, include_items=False)
    threshold = sorted(a["ds_reliability"] for a in report["annotators"])[1]
    result = curate(answers, {"min_annotator_reliability": threshold}, annotator_stats=report["annotators"])
    computed = curate(answers, {"min_annotator_reliability": threshold})
    assert (result.answer_mask == computed.answer_mask).all()
    assert next(s for s in result.preview if s["rule"] == "min_annotator_reliability")["removed_answers"] > 0


def test_dawid_skene_consensus_is_available():
    result = curate(hand_answers(), {"consensus": "dawid_skene"})
    assert set(result.consensus.tolist()) <= {-1, 0, 1}
    assert ((0 <= result.confidence) & (result.confidence <= 1)).all()


@pytest.mark.parametrize("seed", range(5))
def test_the_preview_counts_add_up_to_the_final_result(seed):
    rng = np.random.default_rng(seed)
    n_items, per_item = 200, 4
    n = n_items * per_item
    answers = Answers(
        item=np.repeat(np.arange(n_items), per_item), annotator=rng.integers(0, 10, n),
        value=rng.integers(-3, 4, n).astype(float), flagged=rng.random(n) < 0.05, both_bad=rng.random(n) < 0.05,
        is_gold=rng.random(n) < 0.2, gold_value=rng.integers(-1, 2, n).astype(float))
    rules = CurationRules(exclude_flagged=True, exclude_both_bad=True, min_annotator_reliability=0.3,
                          min_gold_accuracy=0.3, min_answers_per_item=2, min_item_agreement=0.3, ties="drop",
                          min_abs_strength=1.0, consensus=["majority", "dawid_skene"][seed % 2])
    result = curate(answers, rules)
    answers_left, items_left = result.initial["answers"], result.initial["items"]
    for step in result.preview:
        answers_left -= step["removed_answers"]
        items_left -= step["removed_items"]
        assert (step["remaining_answers"], step["remaining_items"]) == (answers_left, items_left)
    assert answers_left == result.answer_mask.sum() == result.answer_ids.size
    assert items_left == result.items.size == np.unique(answers.item[result.answer_mask]).size
    assert (result.consensus != 0).all() and (result.strength >= 1.0).all()
    assert np.bincount(answers.item[result.answer_mask]).max(initial=0) <= per_item
    json.dumps(result.to_dict(), allow_nan=False)


def test_rules_are_validated_naming_the_field():
    with pytest.raises(ValueError, match="min_agreement"):
        curate(hand_answers(), {"min_agreement": 0.5})
    with pytest.raises(ValueError, match="ties"):
        CurationRules(ties="maybe")
    with pytest.raises(ValueError, match="min_answers_per_item"):
        CurationRules(min_answers_per_item="3")
    with pytest.raises(ValueError, match="consensus"):
        CurationRules(consensus="vote")
    with pytest.raises(ValueError, match="column"):
        curate(Answers(item=[1], annotator=[0], value=[1]), {"exclude_flagged": True})
