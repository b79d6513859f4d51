"""From stored answers to the pure statistics in annotation.quality, and back.

Loading turns a project's canonical answers into column arrays; computing runs in a
worker (tasks.compute_agreement) and stores the result as an AgreementReport, which the
API serves as it is. Reports are keyed by their filters and stamped with the answers they
saw, so a reader knows at once whether one is current.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Length
from django.utils import timezone

from rlhf_site.celery import enqueue

from .. import quality
from ..answers import gold_score
from ..models import AgreementReport, Annotation, Assignment, Item, Project, Response
from ..sql import db_time, from_db_json, rows
from .columns import columns_from_query, raw_rows
from .limits import project_queue_check

PENDING, RUNNING, READY, FAILED = (AgreementReport.Status.PENDING, AgreementReport.Status.RUNNING,
                                   AgreementReport.Status.READY, AgreementReport.Status.FAILED)
DEFAULT_FILTERS: dict = {}
N_BOOT = 1000
CONTESTED = 50


def filters_key(filters: dict) -> str:
    return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()


@dataclass
class Loaded:
    answers: "quality.Answers | None"
    rankings: "quality.Rankings | None"
    names: list[str]
    created: np.ndarray  # answer time, epoch seconds, aligned with `answers` (criterion rows included)


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


def _pairwise_columns(project: Project, filters: dict) -> dict[str, np.ndarray]:
    """One row per answer, every column a number reduced in SQL, read straight into numpy (`columns`).

    The lease's age stands in for a missing time spent; it is a subquery, so PostgreSQL looks the lease up only
    for answers without one (a join would touch all of them)."""
    leased = Subquery(Assignment.objects.filter(pk=OuterRef("assignment_id")).values(at=_Epoch("created_at"))[:1])
    qs = _answers(project, filters).annotate(
        annotator_8=Cast("annotator_id", BigIntegerField()),  # auth's ids are 4 bytes; the binary rows want 8
        value=Coalesce(Cast("preference", FloatField()), Value(float("nan"))),
        shown_0=_json_id("shown_order", 0, -1),
        spent=Cast(Coalesce(Cast("time_spent_ms", FloatField()) / 1000.0, _Epoch("created_at") - leased,
                           Value(float("nan"))), FloatField()),
        created=_Epoch("created_at"),
        marks=_bits(ExpressionWrapper(~Q(flags=[]), output_field=BooleanField()), F("both_bad"),
                    ExpressionWrapper(~Q(criteria={}), output_field=BooleanField())),
    ).values_list("id", "item_id", "annotator_8", "value", "shown_0", "spent", "created", "marks")
    names = ("answer_id", "item", "annotator", "value", "shown_0", "seconds", "created", "marks")
    dtypes = (np.int64, np.int64, np.int64, np.float64, np.int64, np.float64, np.float64, np.int64)
    cols = dict(zip(names, columns_from_query(qs, list(dtypes)), strict=True))
    marks = cols.pop("marks")
    for bit, name in enumerate(_MARKS):
        cols[name] = (marks >> bit & 1).astype(bool)
    order = np.argsort(cols["answer_id"], kind="stable")  # by id here, cheaper than an ORDER BY there
    return {name: column[order] for name, column in cols.items()}


def _item_columns(project: Project, answer_items: np.ndarray) -> dict[str, np.ndarray]:
    """Per answer: its item's stored response ids and their text lengths, gold flag and gold answer."""
    ids, first, second = columns_from_query(Item.objects.filter(project=project).order_by().values_list(
        "id", _json_id("response_ids", 0, -2), _json_id("response_ids", 1, -2)), [np.int64] * 3)
    order = np.argsort(ids)
    ids, first, second = ids[order], first[order], second[order]
    at = np.searchsorted(ids, answer_items)
    is_gold, gold = _gold_of(project, ids)
    response_ids, lengths = columns_from_query(Response.objects.filter(prompt__project=project).order_by().annotate(
        n=Cast(Length("text"), BigIntegerField())).values_list("id", "n"), [np.int64, np.int64])
    return {"first": first[at], "len_first": _length_of(first[at], response_ids, lengths),
            "len_second": _length_of(second[at], response_ids, lengths), "gold": gold[at], "is_gold": is_gold[at]}


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
    order = np.argsort(response_ids)
    response_ids, lengths = response_ids[order], lengths[order]
    at = np.clip(np.searchsorted(response_ids, ids), 0, max(response_ids.size - 1, 0))
    found = response_ids[at] == ids if response_ids.size else np.zeros(ids.size, bool)
    return np.where(found, lengths[at] if response_ids.size else 0, 0).astype(np.float64)


