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
    FloatField,
    Func,
    Max,
    Q,
    TextField,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Length
from django.utils import timezone

from .. import quality
from ..models import AgreementReport, Annotation, Item, Project, Response
from .limits import project_queue_check
from .sql import db_time, from_db_json, rows

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
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)::float8", **extra)

    def as_sqlite(self, compiler, connection, **extra):  # Django keeps UTC text; julianday reads it
        return self.as_sql(compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)",
                           **extra)


def _json_id(field: str, index: int) -> Cast:
    return Cast(KeyTextTransform(str(index), field), BigIntegerField())


def _answer_rows(project: Project, filters: dict):
    """One tuple per answer, with the JSON and time columns reduced in SQL to what the statistics use:
    (id, item, annotator, preference, ranking, criteria as text, first shown id, first and second stored id,
    is_gold, gold answer, seconds spent, flagged, both_bad, created as epoch seconds)."""
    qs = Annotation.objects.filter(project=project)
    if filters.get("since"):
        qs = qs.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(created_at__lt=filters["until"])
    if filters.get("annotators"):
        qs = qs.filter(annotator__username__in=filters["annotators"])
    qs = qs.annotate(
        criteria_text=Cast("criteria", TextField()),
        shown_0=_json_id("shown_order", 0), stored_0=_json_id("item__response_ids", 0),
        stored_1=_json_id("item__response_ids", 1),
        spent=Cast(Coalesce(Cast("time_spent_ms", FloatField()) / 1000.0,
                            _Epoch("created_at") - _Epoch("assignment__created_at")), FloatField()),
        flagged=ExpressionWrapper(~Q(flags=[]), output_field=BooleanField()),
        created=_Epoch("created_at"),
    )
    return _stream(qs.order_by("id").values_list(
        "id", "item_id", "annotator_id", "preference", "ranking", "criteria_text", "shown_0", "stored_0", "stored_1",
        "item__is_gold", "item__gold_answer", "spent", "flagged", "both_bad", "created",
    ))


def _stream(queryset, chunk: int = 10_000):
    """The rows of a queryset as the database returns them, a chunk at a time (a server-side cursor on
    PostgreSQL). The ORM writes the SQL; running it raw skips the per-value converters, which at a million
    rows cost more than the query. JSON columns come back as text (None for NULL)."""
    sql, params = queryset.query.sql_with_params()
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk):
            yield from batch


def _usernames(user_ids: list[int]) -> list[str]:
    by_id = dict(get_user_model().objects.filter(id__in=user_ids).values_list("id", "username"))
    return [by_id[i] for i in user_ids]


def _lengths(project: Project) -> dict[int, int]:
    rows = Response.objects.filter(prompt__project=project).annotate(n=Length("text")).values_list("id", "n")
    return dict(rows.iterator(chunk_size=20_000))


COLUMNS = {"answer_id": np.int64, "item": np.int64, "annotator": np.int64, "value": np.float64, "shown_first": bool,
           "len_first": np.float64, "len_second": np.float64, "seconds": np.float64, "is_gold": bool,
           "gold": np.float64, "flagged": bool, "both_bad": bool, "criterion": object, "created": np.float64}


