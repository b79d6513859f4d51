"""From stored answers to the pure statistics in annotation.quality, and back.

Loading (`annotation.loading`) turns a project's canonical answers into column arrays; computing runs in a
worker (tasks.compute_agreement) and stores the result as an AgreementReport, which the
API serves as it is. Reports are keyed by their filters and stamped with the answers they
saw, so a reader knows at once whether one is current.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, FloatField, Max, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from rlhf_site.celery import enqueue

from .. import quality
from ..columns import columns_from_query, in_key_order
from ..loading import Loaded, answers_load
from ..models import AgreementReport, Annotation, Item, Project
from ..sql import db_time, rows
from .limits import project_queue_check

PENDING, RUNNING, READY, FAILED = (AgreementReport.Status.PENDING, AgreementReport.Status.RUNNING,
                                   AgreementReport.Status.READY, AgreementReport.Status.FAILED)
DEFAULT_FILTERS: dict = {}
N_BOOT = 1000
CONTESTED = 50


def answers_stamp(project: Project) -> str:
    # updated_at is NOT NULL, so counting it equals counting rows and reads only the (project, updated_at) index.
    agg = Annotation.objects.filter(project=project).aggregate(n=Count("updated_at"), last=Max("updated_at"))
    return f"{agg['n']}:{agg['last'].isoformat() if agg['last'] else '-'}"


@dataclass(frozen=True)
class ItemAgreement:
    """Each item's agreement (NaN where undefined), items ordered by id."""

    items: np.ndarray
    agreement: np.ndarray
    # The project's item ids (in order) and their stored agreement when the load read them (`Loaded`): what
    # `_changed_item_agreement` compares with, instead of reading the items again.
    stored: "tuple[np.ndarray, np.ndarray] | None" = None


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
    return report, ItemAgreement(items, agreement, loaded.stored_agreement)


def _changed_item_agreement(project: Project, per_item: ItemAgreement) -> ItemAgreement:
    """The items whose stored agreement differs: after an answer, a handful, so the UPDATE touches only those
    (matching all 333k items to their new values cost the database more than reading them). The stored values
    are those the load read (`Loaded.stored_agreement`), seconds before: only a recompute writes an item's
    agreement, and an answer that lands meanwhile asks for another, which compares again."""
    if per_item.stored is not None:
        ids, stored = per_item.stored
    else:
        ids, stored = in_key_order(*columns_from_query(Item.objects.filter(project=project).order_by().values_list(
            "id", Coalesce("agreement", Value(float("nan")), output_field=FloatField())), [np.int64, np.float64]))
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


def _enqueue(report_id: int) -> None:
    enqueue("annotation.compute_agreement", report_id)


def agreement_report_get(*, project: Project, filters: dict) -> AgreementReport:
    """The project's report for these (normalised) filters. Asked for the first time, its row is made, empty (no
    data, ready to be requested), so that a worker has a row to compute into and later readers find it."""
    report, _ = AgreementReport.objects.get_or_create(project=project, key=AgreementReport.key_for(filters),
                                                      defaults={"filters": filters, "status": READY})
    return report


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


DEFAULT_KEY = AgreementReport.key_for(DEFAULT_FILTERS)  # the project's unfiltered report


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