def _criterion_rows(project: Project, filters: dict, answer_ids: np.ndarray) -> tuple[np.ndarray, list, list]:
    """The criterion sub-answers: for each, the row of its answer in `answer_ids`, its name and its value.
    Only answers that rated a criterion are read (as JSON text), in id order, criteria in stored order."""
    qs = _answers(project, filters).exclude(criteria={}).order_by("id").values_list("id", Cast("criteria", TextField()))
    rows, names, values = [], [], []
    for answer_id, text in qs.iterator(chunk_size=20_000):
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


def _pairwise_loaded(project: Project, filters: dict) -> Loaded:
    cols = _pairwise_columns(project, filters)
    codes, annotator_ids = _codes(cols["annotator"])
    names = _usernames(annotator_ids)
    if not cols["item"].size:
        return Loaded(None, None, names, np.array([]))
    items = _item_columns(project, cols["item"])
    columns = {"answer_id": cols["answer_id"], "item": cols["item"], "annotator": codes, "value": cols["value"],
               "shown_first_is_stored_first": cols["shown_0"] == items["first"], "len_first": items["len_first"],
               "len_second": items["len_second"], "seconds": cols["seconds"], "is_gold": items["is_gold"],
               "gold_value": items["gold"], "flagged": cols["flagged"], "both_bad": cols["both_bad"]}
    criterion = np.full(cols["item"].size, None, dtype=object)
    created = cols["created"]
    sub_rows, sub_names, sub_values = (_criterion_rows(project, filters, cols["answer_id"]) if cols["rated"].any()
                                       else (np.zeros(0, np.int64), [], []))
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
    return Loaded(quality.Answers(**columns, criterion=criterion), None, names, created)


def _ranking_rows(project: Project, filters: dict):
    """(id, item, annotator, ranking, criteria as text, flagged) per ranking, in id order."""
    qs = _answers(project, filters).annotate(
        criteria_text=Cast("criteria", TextField()),
        flagged=ExpressionWrapper(~Q(flags=[]), output_field=BooleanField()),
    ).order_by("id").values_list("id", "item_id", "annotator_id", "ranking", "criteria_text", "flagged")
    return raw_rows(qs)


def answers_load(project: Project, filters: dict | None = None) -> Loaded:
    """Every answer (and one row per criterion sub-answer) as arrays for annotation.quality."""
    filters = filters or {}
    if project.kind == Project.Kind.PAIRWISE:
        return _pairwise_loaded(project, filters)
    ranking_rows: list[tuple[int, int, list, str | None, int, bool]] = []
    codes: dict[int, int] = {}  # annotator id -> code, in order of first answer
    for aid, item, annotator_id, ranking, criteria_text, flagged in _ranking_rows(project, filters):
        code = codes.setdefault(annotator_id, len(codes))
        if project.kind != Project.Kind.RANKING:
            continue
        criteria = orjson.loads(criteria_text) if criteria_text and criteria_text != "{}" else {}
        ranking_rows.append((item, code, from_db_json(ranking), None, aid, bool(flagged)))
        ranking_rows.extend((item, code, sub, name, aid, bool(flagged)) for name, sub in criteria.items())
    names = _usernames(list(codes))
    if project.kind == Project.Kind.RANKING:
        return _loaded_rankings(ranking_rows, names, filters.get("criterion"))
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
        item_ids = np.unique(cols["item"])
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


def answers_stamp(project: Project) -> str:
    # updated_at is NOT NULL, so counting it equals counting rows and reads only the (project, updated_at) index.
    agg = Annotation.objects.filter(project=project).aggregate(n=Count("updated_at"), last=Max("updated_at"))
    return f"{agg['n']}:{agg['last'].isoformat() if agg['last'] else '-'}"


@dataclass(frozen=True)
class ItemAgreement:
    """Each item's agreement (NaN where undefined), items ordered by id."""

    items: np.ndarray
    agreement: np.ndarray


def _histogram(agreement: np.ndarray) -> dict:
    counts, edges = np.histogram(agreement[np.isfinite(agreement)], bins=10, range=(0.0, 1.0))
    return {"edges": [round(e, 2) for e in edges.tolist()], "counts": counts.tolist()}