class _Columns:
    """Rows gathered a chunk at a time and frozen into numpy arrays: a million answers cost their
    arrays (~100 MB), not a million Python tuples."""

    def __init__(self, chunk: int = 50_000):
        self.chunk, self.rows, self.frozen = chunk, [], []

    def append(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.chunk:
            self._freeze()

    def _freeze(self) -> None:
        if self.rows:
            self.frozen.append([np.array(col, dtype=dtype) for col, dtype in zip(zip(*self.rows, strict=True), COLUMNS.values(), strict=True)])
            self.rows = []

    def arrays(self) -> dict[str, np.ndarray]:
        self._freeze()
        return {name: np.concatenate([chunk[i] for chunk in self.frozen]) if self.frozen else np.array([], dtype=dtype)
                for i, (name, dtype) in enumerate(COLUMNS.items())}


def answers_load(project: Project, filters: dict | None = None) -> Loaded:
    """Every answer (and one row per criterion sub-answer) as arrays for annotation.quality."""
    filters = filters or {}
    lengths = _lengths(project) if project.kind == Project.Kind.PAIRWISE else {}
    columns = _Columns()
    ranking_rows: list[tuple[int, int, list, str | None, int, bool]] = []
    codes: dict[int, int] = {}  # annotator id -> code, in order of first answer
    for (aid, item, annotator_id, pref, ranking, criteria_text, shown_0, first, second, is_gold, gold, seconds, flagged,
         both_bad, created) in _answer_rows(project, filters):
        code = codes.setdefault(annotator_id, len(codes))
        criteria = orjson.loads(criteria_text) if criteria_text and criteria_text != "{}" else None
        if project.kind == Project.Kind.RANKING:
            ranking_rows.append((item, code, from_db_json(ranking), None, aid, bool(flagged)))
            ranking_rows.extend((item, code, sub, name, aid, bool(flagged)) for name, sub in (criteria or {}).items())
            continue
        gold_value = from_db_json(gold) if is_gold and gold is not None else np.nan
        shown_first = shown_0 is not None and shown_0 == first
        for criterion, value in [(None, pref), *((criteria or {}).items())]:
            columns.append((aid, item, code, value, shown_first, lengths.get(first, 0), lengths.get(second, 0), seconds,
                            bool(is_gold), gold_value, bool(flagged), both_bad, criterion, created))
    names = _usernames(list(codes))
    if project.kind == Project.Kind.RANKING:
        return _loaded_rankings(ranking_rows, names, filters.get("criterion"))
    cols = columns.arrays()
    if project.kind == Project.Kind.DEMONSTRATION or not cols["item"].size:
        return Loaded(None, None, names, np.array([]))
    answers = quality.Answers(
        item=cols["item"], annotator=cols["annotator"], value=cols["value"],
        shown_first_is_stored_first=cols["shown_first"], len_first=cols["len_first"], len_second=cols["len_second"],
        seconds=cols["seconds"], is_gold=cols["is_gold"], gold_value=cols["gold"], flagged=cols["flagged"],
        both_bad=cols["both_bad"], criterion=cols["criterion"], answer_id=cols["answer_id"],
    )
    return Loaded(answers, None, names, cols["created"])


def _loaded_rankings(rows, names, criterion: str | None) -> Loaded:
    """Rankings as stored (ids best first, or groups best first when some are tied)."""
    chosen = [(item, code, order, aid, flagged) for item, code, order, name, aid, flagged in rows
              if name == criterion and order]
    if not chosen:
        return Loaded(None, None, names, np.array([]))
    items, coders, orders, ids, flagged = zip(*chosen, strict=True)
    rankings = quality.Rankings.from_lists(items, coders, orders, answer_id=ids, flagged=flagged)
    return Loaded(None, rankings, names, np.array([]))


def answers_stamp(project: Project) -> str:
    # updated_at is NOT NULL, so counting it equals counting rows and reads only the (project, updated_at) index.
    agg = Annotation.objects.filter(project=project).aggregate(n=Count("updated_at"), last=Max("updated_at"))
    return f"{agg['n']}:{agg['last'].isoformat() if agg['last'] else '-'}"


def _histogram(values: list) -> dict:
    finite = np.array([v for v in values if v is not None], dtype=np.float64)
    counts, edges = np.histogram(finite, bins=10, range=(0.0, 1.0))
    return {"edges": [round(e, 2) for e in edges.tolist()], "counts": counts.tolist()}


def _over_time(loaded: Loaded) -> list[dict]:
    """Percent agreement of the items whose latest answer fell on each day (last 60 days with data)."""
    answers = loaded.answers
    if answers is None:
        return []
    main = np.array([c is None for c in answers.criterion])
    item, value, created = answers.item[main], answers.value[main], loaded.created[main]
    order = np.argsort(item, kind="stable")
    uniq, start = np.unique(item[order], return_index=True)
    last = np.maximum.reduceat(created[order], start) if uniq.size else np.array([])
    day_of_item = dict(zip(uniq.tolist(), (last // 86400).astype(np.int64).tolist(), strict=True))
    days = np.array([day_of_item[i] for i in item.tolist()], dtype=np.int64)
    series = []
    for day in sorted(set(days.tolist()))[-60:]:
        mask = days == day
        figures = quality.percent_agreement(item[mask], value[mask])
        series.append({"date": datetime.fromtimestamp(day * 86400, tz=UTC).date().isoformat(),
                       "percent_agreement": None if figures.n_pairs == 0 else figures.with_ties,
                       "n_pairs": figures.n_pairs, "n_answers": int(mask.sum())})
    return series


def agreement_compute(project: Project, filters: dict) -> tuple[dict, dict[int, float]]:
    """The report (without per-item rows) and each item's agreement."""
    loaded = answers_load(project, filters)
    criterion = filters.get("criterion")
    if loaded.rankings is not None:
        report = quality.ranking_report(loaded.rankings, n_boot=N_BOOT, annotator_names=loaded.names)
        report["criterion"] = criterion
        items = report.pop("items", [])
        report["consensus_orders"] = items[:CONTESTED]
        return _with_item_agreement(report, items, loaded, over_time=False)
    if loaded.answers is None:
        return {"n_items": 0, "n_annotations": 0, "criterion": criterion, "kind": project.kind}, {}
    report = quality.agreement_report(loaded.answers, criterion=criterion, n_boot=N_BOOT, annotator_names=loaded.names)
    return _with_item_agreement(report, report.pop("items", []), loaded, over_time=criterion is None)


def _with_item_agreement(report: dict, items: list[dict], loaded: Loaded, *, over_time: bool):
    """Add the per-item figures the lead screens read: histogram, contested items, agreement over time."""
    per_item = {row["item"]: row["agreement"] for row in items}
    report["item_agreement_histogram"] = _histogram(list(per_item.values()))
    contested = sorted((row for row in items if row["agreement"] is not None), key=lambda r: (r["agreement"], r["item"]))
    report["contested_items"] = contested[:CONTESTED]
    report["over_time"] = _over_time(loaded) if over_time else []
    return report, per_item


def _store_item_agreement(per_item: dict[int, float]) -> None:
    if not per_item:
        return
    ids, values = list(per_item), [v for v in per_item.values()]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Item._meta.db_table} AS i SET agreement = v.a "
                "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::float8[]) AS a) AS v "
                "WHERE i.id = v.id AND i.agreement IS DISTINCT FROM v.a",
                [ids, values],
            )
        return
    rows = [Item(pk=i, agreement=v) for i, v in per_item.items()]
    Item.objects.bulk_update(rows, ["agreement"], batch_size=500)


def agreement_report_get(*, project: Project, filters: dict) -> AgreementReport:
    report, _ = AgreementReport.objects.get_or_create(project=project, key=filters_key(filters),
                                                      defaults={"filters": filters, "status": READY})
    return report


def _enqueue(report_id: int) -> None:
    from ..tasks import compute_agreement

    compute_agreement.delay_on_commit(report_id)


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


def agreement_wake_lost(*, older_than: timedelta) -> list[int]:
    """Wake a worker again for each report pending for longer than `older_than` (the broker may have lost the
    wake-up, as a Redis restarted without its data does). Stamping requested_at first sends each once a round."""
    now = timezone.now()
    woken = []
    for report_id in AgreementReport.objects.filter(status=PENDING, requested_at__lt=now - older_than).values_list(
            "pk", flat=True):
        if AgreementReport.objects.filter(pk=report_id, status=PENDING, requested_at__lt=now - older_than).update(
                requested_at=now):
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
    AgreementReport.objects.filter(pk=report.pk).update(status=RUNNING)
    started = time.perf_counter()
    try:
        data, per_item = agreement_compute(report.project, report.filters)
    except Exception as exc:
        AgreementReport.objects.filter(pk=report.pk).update(status=FAILED, error=f"{type(exc).__name__}: {exc}")
        raise
    with transaction.atomic():
        if report.key == DEFAULT_KEY:
            _store_item_agreement(per_item)
        AgreementReport.objects.filter(pk=report.pk).update(
            status=READY, stamp=stamp, data=data, error="", computed_at=timezone.now(),
            seconds=round(time.perf_counter() - started, 3))
    report.refresh_from_db()
    return report
