"""The loader behind agreement, curation and snapshots reduces JSON and times in SQL; its columns must equal
what the stored answers say, on PostgreSQL and on SQLite alike."""

import math
import random

import numpy as np

from annotation.loading import ROW_FIELDS, AnswerRow, AnswerSpool, answers_load, answers_scan
from annotation.models import Annotation, Item, Response
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next
from annotation.services.projects import item_set_gold

from . import factories


def answer_everything(project, users, payload_for):
    rng = random.Random(3)
    for user in users:
        while (lease := assignment_next(project=project, user=user)) is not None:
            annotation_submit(assignment_id=lease.pk, user=user, payload=payload_for(rng, lease))


def assert_scan_loads_the_same(project, loaded, tmp=None):
    """The snapshot build's one read (`answers_scan`) hands curation what `answers_load` does, to the bit, and spools
    every answer's row in item order."""
    import dataclasses
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder, AnswerSpool(Path(folder), prefix="spool-") as spool:
        scanned = answers_scan(project, spool)
        rows = [row for group in spool.take(10**12, lambda v: AnswerRow._make(v[:len(ROW_FIELDS)])).values()
                for row in group]
        assert spool.take(10**12) == {}  # all handed out
    assert scanned.names == loaded.names and np.array_equal(scanned.created, loaded.created, equal_nan=True)
    for got, want in ((scanned.answers, loaded.answers), (scanned.rankings, loaded.rankings)):
        assert (got is None) == (want is None)
        for f in dataclasses.fields(want) if want is not None else ():
            a, b = getattr(got, f.name), getattr(want, f.name)
            assert (a is None) == (b is None), f.name
            if a is not None:
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f.name
    stored = list(Annotation.objects.filter(project=project).order_by("item_id", "id").values_list("id", "item_id",
                                                                                                   "rationale"))
    assert [(r.id, r.item_id, r.rationale) for r in rows] == stored


def test_pairwise_columns_match_the_stored_answers(db):
    users = [factories.user() for _ in range(3)]
    project = factories.project("pairwise", criteria=["helpfulness"], annotations_per_item=3, gold_ratio=1.0,
                                members={u: "annotator" for u in users})
    factories.items(project, 6)
    gold_item = Item.objects.filter(project=project).order_by("id").first()
    item_set_gold(item=gold_item, is_gold=True, expected={"chosen": gold_item.response_ids[1], "strength": 3})

    def payload(rng, lease):
        out = {"chosen": rng.choice(lease.response_ids), "strength": rng.choice([1, 2, 3])}
        if rng.random() < 0.5:
            out["time_spent_ms"] = rng.randrange(1000, 90000)  # else: the lease's age counts
        if rng.random() < 0.3:
            out["flags"] = ["unsafe"]
        if rng.random() < 0.3:
            out["both_bad"] = True
        if rng.random() < 0.6:
            out["criteria"] = {"helpfulness": {"tie": True} if rng.random() < 0.5 else {"chosen": lease.response_ids[0],
                                                                                       "strength": 1}}
        return out

    answer_everything(project, users, payload)
    loaded = answers_load(project)
    assert_scan_loads_the_same(project, loaded)
    answers = loaded.answers
    lengths = {r.id: len(r.text) for r in Response.objects.filter(prompt__project=project)}
    expected = []
    for a in Annotation.objects.filter(project=project).select_related("item", "assignment", "annotator").order_by("id"):
        first, second = a.item.response_ids
        seconds = (a.time_spent_ms / 1000 if a.time_spent_ms is not None
                   else (a.created_at - a.assignment.created_at).total_seconds())
        for criterion, value in [(None, a.preference), *a.criteria.items()]:
            expected.append((a.id, a.item_id, a.annotator.username, value, a.shown_order[0] == first, lengths[first],
                             lengths[second], seconds, a.item.is_gold, a.item.gold_answer if a.item.is_gold else None,
                             bool(a.flags), a.both_bad, criterion, a.created_at.timestamp()))
    assert len(expected) == answers.item.size > 6 * 3  # every main answer and every criterion sub-answer
    stored = Annotation.objects.filter(project=project)
    # every shape the loader reduces in SQL is present
    assert stored.filter(time_spent_ms__isnull=True).exists() and stored.filter(time_spent_ms__isnull=False).exists()
    assert stored.exclude(flags=[]).exists() and stored.filter(both_bad=True).exists() and stored.exclude(criteria={}).exists()
    assert stored.filter(item__is_gold=True).exists()
    for k, row in enumerate(expected):
        gold = answers.gold_value[k]
        got = (int(answers.answer_id[k]), int(answers.item[k]), loaded.names[answers.annotator[k]], answers.value[k],
               bool(answers.shown_first_is_stored_first[k]), answers.len_first[k], answers.len_second[k],
               answers.seconds[k], bool(answers.is_gold[k]), None if math.isnan(gold) else gold,
               bool(answers.flagged[k]), bool(answers.both_bad[k]), answers.criterion[k], loaded.created[k])
        assert got[:7] == row[:7] and got[8:13] == row[8:13], (k, got, row)
        assert math.isclose(got[7], row[7], abs_tol=1e-3) and math.isclose(got[13], row[13], abs_tol=1e-3), (got, row)