def _over_time(loaded: Loaded) -> list[dict]:
    """Percent agreement of the items whose latest answer fell on each day (last 60 days with data)."""
    answers = loaded.answers
    if answers is None:
        return []
    main = np.equal(answers.criterion, None)
    item, value, created = answers.item[main], answers.value[main], loaded.created[main]
    uniq, inverse = np.unique(item, return_inverse=True)
    last = np.full(uniq.size, -np.inf)
    np.maximum.at(last, inverse, created)
    days = (last // 86400).astype(np.int64)[inverse]
    by_day = np.argsort(days, kind="stable")  # each day's answers one slice, in their own order
    day_of, starts = np.unique(days[by_day], return_index=True)
    ends = np.r_[starts[1:], by_day.size]
    series = []
    for day, start, end in list(zip(day_of.tolist(), starts.tolist(), ends.tolist(), strict=True))[-60:]:
        rows = by_day[start:end]
        figures = quality.percent_agreement(item[rows], value[rows])
        series.append({"date": datetime.fromtimestamp(day * 86400, tz=UTC).date().isoformat(),
                       "percent_agreement": None if figures.n_pairs == 0 else figures.with_ties,
                       "n_pairs": figures.n_pairs, "n_answers": int(end - start)})
    return series


def agreement_compute(project: Project, filters: dict) -> tuple[dict, ItemAgreement]:
    """The report (without per-item rows) and each item's agreement."""
    loaded = answers_load(project, filters)
    criterion = filters.get("criterion")
    if loaded.rankings is not None:
        report = quality.ranking_report(loaded.rankings, n_boot=N_BOOT, annotator_names=loaded.names)
        report["criterion"] = criterion
        rows = report.pop("items", [])
        report["consensus_orders"] = rows[:CONTESTED]
        columns = {"item": np.array([row["item"] for row in rows], dtype=np.int64),
                   "agreement": np.array([np.nan if row["agreement"] is None else row["agreement"] for row in rows],
                                         dtype=np.float64)}
        return _with_item_agreement(report, columns, lambda at: [rows[i] for i in at.tolist()], loaded,
                                    over_time=False)
    if loaded.answers is None:
        empty = ItemAgreement(np.zeros(0, np.int64), np.zeros(0))
        return {"n_items": 0, "n_annotations": 0, "criterion": criterion, "kind": project.kind}, empty
    report = quality.agreement_report(loaded.answers, criterion=criterion, n_boot=N_BOOT,
                                      annotator_names=loaded.names, include_items="columns")
    columns = report.pop("items")
    return _with_item_agreement(report, columns, lambda at: quality.report.item_rows(columns, at), loaded,
                                over_time=criterion is None)


def _with_item_agreement(report: dict, columns: dict[str, np.ndarray], rows_at, loaded: Loaded, *,
                         over_time: bool) -> tuple[dict, ItemAgreement]:
    """Add the per-item figures the lead screens read: histogram, contested items, agreement over time.
    `rows_at(indexes)`: the report rows of those items, for the few that are shown."""
    items, agreement = columns["item"], columns["agreement"]
    report["item_agreement_histogram"] = _histogram(agreement)
    defined = np.flatnonzero(np.isfinite(agreement))
    contested = defined[np.lexsort((items[defined], agreement[defined]))[:CONTESTED]]  # by (agreement, item)
    report["contested_items"] = rows_at(contested)
    report["over_time"] = _over_time(loaded) if over_time else []
    return report, ItemAgreement(items, agreement)


def _changed_item_agreement(project: Project, per_item: ItemAgreement) -> ItemAgreement:
    """The items whose stored agreement differs: after an answer, a handful, so the UPDATE touches only those
    (matching all 333k items to their new values cost the database more than reading them)."""
    ids, stored = columns_from_query(Item.objects.filter(project=project).order_by().values_list(
        "id", Coalesce("agreement", Value(float("nan")), output_field=FloatField())), [np.int64, np.float64])
    order = np.argsort(ids)
    ids, stored = ids[order], stored[order]
    at = np.clip(np.searchsorted(ids, per_item.items), 0, max(ids.size - 1, 0))
    known = ids[at] == per_item.items if ids.size else np.zeros(per_item.items.size, bool)
    before = np.where(known, stored[at] if ids.size else np.nan, np.nan)
    same = (before == per_item.agreement) | (np.isnan(before) & np.isnan(per_item.agreement))
    return ItemAgreement(per_item.items[~same], per_item.agreement[~same])


def _store_item_agreement(project: Project, per_item: ItemAgreement) -> None:
    per_item = _changed_item_agreement(project, per_item) if per_item.items.size else per_item
    if not per_item.items.size:
        return
    if connection.vendor == "postgresql":
        # The arrays go as text literals: psycopg's list adapter spent seconds on 333k numbers, one at a time.
        ids = "{" + ",".join(map(str, per_item.items.tolist())) + "}"
        values = "{" + ",".join("NULL" if v != v else repr(v) for v in per_item.agreement.tolist()) + "}"
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Item._meta.db_table} AS i SET agreement = v.a "
                "FROM (SELECT unnest(%s::text::bigint[]) AS id, unnest(%s::text::float8[]) AS a) AS v "
                "WHERE i.id = v.id AND i.agreement IS DISTINCT FROM v.a",
                [ids, values],
            )
        return
    rows = [Item(pk=i, agreement=None if v != v else v)
            for i, v in zip(per_item.items.tolist(), per_item.agreement.tolist(), strict=True)]
    Item.objects.bulk_update(rows, ["agreement"], batch_size=500)


