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
annotator, so each annotator gets each gold item once (when the project has a gold
ratio): mixed into the real work at that ratio, and the ones still unseen once the
real work is done. Nothing the annotator reads may tell gold apart, so gold counts in
their ``remaining`` like any item (selectors.remaining_for_user) and its lease takes a
slot like any other, going below zero past the overlap.

``next`` is the hottest call of the platform, so its statements are written in SQL that
PostgreSQL and SQLite both run (the row locks are added on PostgreSQL only): building
them through the ORM cost more CPU than executing them.
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import Assignment, Item, Project
from ..selectors import in_visible_project
from ..sql import changed, db_json, db_time, from_db_json, from_db_time, rows

LEASED = Assignment.Status.LEASED
EXPIRED = Assignment.Status.EXPIRED
SKIPPED = Assignment.Status.SKIPPED
WINDOW = 200  # in-progress items looked at before a fresh one: bounds the cost of being ahead of others


class AssignmentConflict(Exception):
    """The request cannot be honoured in the assignment's current state (HTTP 409)."""


@dataclass(frozen=True)
class Lease:
    """A live assignment as `next` hands it out."""

    pk: int
    item_id: int
    expires_at: datetime
    shown_order: list[int]  # response ids in the order this annotator sees them
    response_ids: list[int]  # the item's stored order
    # What the annotator sees of the item, (conversation, {response id: text}), where the claim read it (a new
    # lease); None for a lease already held, whose texts are read apart (selectors.item_shown).
    shown: tuple[list, dict[int, str]] | None = None


def _lock(of: str) -> str:
    return f" FOR UPDATE OF {of} SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""


# States are literals in the SQL, not parameters, so that the planner can match the partial indexes.
_RECLAIM = f"""
    UPDATE annotation_assignment SET status = '{EXPIRED}', finished_at = %s
    WHERE status = '{LEASED}' AND id IN (
        SELECT id FROM annotation_assignment WHERE {{scope}} status = '{LEASED}' AND expires_at <= %s{{lock}}
    )
    RETURNING item_id"""


_END = f"""
    UPDATE annotation_assignment SET status = '{EXPIRED}', finished_at = %s
    WHERE project_id = %s AND annotator_id = %s AND status = '{LEASED}'
    RETURNING item_id"""


def _give_back(item_ids: list[int]) -> int:
    per_item = Counter(item_ids)
    for item_id, n in sorted(per_item.items()):  # sorted: concurrent reclaims lock items in one order
        Item.objects.filter(id=item_id).update(n_leased=F("n_leased") - n, open_slots=F("open_slots") + n)
    return sum(per_item.values())


def leases_reclaim(*, project_id: int | None = None, now=None) -> int:
    """Return the slots of expired leases to the pool. Safe to run concurrently and twice."""
    now = db_time(now or timezone.now())
    # No savepoint when called inside `next`'s transaction: two round trips saved on the hottest path.
    with transaction.atomic(savepoint=False):
        scope, params = ("project_id = %s AND", [project_id]) if project_id is not None else ("", [])
        # The UPDATE re-checks the state itself: only leases still leased are reclaimed.
        sql = _RECLAIM.format(scope=scope, lock=_lock("annotation_assignment"))
        return _give_back([item_id for (item_id,) in rows(sql, [now, *params, now])])


@transaction.atomic
def leases_end(*, project_id: int, annotator_id: int, now=None) -> int:
    """End an annotator's live leases in a project (they left it), giving the slots back; like a reclaim, their
    lease ends as expired, and an expired lease takes an answer only from a member (services.annotations)."""
    ended = rows(_END, [db_time(now or timezone.now()), project_id, annotator_id])
    return _give_back([item_id for (item_id,) in ended])


# The caller's live lease if any, and whether the project has expired leases to reclaim, in one round trip: most
# calls find none, and then skip the reclaim's UPDATE (the beat task sweeps every minute as well).
_LIVE = f"""
    SELECT live.id, live.item_id, live.expires_at, live.shown_order, live.response_ids, EXISTS (
        SELECT 1 FROM annotation_assignment e WHERE e.project_id = %s AND e.status = '{LEASED}' AND e.expires_at <= %s)
    FROM (SELECT 1) AS one LEFT JOIN (
        SELECT a.id, a.item_id, a.expires_at, a.shown_order, i.response_ids
        FROM annotation_assignment a JOIN annotation_item i ON i.id = a.item_id
        WHERE a.annotator_id = %s AND a.project_id = %s AND a.status = '{LEASED}' AND a.expires_at > %s
        LIMIT 1
    ) AS live ON true"""

