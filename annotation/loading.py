"""Loading a project's answers as the column arrays annotation.quality reads.

Below the services and the selectors (both read through it: agreement and curation, the progress page's speed and
gold figures, the snapshot build): it imports models, the pure `quality` and `answers` packages and `columns`, and
nothing of `services`. Numbers are reduced in SQL and read straight into numpy (`columns`); the answer's own fields
come from their one declaration, `answers.CanonicalAnswer` (ANSWER_FIELDS).
"""

import marshal
import shutil
import tempfile
from bisect import bisect_right
from collections import namedtuple
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

import numpy as np
import orjson
from django.contrib.auth import get_user_model
from django.db.models import (
    BigIntegerField,
    BooleanField,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Length

from . import quality
from .answers import ANSWER_FIELDS, gold_score
from .columns import Ranged, columns_from_query, dense_range, in_key_order, key_positions, raw_batches, raw_rows
from .models import Annotation, Assignment, Item, Project, Response
from .sql import from_db_json


def _own(name: str) -> str:
    """One of the answer's own fields, by its name in the one declaration (`answers.CanonicalAnswer`): a field
    renamed or dropped there fails here, at import, not as a wrong column in a report."""
    if name not in ANSWER_FIELDS:
        raise LookupError(f"{name!r} is not a field of answers.CanonicalAnswer")
    return name


# The answer's own fields the numeric columns are computed from.
PREFERENCE, BOTH_BAD, RANKING, CRITERIA, FLAGS, TIME_SPENT_MS = map(_own, (
    "preference", "both_bad", "ranking", "criteria", "flags", "time_spent_ms"))

# An answer's full row, as the snapshot's raw rows carry it: who answered which item when (UTC text, `UtcText`),
# what was shown, and the answer's own fields (all of `answers.ANSWER_FIELDS`, in their order). JSON columns stay as
# the database returned them.
ROW_FIELDS = ("id", "item_id", "annotator_id", "created_at", "shown_order", *ANSWER_FIELDS)
AnswerRow = namedtuple("AnswerRow", ROW_FIELDS)


@dataclass
class Loaded:
    answers: "quality.Answers | None"
    rankings: "quality.Rankings | None"
    names: list[str]
    created: np.ndarray  # answer time, epoch seconds, aligned with `answers` (criterion rows included)
    # Pairwise: the project's item ids (in order) and each one's stored agreement (NaN: none), read with the items'
    # response ids, so that storing the new agreement needs no second scan of the items.
    stored_agreement: "tuple[np.ndarray, np.ndarray] | None" = None


class _Epoch(Func):
    """Seconds since 1970 as a float, computed by the database: decoding a million timestamps in Python cost
    more than every statistic of the report."""

    output_field = FloatField()

    def as_postgresql(self, compiler, connection, **extra):
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT goes through numeric, which cost 3x the scan of the
        # answers. Both round the exact microseconds once, so they give the same float (checked on 4M times).
        return self.as_sql(compiler, connection, template="date_part('epoch', %(expressions)s)", **extra)

    def as_sqlite(self, compiler, connection, **extra):  # Django keeps UTC text; julianday reads it
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


class UtcText(Func):
    """A time as UTC text, 'YYYY-MM-DD HH:MM:SS[.ffffff]' (PostgreSQL leaves out the fraction's trailing zeros;
    `snapshots.lines.iso_utc` makes it what `datetime.isoformat` writes): reading a million timestamps through
    psycopg's loader cost 7 us each, and formatting them with to_char 2 us of the database's time."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s AT TIME ZONE 'UTC')::text", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps UTC as 'YYYY-MM-DD HH:MM:SS[.ffffff]'; an expression, not the bare column, so that the driver
        # does not turn the column's declared type into a datetime.
        return self.as_sql(compiler, connection, template="(%(expressions)s || '')", **extra)


def _json_id(field: str, index: int, missing: int) -> Coalesce:
    return Coalesce(Cast(KeyTextTransform(str(index), field), BigIntegerField()), Value(missing),
                    output_field=BigIntegerField())


def _answers(project: Project, filters: dict) -> QuerySet:
    qs = Annotation.objects.filter(project=project)
    if filters.get("since"):
        qs = qs.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__lt=filters["until"])
    if filters.get("annotators"):
        qs = qs.filter(annotator__username__in=filters["annotators"])
    return qs.order_by()


_MARKS = ("flagged", "both_bad", "rated")  # an answer's yes/no columns, one bit each of one number


def _bits(*flags) -> Cast:
    """Yes/no expressions as one integer, bit k for the k-th: each array PostgreSQL aggregates for the loader costs
    about as much as the scan, so three booleans travel as one."""
    terms = [Cast(flag, IntegerField()) * (1 << bit) for bit, flag in enumerate(flags)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return Cast(total, BigIntegerField())


class _EpochColumn(_Epoch):
    """A time read as a loader column (`columns_from_query`, float64): on PostgreSQL the timestamp itself, which
    `columns` turns into epoch seconds as date_part('epoch') does (the same division of the same integer), so the
    database spends nothing on it; elsewhere `_Epoch`."""

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


# An answer's annotator, preference and yes/no marks travel as one number: annotator id << 6 | (preference + 4, 0
# when none: 3 bits, the preference being -3..3 by constraint) << 3 | marks. Each array PostgreSQL aggregates for
# the loader costs about as much as the scan of the answers.
_PACKED_SHIFT, _VALUE_SHIFT = 6, 3


def _packed() -> Cast:
    marks = _bits(ExpressionWrapper(~Q(**{FLAGS: []}), output_field=BooleanField()), F(BOTH_BAD),
                  ExpressionWrapper(~Q(**{CRITERIA: {}}), output_field=BooleanField()))
    value = Coalesce(F(PREFERENCE) + 4, Value(0), output_field=BigIntegerField())
    return Cast(Cast("annotator_id", BigIntegerField()) * (1 << _PACKED_SHIFT) + value * (1 << _VALUE_SHIFT)
                + marks, BigIntegerField())


_PAIRWISE = ("answer_id", "item", "annotator", "value", "shown_0", "seconds", "created", "marks")


def _pairwise_columns(project: Project, filters: dict) -> dict[str, np.ndarray]:
    """One row per answer, every column a number reduced in SQL, read straight into numpy (`columns`): the ids, the
    packed number (`_packed`), the first shown response, the milliseconds spent (-1: none; those answers' lease
    ages are read after, `_lease_ages_of`) and the time as epoch seconds."""
    qs = _answers(project, filters).annotate(
        packed=_packed(), shown_0=_json_id("shown_order", 0, -1),
        ms=Coalesce(Cast(TIME_SPENT_MS, BigIntegerField()), Value(-1), output_field=BigIntegerField()),
        created=_EpochColumn("created_at"),
    ).values_list("id", "item_id", "packed", "shown_0", "ms", "created")
    answer_id, item, packed, shown_0, ms, created = columns_from_query(qs, [np.int64] * 5 + [np.float64])
    code = packed >> _VALUE_SHIFT & 7
    with np.errstate(invalid="ignore"):
        value = np.where(code == 0, np.nan, (code - 4).astype(np.float64))
        # As SQL's float8(time_spent_ms) / 1000.0: the same division of the same doubles.
        seconds = np.where(ms < 0, np.nan, ms / 1000.0)
    cols = _by_id({"answer_id": answer_id, "item": item, "annotator": packed >> _PACKED_SHIFT, "value": value,
                   "shown_0": shown_0, "seconds": seconds, "created": created, "marks": packed & 7})
    if (ms < 0).any():
        _lease_ages_of(_answers(project, filters), cols["answer_id"], cols["seconds"])
    return cols


def _lease_ages_of(answers: QuerySet, answer_ids: np.ndarray, seconds: np.ndarray) -> None:
    """In place, for the answers that say no time spent: the age of the lease at the answer (NaN without one),
    computed in SQL from the two epoch times. A subquery per such answer, not a join that would touch all."""
    leased = Subquery(Assignment.objects.filter(pk=OuterRef("assignment_id")).values(at=_Epoch("created_at"))[:1])
    ids, ages = columns_from_query(answers.filter(**{f"{TIME_SPENT_MS}__isnull": True}).values_list(
        "id", Coalesce(_Epoch("created_at") - leased, Value(float("nan")), output_field=FloatField())),
        [np.int64, np.float64])
    seconds[np.searchsorted(answer_ids, ids)] = ages


def _by_id(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The marks as their columns, every column in answer id order."""
    marks = cols.pop("marks")
    for bit, name in enumerate(_MARKS):
        cols[name] = (marks >> bit & 1).astype(bool)
    names = [name for name in cols if name != "answer_id"]  # by id here, cheaper than an ORDER BY there
    return dict(zip(["answer_id", *names], in_key_order(cols["answer_id"], *(cols[n] for n in names)), strict=True))


@dataclass
class ItemColumns:
    """A pairwise project's items as the loader reads them, before they are matched with answers (`items_read`)."""

    ids: np.ndarray  # in order
    first: np.ndarray  # each item's stored first and second response ids (-2: none)
    second: np.ndarray
    stored: np.ndarray  # each one's stored agreement (NaN: none)
    is_gold: np.ndarray
    gold: np.ndarray
    response_ids: np.ndarray  # responses that include those the items show, in order, and their text lengths
    lengths: np.ndarray


def items_read(project: Project) -> ItemColumns:
    """The project's items, their gold answers and their responses' lengths: what `_item_columns` matches with the
    answers, read without them (a parallel snapshot build reads it while its workers read the answers)."""
    ids, first, second, stored = in_key_order(*columns_from_query(
        Item.objects.filter(project=project).order_by().values_list(
            "id", _json_id("response_ids", 0, -2), _json_id("response_ids", 1, -2),
            Coalesce("agreement", Value(float("nan")), output_field=FloatField())), [np.int64] * 3 + [np.float64]))
    is_gold, gold = _gold_of(project, ids)
    response_ids, lengths = in_key_order(*columns_from_query(_responses_of(project, first, second).annotate(
        n=Cast(Length("text"), BigIntegerField())).values_list("id", "n"), [np.int64, np.int64]))
    return ItemColumns(ids, first, second, stored, is_gold, gold, response_ids, lengths)


def _item_columns(project: Project, answer_items: np.ndarray,
                  read: ItemColumns | None = None) -> tuple[dict[str, np.ndarray], tuple]:
    """Per answer: its item's stored response ids and their text lengths, gold flag and gold answer; and the
    items' ids with their stored agreement (`Loaded.stored_agreement`). `read`: the items already read."""
    r = items_read(project) if read is None else read
    at = key_positions(r.ids, answer_items)[0]  # every answer's item is one of the project's
    first_at = r.first[at]
    return {"first": first_at, "len_first": _length_of(first_at, r.response_ids, r.lengths),
            "len_second": _length_of(r.second[at], r.response_ids, r.lengths), "gold": r.gold[at],
            "is_gold": r.is_gold[at]}, (r.ids, r.stored)


def _responses_of(project: Project, first: np.ndarray, second: np.ndarray) -> QuerySet:
    """Responses that include those the items show (`first`, `second`; negative: none). When their ids fall in a
    range not much wider than their count (a project's import writes its responses together), that range of ids,
    which needs no join with the prompts (it cost the database as much as reading the lengths); a response of
    another project in it is read and never looked up. Otherwise the project's responses, through their prompts."""
    shown = np.concatenate([first[first >= 0], second[second >= 0]])
    if shown.size and dense_range(int(shown.min()), int(shown.max()), shown.size):
        return Response.objects.filter(id__gte=int(shown.min()), id__lte=int(shown.max())).order_by()
    return Response.objects.filter(prompt__project=project).order_by()


def _gold_of(project: Project, item_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of the (sorted) item ids: whether it is gold, and its gold answer as a number (NaN: none)."""
    gold, is_gold = np.full(item_ids.size, np.nan), np.zeros(item_ids.size, bool)
    for item_id, answer in Item.objects.filter(project=project, is_gold=True).values_list("id", "gold_answer"):
        at = np.searchsorted(item_ids, item_id)
        if at < item_ids.size and item_ids[at] == item_id:
            is_gold[at] = True
            gold[at] = np.nan if answer is None or isinstance(answer, list) else float(answer)
    return is_gold, gold


def _length_of(ids: np.ndarray, response_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The lengths of the responses `ids` (0: not found), from `response_ids` in order and their lengths."""
    at, found = key_positions(response_ids, ids)
    return np.where(found, lengths[at] if response_ids.size else 0, 0).astype(np.float64)


def _criterion_rows(project: Project, filters: dict, answer_ids: np.ndarray) -> tuple[np.ndarray, list, list]:
    """The criterion sub-answers: for each, the row of its answer in `answer_ids`, its name and its value.
    Only answers that rated a criterion are read (as JSON text), in id order, criteria in stored order."""
    qs = _answers(project, filters).exclude(**{CRITERIA: {}}).order_by("id").values_list(
        "id", Cast(CRITERIA, TextField()))
    return _criterion_rows_of(qs.iterator(chunk_size=20_000), answer_ids)


def _criterion_rows_of(rated, answer_ids: np.ndarray) -> tuple[np.ndarray, list, list]:
    """`_criterion_rows` from (answer id, criteria as JSON text) pairs in id order."""
    rows, names, values = [], [], []
    for answer_id, text in rated:
        at = int(np.searchsorted(answer_ids, answer_id))
        for name, value in orjson.loads(text).items():
            rows.append(at)
            names.append(name)
            values.append(value)
    return np.array(rows, dtype=np.int64), names, values


def _codes(annotator_ids: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Annotator ids as codes 0.. in order of first answer, and the id of each code."""
    uniq, first, inverse = np.unique(annotator_ids, return_index=True, return_inverse=True)
    by_first = np.argsort(first)
    code = np.empty(uniq.size, np.int64)
    code[by_first] = np.arange(uniq.size)
    return code[inverse.reshape(-1)], uniq[by_first].tolist()


def _usernames(user_ids: list[int]) -> list[str]:
    by_id = dict(get_user_model().objects.filter(id__in=user_ids).values_list("id", "username"))
    return [by_id[i] for i in user_ids]


def _pairwise_loaded(project: Project, filters: dict, cols: dict[str, np.ndarray] | None = None,
                     rated: list[tuple[int, str]] | None = None, items: ItemColumns | None = None) -> Loaded:
    """The pairwise answers as `quality.Answers`. `cols` and `rated` (each rated answer's id and criteria as
    text, in id order): what a scan already read, instead of querying the answers for them."""
    cols = _pairwise_columns(project, filters) if cols is None else cols
    codes, annotator_ids = _codes(cols["annotator"])
    names = _usernames(annotator_ids)
    if not cols["item"].size:
        return Loaded(None, None, names, np.array([]))
    items, stored_agreement = _item_columns(project, cols["item"], items)
    columns = {"answer_id": cols["answer_id"], "item": cols["item"], "annotator": codes, "value": cols["value"],
               "shown_first_is_stored_first": cols["shown_0"] == items["first"], "len_first": items["len_first"],
               "len_second": items["len_second"], "seconds": cols["seconds"], "is_gold": items["is_gold"],
               "gold_value": items["gold"], "flagged": cols["flagged"], "both_bad": cols["both_bad"]}
    criterion = np.full(cols["item"].size, None, dtype=object)
    created = cols["created"]
    if not cols["rated"].any():
        sub_rows, sub_names, sub_values = np.zeros(0, np.int64), [], []
    elif rated is None:
        sub_rows, sub_names, sub_values = _criterion_rows(project, filters, cols["answer_id"])
    else:
        sub_rows, sub_names, sub_values = _criterion_rows_of(rated, cols["answer_id"])
    if sub_rows.size:  # each answer's criterion rows right after its own row (a stable sort keeps them in order)
        source = np.argsort(np.concatenate([np.arange(cols["item"].size), sub_rows]), kind="stable")
        main = np.minimum(source, cols["item"].size - 1)
        is_sub = source >= cols["item"].size
        main[is_sub] = sub_rows
        columns = {name: column[main] for name, column in columns.items()}
        columns["value"][is_sub] = np.array(sub_values, dtype=np.float64)
        criterion = criterion[main]
        criterion[is_sub] = np.array(sub_names, dtype=object)
        created = created[main]
    return Loaded(quality.Answers(**columns, criterion=criterion), None, names, created, stored_agreement)


def _ranking_rows(project: Project, filters: dict):
    """(id, item, annotator, ranking, criteria as text, flagged) per ranking, in id order."""
    qs = _answers(project, filters).annotate(
        criteria_text=Cast(CRITERIA, TextField()),
        flagged=ExpressionWrapper(~Q(**{FLAGS: []}), output_field=BooleanField()),
    ).order_by("id").values_list("id", "item_id", "annotator_id", RANKING, "criteria_text", "flagged")
    return raw_rows(qs)


def answers_load(project: Project, filters: dict | None = None) -> Loaded:
    """Every answer (and one row per criterion sub-answer) as arrays for annotation.quality."""
    filters = filters or {}
    if project.kind == Project.Kind.PAIRWISE:
        return _pairwise_loaded(project, filters)
    return _others_loaded(project, _ranking_rows(project, filters), filters.get("criterion"))


def _others_loaded(project: Project, rows, criterion: str | None) -> Loaded:
    """Rankings (and the names of a demonstration project's annotators) from `_ranking_rows`' rows, in id order."""
    ranking_rows: list[tuple[int, int, list, str | None, int, bool]] = []
    codes: dict[int, int] = {}  # annotator id -> code, in order of first answer
    for aid, item, annotator_id, ranking, criteria_text, flagged in rows:
        code = codes.setdefault(annotator_id, len(codes))
        if project.kind != Project.Kind.RANKING:
            continue
        criteria = orjson.loads(criteria_text) if criteria_text and criteria_text != "{}" else {}
        ranking_rows.append((item, code, from_db_json(ranking), None, aid, bool(flagged)))
        ranking_rows.extend((item, code, sub, name, aid, bool(flagged)) for name, sub in criteria.items())
    names = _usernames(list(codes))
    if project.kind == Project.Kind.RANKING:
        return _loaded_rankings(ranking_rows, names, criterion)
    return Loaded(None, None, names, np.array([]))


def _loaded_rankings(rows, names, criterion: str | None) -> Loaded:
    """Rankings as stored (ids best first, or groups best first when some are tied)."""
    chosen = [(item, code, order, aid, flagged) for item, code, order, name, aid, flagged in rows
              if name == criterion and order]
    if not chosen:
        return Loaded(None, None, names, np.array([]))
    items, coders, orders, ids, flagged = zip(*chosen, strict=True)
    rankings = quality.Rankings.from_lists(items, coders, orders, answer_id=ids, flagged=flagged)
    return Loaded(None, rankings, names, np.array([]))


@dataclass(frozen=True)
class SpeedAndGold:
    median_seconds: float | None
    gold_answered: int
    gold_accuracy: float | None


def annotator_speed_and_gold(project: Project) -> dict[int, SpeedAndGold]:
    """Per annotator (user id): the median seconds an answer took, and how many gold answers were scored and the share
    right. For pairwise answers these are the agreement report's own figures (`quality.annotator_stats`, from the same
    columns); a ranking is scored by the share of its response pairs ordered as the gold ranking orders them."""
    cols = _pairwise_columns(project, {})  # every kind: each answer's item, annotator, seconds and preference
    if not cols["item"].size:
        return {}
    raters = quality.answers.group_by(cols["annotator"])
    if project.kind == Project.Kind.PAIRWISE:
        item_ids = quality.answers.distinct(cols["item"])
        is_gold, gold = (column[np.searchsorted(item_ids, cols["item"])] for column in _gold_of(project, item_ids))
        answers = quality.Answers(item=cols["item"], annotator=raters.codes, value=np.nan_to_num(cols["value"]),
                                  seconds=cols["seconds"], is_gold=is_gold, gold_value=gold)
        stats = quality.annotator_stats(answers, np.full(len(answers), np.nan))
        medians, answered, accuracy = stats.median_seconds, stats.gold.n, stats.gold.rate
    else:
        medians = quality.answers.group_median(raters.codes, raters.n, cols["seconds"])
        answered, accuracy = _ranking_gold(project, raters)
    return {int(user): SpeedAndGold(None if not np.isfinite(m) else float(m), int(n), None if n == 0 else float(a))
            for user, m, n, a in zip(raters.keys.tolist(), medians.tolist(), answered.tolist(), accuracy.tolist(),
                                     strict=True)}


def _ranking_gold(project: Project, raters) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator code: gold rankings scored (`answers.gold_score`), and their mean score."""
    answered, total = np.zeros(raters.n, np.int64), np.zeros(raters.n)
    if project.kind == Project.Kind.RANKING:
        gold = Annotation.objects.filter(project=project, item__is_gold=True).values_list(
            "annotator_id", "ranking", "item__gold_answer")
        for annotator_id, ranking, expected in gold.iterator(chunk_size=5000):
            score = gold_score(project.kind, ranking, expected)
            if score is not None:
                code = int(np.searchsorted(raters.keys, annotator_id))
                answered[code] += 1
                total[code] += score
    with np.errstate(invalid="ignore"):
        return answered, np.where(answered > 0, total / np.maximum(answered, 1), np.nan)


# --- the snapshot build's one read ---

SPOOL_BATCH = 10_000  # rows fetched, spooled and turned into columns at a time


@dataclass
class ScanPart:
    """What a scan of answers (`answers_scan_part`) took from their rows for curation: pairwise, the number columns
    (`_PAIRWISE` and each answer's assignment) and the (id, criteria text) of the answers that rated a criterion;
    otherwise `_ranking_rows`' rows. Parts of one project's answers, each from its own items, make the project's
    (`answers_scanned`) in any order."""

    columns: dict[str, np.ndarray]
    rated: list[tuple[int, str]]
    others: list[tuple]


def answers_scan(project: Project, spool: "AnswerSpool", encode=None) -> Loaded:
    """The project's answers read once, in item order: each answer's full row (`ROW_FIELDS`) goes to `spool`, a
    batch at a time, and what `answers_load(project)` returns is built from the same rows, to the bit (tested), so
    that a snapshot's curation and its raw rows come from one read, and memory holds the numbers, never every
    answer's text.

    What the rows hold already is taken from them (the preference, the yes/no marks, the time spent); the first
    shown response and the time as epoch seconds are the loader's own SQL expressions in the same query; the lease's
    age, for the answers that say no time spent, is one look-up of those leases. `encode(row)`: what to spool of
    each row instead of the row itself (whose first two values it must keep: the answer's id, then its item's)."""
    part = answers_scan_part(project, spool, encode)
    spool.written()
    return answers_scanned(project, [part])


def answers_scan_part(project: Project, spool: "AnswerSpool", encode=None,
                      item_ranges: list[tuple[int, int]] | None = None) -> ScanPart:
    """`answers_scan`'s read, of the answers of items from `item_ranges` (first and last item id of each, in
    order; a query each) or of all the project's answers (one query), to `spool` in item order."""
    pairwise = project.kind == Project.Kind.PAIRWISE
    extra = {"shown_0": _json_id("shown_order", 0, -1), "created": _Epoch("created_at")} if pairwise else {}
    columns = [UtcText("created_at") if name == "created_at" else name for name in ROW_FIELDS]
    qs = _answers(project, {}).annotate(**extra).order_by("item_id", "id")
    fields = (*columns, *(("assignment_id", *extra) if pairwise else ()))
    if item_ranges is None:
        batches = raw_batches(qs.values_list(*fields), SPOOL_BATCH)
    else:
        ranged = Ranged(lambda low, high: qs.filter(item_id__gte=low, item_id__lte=high).values_list(*fields))
        batches = (batch for low, high in item_ranges for batch in ranged.batches(low, high, SPOOL_BATCH))
    n = len(ROW_FIELDS)
    at = {name: ROW_FIELDS.index(name) for name in (PREFERENCE, BOTH_BAD, RANKING, CRITERIA, FLAGS, TIME_SPENT_MS)}
    parts: dict[str, list[np.ndarray]] = {name: [] for name in (*_PAIRWISE, "assignment")}
    rated: list[tuple[int, str]] = []  # pairwise: (id, criteria text) of each answer that rated a criterion
    others: list[tuple] = []  # rankings, demonstrations: `_ranking_rows`' rows
    nan = float("nan")
    for batch in batches:
        spool.write(batch if encode is None else [encode(row) for row in batch])
        if not pairwise:
            flags, ranking, criteria = at[FLAGS], at[RANKING], at[CRITERIA]
            others.extend((row[0], row[1], row[2], row[ranking], row[criteria], _filled(row[flags])) for row in batch)
            continue
        size = len(batch)

        def column(k: int, dtype, rows=batch, size=size) -> np.ndarray:
            return np.fromiter((row[k] for row in rows), dtype=dtype, count=size)  # np.array(list): 4x slower

        parts["answer_id"].append(column(0, np.int64))
        parts["item"].append(column(1, np.int64))
        parts["annotator"].append(column(2, np.int64))
        parts["value"].append(np.fromiter((nan if (v := row[at[PREFERENCE]]) is None else v for row in batch),
                                          dtype=np.float64, count=size))
        # As SQL's float8(time_spent_ms) / 1000.0: the same division of the same doubles.
        parts["seconds"].append(np.fromiter((nan if (ms := row[at[TIME_SPENT_MS]]) is None else ms / 1000.0
                                             for row in batch), dtype=np.float64, count=size))
        parts["assignment"].append(column(n, np.int64))
        parts["shown_0"].append(column(n + 1, np.int64))
        parts["created"].append(column(n + 2, np.float64))
        parts["marks"].append(np.fromiter((_filled(row[at[FLAGS]]) | bool(row[at[BOTH_BAD]]) << 1
                                           | _filled(row[at[CRITERIA]]) << 2 for row in batch),
                                          dtype=np.int64, count=size))
        rated.extend((row[0], row[at[CRITERIA]]) for row in batch if _filled(row[at[CRITERIA]]))
    return ScanPart(_concatenated(parts), rated, others)


def _concatenated(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    dtypes = {name: np.float64 if name in ("value", "seconds", "created") else np.int64 for name in parts}
    return {name: np.concatenate(p) if p else np.zeros(0, dtypes[name]) for name, p in parts.items()}


def answers_scanned(project: Project, parts: list[ScanPart], items: ItemColumns | None = None) -> Loaded:
    """What `answers_load(project)` returns, from the scans of all the project's answers (`answers_scan_part`);
    `items`: a pairwise project's `items_read`, if read already."""
    if project.kind != Project.Kind.PAIRWISE:
        return _others_loaded(project, sorted(row for part in parts for row in part.others), None)
    cols = _concatenated({name: [part.columns[name] for part in parts] for name in parts[0].columns})
    _lease_ages(cols.pop("assignment"), cols["seconds"], cols["created"])
    return _pairwise_loaded(project, {}, _by_id(cols), sorted(r for part in parts for r in part.rated), items)


def _filled(stored) -> bool:
    """Whether a JSON list or object column (as the driver returns it: text, or decoded) holds anything: what
    `~Q(flags=[])` says in SQL. Text of an empty one is '[]' or '{}' (PostgreSQL's jsonb, Django's json.dumps)."""
    return len(stored) > 2 if isinstance(stored, str) else bool(stored)


def _lease_ages(assignments: np.ndarray, seconds: np.ndarray, created: np.ndarray) -> None:
    """In place: where an answer says no time spent, the age of its lease at the answer (what `_lease_ages_of`
    computes in SQL, the same subtraction of the same epoch doubles)."""
    missing = np.flatnonzero(np.isnan(seconds))
    for start in range(0, missing.size, 5000):
        rows = missing[start:start + 5000]
        leased = dict(Assignment.objects.filter(pk__in=assignments[rows].tolist()).values_list(
            "id", _Epoch("created_at")))
        seconds[rows] = [created[k] - leased[a] if a in leased else np.nan
                         for k, a in zip(rows.tolist(), assignments[rows].tolist(), strict=True)]


class AnswerSpool:
    """The answers' full rows between `answers_scan` and the stream that writes them: one file in a folder of its
    own under `folder`, a batch of rows at a time (marshal: the rows are tuples of numbers, text and None, written
    and read back by this process alone), removed by `close`, whatever happened.

    `take(last_item)` then hands back the rows in the order they were written (item order), a chunk of items at
    a time. A row's second value is its item's id."""

    def __init__(self, folder: Path, prefix: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=folder))
        self.path = self.folder / "answers.marshal"
        self.file = open(self.path, "w+b")  # noqa: SIM115 (closed by close)
        self.batch: list[tuple] = []
        self.at = 0

    def write(self, batch: list[tuple]) -> None:
        # Each batch after its length: marshal.load on a file reads it in small pieces, 20x slower than loads.
        data = marshal.dumps(batch)
        self.file.write(len(data).to_bytes(8, "little"))
        self.file.write(data)

    def _next(self) -> list[tuple]:
        size = self.file.read(8)
        return marshal.loads(self.file.read(int.from_bytes(size, "little"))) if size else []

    def written(self) -> None:
        """Every row is written: reading starts from the first."""
        self.file.flush()
        self.file.seek(0)

    def take(self, last_item: int, make=None) -> dict[int, list]:
        """The next rows, of items up to `last_item`, by item id: as they were spooled, or as `make(row)`."""
        out: dict[int, list] = {}
        while True:
            if self.at >= len(self.batch):
                self.batch, self.at = self._next(), 0
                if not self.batch:
                    return out
            end = bisect_right(self.batch, last_item, lo=self.at, key=itemgetter(1))
            for values in self.batch[self.at:end]:
                group = out.get(values[1])
                if group is None:
                    group = out[values[1]] = []
                group.append(values if make is None else make(values))
            self.at = end
            if end < len(self.batch):
                return out

    def close(self) -> None:
        self.file.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "AnswerSpool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