def test_rankings_load_best_first_in_answer_order(db):
    users = [factories.user() for _ in range(2)]
    project = factories.project("ranking", annotations_per_item=2, members={u: "annotator" for u in users})
    factories.items(project, 4)

    def payload(rng, lease):
        return {"ranking": rng.sample(lease.response_ids, len(lease.response_ids))}

    answer_everything(project, users, payload)
    loaded = answers_load(project)
    assert_scan_loads_the_same(project, loaded)
    stored = list(Annotation.objects.filter(project=project).order_by("id").values_list("item_id", "annotator__username",
                                                                                          "ranking"))
    assert len(stored) == 8
    assert loaded.rankings.item.tolist() == [item for item, _, _ in stored]
    assert [loaded.names[c] for c in loaded.rankings.annotator] == [name for _, name, _ in stored]
    assert np.array_equal(loaded.rankings.order, np.array([ranking for _, _, ranking in stored]))


def test_agreement_over_time_dates_each_item_by_its_own_answers_when_criteria_add_rows(db):
    from datetime import timedelta

    from django.utils import timezone

    from annotation.services.quality import agreement_compute

    users = [factories.user() for _ in range(2)]
    project = factories.project("pairwise", criteria=["helpfulness"], annotations_per_item=2,
                                members={u: "annotator" for u in users})
    factories.items(project, 2)

    def payload(rng, lease):  # every answer also rates the criterion: two rows per answer in the loaded arrays
        return {"chosen": lease.response_ids[0], "strength": 1, "criteria": {"helpfulness": {"tie": True}}}

    answer_everything(project, users, payload)
    first, second = Item.objects.filter(project=project).order_by("id")
    today = timezone.now().replace(hour=12)
    Annotation.objects.filter(item=first).update(created_at=today - timedelta(days=3))
    Annotation.objects.filter(item=second).update(created_at=today)
    data, _ = agreement_compute(project, {})
    assert [(day["date"], day["n_answers"]) for day in data["over_time"]] == [
        ((today - timedelta(days=3)).date().isoformat(), 2), (today.date().isoformat(), 2)]


def test_key_positions_finds_what_a_binary_search_finds_for_dense_and_sparse_keys():
    from annotation.columns import key_positions

    rng = np.random.default_rng(5)
    for keys in (np.arange(100, 1100), np.unique(rng.integers(0, 10**9, 1000)), np.array([7]), np.zeros(0, np.int64),
                 np.setdiff1d(np.arange(50, 5000), rng.integers(50, 5000, 300))):
        queries = np.concatenate([keys, rng.integers(-10, 10**4, 2000), [-2, 10**12]]).astype(np.int64)
        at, found = key_positions(keys, queries)
        want = np.isin(queries, keys)
        assert np.array_equal(found, want)
        assert np.array_equal(keys[at[found]], queries[found]) if keys.size else not found.any()
