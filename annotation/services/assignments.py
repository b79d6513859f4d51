"""Handing out items: leases, breadth-first order, gold mixing, skips and reclaiming.

Correctness under concurrency rests on three things:
- the item row is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (on
  SQLite, IMMEDIATE transactions serialise writers), and its counters change in the same
  transaction as the assignment row;
- ``(item, annotator)`` is unique on assignments and on annotations, so the database
  itself refuses a second hand-out or a second answer;
- a lease only ever leaves the ``leased`` state through a conditional UPDATE, so a
  reclaim and a submit racing for the same lease cannot both win.

Gold items are exempt from the overlap cap: their purpose is to measure every
annotator, so each annotator may get each gold item once.
"""

import random
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from ..models import Assignment, Item, Project

LEASED = Assignment.Status.LEASED
EXPIRED = Assignment.Status.EXPIRED
SKIPPED = Assignment.Status.SKIPPED


class AssignmentConflict(Exception):
    """The request cannot be honoured in the assignment's current state (HTTP 409)."""


def leases_reclaim(*, project_id: int | None = None, now=None) -> int:
    """Return the slots of expired leases to the pool. Safe to run concurrently and twice."""
    now = now or timezone.now()
    # No savepoint when called inside `next`'s transaction: two round trips saved on the hottest path.
    with transaction.atomic(savepoint=False):
        expired = Assignment.objects.filter(status=LEASED, expires_at__lte=now)
        if project_id is not None:
            expired = expired.filter(project_id=project_id)
        ids = list(expired.select_for_update(skip_locked=True).values_list("id", flat=True))
        if not ids:
            return 0
        # Re-check the state in the UPDATE itself: only leases still leased are reclaimed.
        reclaimed = Assignment.objects.filter(id__in=ids, status=LEASED)
        per_item = dict(reclaimed.values_list("item_id").annotate(n=Count("id")).order_by())
        reclaimed.update(status=EXPIRED, finished_at=now)
        for item_id, n in sorted(per_item.items()):
            Item.objects.filter(id=item_id).update(n_leased=F("n_leased") - n, open_slots=F("open_slots") + n)
        return sum(per_item.values())


def _live_lease(project: Project, user, now) -> Assignment | None:
    return (
        Assignment.objects.filter(project=project, annotator=user, status=LEASED, expires_at__gt=now)
        .select_related("item__prompt")
        .first()
    )


WINDOW = 200  # in-progress items looked at before a fresh one: bounds the cost of being ahead of others


def _unseen(items, user):
    seen = Assignment.objects.filter(item=OuterRef("pk"), annotator=user).exclude(status=EXPIRED)
    return items.exclude(Exists(seen))


def _locked_first(candidates) -> Item | None:
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    return candidates.select_related("prompt").first()


def _claim_work_item(project: Project, user) -> Item | None:
    """Breadth-first: the item closest to completion that the caller has not seen.

    Walking the whole in-progress range would cost as many rows as items the caller has
    already answered and others have not finished; so look at a bounded window of it,
    then at fresh items (a range the caller can only have skipped in), and only at the
    tail of a project, when both come back empty, walk everything.
    """
    items = Item.objects.filter(project=project, is_gold=False)
    overlap = project.annotations_per_item
    # The window's ids are fetched first: as a subquery the planner may walk the whole index testing
    # membership, which at 1M items costs more than this extra round trip.
    window = list(items.filter(open_slots__gt=0, open_slots__lt=overlap)
                  .order_by("open_slots", "id").values_list("id", flat=True)[:WINDOW])
    # open_slots is tested again in the locking query: PostgreSQL re-checks only that query's conditions
    # on the row version it locks, and the window may have been read before a rival's commit.
    # Ordered by an expression on purpose: ordered by the bare columns, PostgreSQL walks item_next_idx in
    # order and tests each entry against the window (the whole index when none qualifies); this way it
    # fetches the window's rows by primary key and sorts at most WINDOW of them.
    in_progress = _unseen(items.filter(id__in=window, open_slots__gt=0), user).order_by(F("open_slots") + 0, "id")
    # Fresh: open_slots == overlap, written as >= (it is never more) so that the ordering below is not
    # reduced to "id" alone; the planner then walks this project's fresh range of item_next_idx instead
    # of the primary key past every other project's items.
    fresh = _unseen(items.filter(open_slots__gte=overlap), user).order_by("open_slots", "id")
    anywhere = _unseen(items.filter(open_slots__gt=0), user).order_by("open_slots", "id")
    return ((_locked_first(in_progress) if window else None) or _locked_first(fresh)
            or (_locked_first(anywhere) if len(window) == WINDOW else None))


def _claim_gold_item(project: Project, user) -> Item | None:
    candidates = _unseen(Item.objects.filter(project=project, is_gold=True), user).order_by("id")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    # Spread annotators over the gold set instead of all starting at its first item.
    count = candidates.count()
    return candidates.select_related("prompt")[random.randrange(count)] if count else None


def _gold_first(project: Project) -> bool:
    return project.gold_ratio > 0 and random.random() < project.gold_ratio


@transaction.atomic
def assignment_next(*, project: Project, user, now=None) -> Assignment | None:
    """The caller's current lease, or a new one on the next item; None when nothing is left."""
    now = now or timezone.now()
    live = _live_lease(project, user, now)
    if live:
        return live
    leases_reclaim(project_id=project.id, now=now)
    # Gold is mixed into real work; when the real work is done, so is the annotator.
    item = (_claim_gold_item(project, user) if _gold_first(project) else None) or _claim_work_item(project, user)
    if item is None:
        return None
    # The claim holds the row lock, so this cannot miss; the guard makes over-assignment impossible regardless.
    if not Item.objects.filter(pk=item.pk, open_slots__gt=0).update(n_leased=F("n_leased") + 1,
                                                                    open_slots=F("open_slots") - 1) and not item.is_gold:
        raise AssignmentConflict("the item was taken while it was being assigned; ask for the next item again")
    lease = Assignment(project=project, item=item, annotator=user, status=LEASED, created_at=now,
                       shown_order=random.sample(item.response_ids, len(item.response_ids)),
                       expires_at=now + timedelta(seconds=project.lease_seconds), finished_at=None, skip_reason="")
    # One statement: a new lease, or the caller's own expired one on this item taken up again.
    (lease,) = Assignment.objects.bulk_create(
        [lease], update_conflicts=True, unique_fields=["item", "annotator"],
        update_fields=["status", "shown_order", "expires_at", "created_at", "finished_at", "skip_reason"],
    )
    lease.item = item
    return lease


@transaction.atomic
def assignment_skip(*, assignment_id: int, user, reason: str = "") -> Assignment:
    assignment = Assignment.objects.select_for_update().get(pk=assignment_id, annotator=user)
    if assignment.status == SKIPPED:
        return assignment
    if assignment.status != LEASED and assignment.status != EXPIRED:
        raise AssignmentConflict(f"this assignment is {assignment.status} and cannot be skipped")
    if assignment.status == LEASED:
        Item.objects.filter(pk=assignment.item_id).update(n_leased=F("n_leased") - 1, open_slots=F("open_slots") + 1)
    assignment.status = SKIPPED
    assignment.skip_reason = reason[:2000]
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["status", "skip_reason", "finished_at"])
    return assignment