# Every claim locks one unlocked item the caller has not seen, as the CTE `c` (id, prompt_id, response_ids), and
# returns it with what the annotator will see of it, so that `next` needs no query for the texts: a row (id,
# response_ids, conversation, NULL, NULL), and a row (NULL, NULL, NULL, response id, text) per response. Lookups
# by the item's prompt, no joins, as in selectors.item_shown (whose comment says why).
_UNSEEN = f"""NOT EXISTS (
        SELECT 1 FROM annotation_assignment a WHERE a.item_id = i.id AND a.annotator_id = %s AND a.status <> '{EXPIRED}')"""

_SHOWN = """
    SELECT c.id, c.response_ids, (SELECT p.conversation FROM annotation_prompt p WHERE p.id = c.prompt_id), NULL, NULL
    FROM c
    UNION ALL SELECT NULL, NULL, NULL, r.id, r.text FROM annotation_response r
    WHERE r.prompt_id = (SELECT c.prompt_id FROM c)"""

# Breadth-first: the item closest to completion that the caller has not seen. Walking the whole
# in-progress range would cost as many rows as items the caller has already answered and others have
# not finished; so look at a bounded window of it (materialised: inlined, the planner may walk the
# whole index testing membership), then at fresh items, and only when both come back empty, at all.
# open_slots is tested again outside the window: PostgreSQL re-checks only the locking query's own
# conditions on the row version it locks. Ordered by an expression on purpose: by the bare columns,
# PostgreSQL walks item_next_idx in order testing each entry against the window; this way it fetches
# the window's rows by primary key and sorts at most WINDOW of them.
_CLAIM_IN_PROGRESS = """
    WITH w AS MATERIALIZED (
        SELECT id FROM annotation_item
        WHERE project_id = %s AND is_gold = %s AND open_slots > 0 AND open_slots < %s
        ORDER BY open_slots, id LIMIT {window}
    ), c AS MATERIALIZED (
        SELECT i.id, i.prompt_id, i.response_ids FROM annotation_item i
        WHERE i.id IN (SELECT id FROM w) AND i.open_slots > 0 AND {unseen}
        ORDER BY i.open_slots + 0, i.id LIMIT 1{lock}
    ){shown}"""

# Fresh means open_slots == overlap, written as >= (it is never more) so that the ordering is not
# reduced to "id" alone; the planner then walks this project's fresh range of item_next_idx instead
# of the primary key past every other project's items.
_CLAIM_FROM = """
    WITH c AS MATERIALIZED (
        SELECT i.id, i.prompt_id, i.response_ids FROM annotation_item i
        WHERE i.project_id = %s AND i.is_gold = %s AND i.open_slots >= %s AND {unseen}
        ORDER BY i.open_slots, i.id LIMIT 1{lock}
    ){shown}"""

# Gold: a random unseen gold item, so that annotators spread over the gold set.
_CLAIM_GOLD = """
    WITH c AS MATERIALIZED (
        SELECT i.id, i.prompt_id, i.response_ids FROM annotation_item i
        WHERE i.project_id = %s AND i.is_gold = %s AND {unseen}
        ORDER BY random() LIMIT 1{lock}
    ){shown}"""

_TAKE = """
    UPDATE annotation_item SET n_leased = n_leased + 1, open_slots = open_slots - 1
    WHERE id = %s AND (open_slots > 0 OR is_gold)"""

# One statement: a new lease, or the caller's own expired one on this item taken up again. Only an expired one: a
# twin request of the caller's may have leased this very item after the claim's snapshot was taken (the claim's
# NOT EXISTS is not re-checked on the row it locks), and taking that lease over would count the slot twice.
_LEASE = f"""
    INSERT INTO annotation_assignment
        (project_id, item_id, annotator_id, status, shown_order, created_at, expires_at, finished_at, skip_reason)
    VALUES (%s, %s, %s, '{LEASED}', %s, %s, %s, NULL, '')
    ON CONFLICT (item_id, annotator_id) DO UPDATE SET
        status = excluded.status, shown_order = excluded.shown_order, created_at = excluded.created_at,
        expires_at = excluded.expires_at, finished_at = NULL, skip_reason = ''
    WHERE annotation_assignment.status = '{EXPIRED}'
    RETURNING id"""


class _TwinLeased(Exception):
    """A twin request of the caller's leased the claimed item meanwhile: roll back, and return the twin's lease."""


@dataclass(frozen=True)
class _Claimed:
    item_id: int
    response_ids: list[int]
    shown: tuple[list, dict[int, str]]


def _claim(sql: str, params: list) -> _Claimed | None:
    found = rows(sql.format(unseen=_UNSEEN, lock=_lock("i"), window=WINDOW, shown=_SHOWN), params)
    item = [row for row in found if row[3] is None]
    if not item:
        return None
    ((item_id, response_ids, conversation, _, _),) = item
    texts = {rid: text for *_, rid, text in found if rid is not None}
    return _Claimed(item_id, from_db_json(response_ids), (from_db_json(conversation), texts))