def agreement_report_get(*, project: Project, filters: dict) -> AgreementReport:
    report, _ = AgreementReport.objects.get_or_create(project=project, key=filters_key(filters),
                                                      defaults={"filters": filters, "status": READY})
    return report


def _enqueue(report_id: int) -> None:
    enqueue("annotation.compute_agreement", report_id)


@transaction.atomic
def agreement_request(*, report: AgreementReport) -> bool:
    """Ask a worker to recompute; only the caller that flips the state enqueues (compare-and-set).

    Filtered reports are bounded per project (QueueFull); the project's unfiltered report, one per project and
    refreshed after answers, is not."""
    if report.key != DEFAULT_KEY and report.status in (READY, FAILED):
        project_queue_check(project=report.project, limit=settings.AGREEMENT_MAX_ACTIVE_PER_PROJECT,
                            what="agreement recomputes", setting="AGREEMENT_MAX_ACTIVE_PER_PROJECT",
                            active=AgreementReport.objects.filter(project=report.project_id, status__in=[
                                PENDING, RUNNING]).exclude(key=DEFAULT_KEY))
    flipped = AgreementReport.objects.filter(pk=report.pk, status__in=[READY, FAILED]).update(
        status=PENDING, requested_at=timezone.now())
    if flipped:
        _enqueue(report.pk)
    return bool(flipped)


def agreement_wake_lost(*, older_than: timedelta, stale_after: timedelta | None = None) -> list[int]:
    """Wake a worker again for each report pending for longer than `older_than` (the broker may have lost the
    wake-up, as a Redis restarted without its data does), and for each still running `stale_after` after it
    started (its worker died mid-compute, and nothing else would ever finish it). Stamping requested_at first sends
    each once a round; a compute that was only slow, run twice, stores the same report."""
    now = timezone.now()
    lost = Q(status=PENDING, requested_at__lt=now - older_than)
    if stale_after is not None:
        lost |= Q(status=RUNNING, requested_at__lt=now - stale_after)
    woken = []
    for report_id in AgreementReport.objects.filter(lost).values_list("pk", flat=True):
        if AgreementReport.objects.filter(lost, pk=report_id).update(status=PENDING, requested_at=now):
            _enqueue(report_id)
            woken.append(report_id)
    return woken


DEFAULT_KEY = filters_key(DEFAULT_FILTERS)  # the project's unfiltered report


def agreement_report_current(report: AgreementReport) -> bool:
    """Whether the report was computed from the project's answers as they are now."""
    return report.data is not None and report.stamp == answers_stamp(report.project)
# Written in SQL: it runs after every submit. States are literals so that the statement never varies.
_REFRESH_AFTER_ANSWER = f"""
    UPDATE annotation_agreementreport SET status = '{PENDING}', requested_at = %s
    WHERE project_id = %s AND key = %s AND status IN ('{READY}', '{FAILED}')
    RETURNING id"""


def agreement_refresh_after_answer(project_id: int) -> None:
    """After an answer commits: mark the project's default report for recompute, if it exists and is idle.

    One conditional UPDATE on the submit path; the row is only read when this call won the flip.
    """
    flipped = rows(_REFRESH_AFTER_ANSWER, [db_time(timezone.now()), project_id, DEFAULT_KEY])
    if flipped:
        _enqueue(flipped[0][0])


def agreement_run(*, report_id: int) -> AgreementReport | None:
    """Worker side: compute and store. Safe to run twice; the last writer wins with the same content."""
    report = AgreementReport.objects.select_related("project").filter(pk=report_id).first()
    if report is None:
        return None
    stamp = answers_stamp(report.project)
    AgreementReport.objects.filter(pk=report.pk).update(status=RUNNING, requested_at=timezone.now())  # started
    started = time.perf_counter()
    try:
        data, per_item = agreement_compute(report.project, report.filters)
    except Exception as exc:
        AgreementReport.objects.filter(pk=report.pk).update(status=FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    with transaction.atomic():
        if report.key == DEFAULT_KEY:
            _store_item_agreement(report.project, per_item)
        AgreementReport.objects.filter(pk=report.pk).update(
            status=READY, stamp=stamp, data=data, error="", computed_at=timezone.now(),
            seconds=round(time.perf_counter() - started, 3))
    if report.key == DEFAULT_KEY and answers_stamp(report.project) != stamp:
        # Answers that came in while this ran found the report busy, so their flip did nothing: go again now,
        # rather than leave the lead's report a step behind until the next answer or visit.
        agreement_request(report=report)
    report.refresh_from_db()
    return report
