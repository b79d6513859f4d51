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
    with transaction.atomic():
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


def _candidates(project: Project, user, *, gold: bool):
    seen = Assignment.objects.filter(item=OuterRef("pk"), annotator=user).exclude(status=EXPIRED)
    items = Item.objects.filter(project=project, is_gold=gold).exclude(Exists(seen))
    if gold:
        return items.order_by("id")
    # Breadth-first: the fewest open slots first, so finished items accumulate.
    return items.filter(open_slots__gt=0).order_by("open_slots", "id")


def _claim_item(project: Project, user, *, gold: bool) -> Item | None:
    candidates = _candidates(project, user, gold=gold)
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    if gold:
        # Spread annotators over the gold set instead of all starting at its first item.
        count = candidates.count()
        return candidates[random.randrange(count)] if count else None
    return candidates.first()


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
    item = (_claim_item(project, user, gold=True) if _gold_first(project) else None) or _claim_item(
        project, user, gold=False
    )
    if item is None:
        return None
    Item.objects.filter(pk=item.pk).update(n_leased=F("n_leased") + 1, open_slots=F("open_slots") - 1)
    shown = random.sample(item.response_ids, len(item.response_ids))
    expires = now + timedelta(seconds=project.lease_seconds)
    assignment, _ = Assignment.objects.update_or_create(
        item=item,
        annotator=user,
        defaults={"project": project, "status": LEASED, "shown_order": shown, "expires_at": expires,
                  "created_at": now, "finished_at": None, "skip_reason": ""},
    )
    assignment.item = item
    return assignment


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