def _claim_work_item(project: Project, user_id: int) -> _Claimed | None:
    overlap, unseen = project.annotations_per_item, [user_id]
    return (
        _claim(_CLAIM_IN_PROGRESS, [project.id, False, overlap, *unseen])
        or _claim(_CLAIM_FROM, [project.id, False, overlap, *unseen])
        or _claim(_CLAIM_FROM, [project.id, False, 1, *unseen])
    )


def _claim_gold_item(project: Project, user_id: int) -> _Claimed | None:
    return _claim(_CLAIM_GOLD, [project.id, True, user_id])


def _claim_any_item(project: Project, user_id: int) -> _Claimed | None:
    """Gold mixed into real work at the gold ratio; the unseen gold once the real work is done."""
    if project.gold_ratio <= 0:
        return _claim_work_item(project, user_id)
    if random.random() < project.gold_ratio:
        return _claim_gold_item(project, user_id) or _claim_work_item(project, user_id)
    return _claim_work_item(project, user_id) or _claim_gold_item(project, user_id)


def assignment_next(*, project: Project, user, now=None) -> Lease | None:
    """The caller's current lease, or a new one on the next item; None when nothing is left.

    Twin requests of one annotator may both find no lease and both claim an item; the database keeps one live lease
    per annotator and project (assignment_live_idx), so the later one fails and, run again, returns the first's.
    """
    try:
        return _assignment_next(project=project, user=user, now=now)
    except (IntegrityError, _TwinLeased):  # a twin committed its lease first: run again, to find and return it
        pass
    try:
        return _assignment_next(project=project, user=user, now=now)
    except (IntegrityError, _TwinLeased):  # the lease in the way is being ended right now (a submit, a reclaim)
        raise AssignmentConflict("another request of yours is changing your lease; ask for the next item again") from None


@transaction.atomic
def _assignment_next(*, project: Project, user, now=None) -> Lease | None:
    now = now or timezone.now()
    ((pk, item_id, expires_at, shown_order, response_ids, stale),) = rows(
        _LIVE, [project.id, db_time(now), user.pk, project.id, db_time(now)])
    if pk is not None:
        return Lease(pk, item_id, from_db_time(expires_at), from_db_json(shown_order), from_db_json(response_ids))
    if stale:
        leases_reclaim(project_id=project.id, now=now)
    claimed = _claim_any_item(project, user.pk)
    if claimed is None:
        return None
    item_id, response_ids = claimed.item_id, claimed.response_ids
    # The claim holds the row lock, so this cannot miss; the guard makes over-assignment impossible regardless.
    if not changed(_TAKE, [item_id]):
        raise AssignmentConflict("the item was taken while it was being assigned; ask for the next item again")
    shown_order = random.sample(response_ids, len(response_ids))
    expires_at = now + timedelta(seconds=project.lease_seconds)
    leased = rows(_LEASE, [project.id, item_id, user.pk, db_json(shown_order), db_time(now), db_time(expires_at)])
    if not leased:
        raise _TwinLeased  # the transaction rolls back, and with it the slot taken above
    ((pk,),) = leased
    return Lease(pk, item_id, expires_at, shown_order, response_ids, claimed.shown)


@transaction.atomic
def assignment_skip(*, assignment_id: int, user, reason: str = "") -> Assignment:
    assignment = Assignment.objects.select_for_update().get(in_visible_project(user), pk=assignment_id, annotator=user)
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


_TAKE_BACK = "UPDATE annotation_item SET n_leased = n_leased + 1, open_slots = open_slots - 1 WHERE id = %s AND open_slots > 0"


@transaction.atomic
def assignment_unskip(*, assignment_id: int, user, now=None) -> Assignment:
    """Take a skipped item back: its assignment becomes the caller's live lease again, so that `next` returns it.

    A lease the caller holds in the project meanwhile ends (its slot goes back, as when a lease expires): one live
    lease per annotator and project. Refused when the item has no open slot, gold or not alike: unlike `next`, which
    hands gold out past the overlap, so that which skipped items come back cannot tell gold apart.
    """
    assignment = Assignment.objects.select_for_update().get(in_visible_project(user), pk=assignment_id, annotator=user)
    if assignment.status != SKIPPED:
        raise AssignmentConflict(f"this assignment is {assignment.status}, not skipped")
    now = now or timezone.now()
    leases_end(project_id=assignment.project_id, annotator_id=user.pk, now=now)
    if not changed(_TAKE_BACK, [assignment.item_id]):
        raise AssignmentConflict("this item has all the answers it needs now; it cannot be taken back")
    assignment.status = LEASED
    assignment.skip_reason = ""
    assignment.finished_at = None
    assignment.expires_at = now + timedelta(seconds=assignment.project.lease_seconds)
    assignment.save(update_fields=["status", "skip_reason", "finished_at", "expires_at"])
    return assignment
