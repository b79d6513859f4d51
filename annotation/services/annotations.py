"""Recording and changing answers."""

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ..answers import (
    ANSWER_FIELDS,
    JSON_ANSWER_FIELDS,
    AnswerError,
    AnswerShape,
    answer_values,
    canonicalize,
    gold_score,
)
from ..models import Annotation, Assignment, Item, Project
from ..selectors import in_visible_project
from ..sql import changed, db_json, db_time, from_db_json, rows
from .assignments import AssignmentConflict
from .quality import agreement_refresh_after_answer

LEASED = Assignment.Status.LEASED
EXPIRED = Assignment.Status.EXPIRED
SUBMITTED = Assignment.Status.SUBMITTED


def answer_shape(project: Project, item: Item) -> AnswerShape:
    return AnswerShape(
        kind=project.kind,
        response_ids=tuple(item.response_ids),
        allow_tie=project.allow_tie,
        criteria=tuple(project.criteria or ()),
        min_text_chars=project.min_demonstration_chars,
    )


_LOCK_ASSIGNMENT = """
    SELECT a.status, a.project_id, a.item_id, a.shown_order, i.response_ids,
           p.kind, p.allow_tie, p.criteria, p.min_demonstration_chars, (p.gold_feedback AND i.is_gold),
           CASE WHEN p.gold_feedback AND i.is_gold THEN i.gold_answer END,  -- read only where it is told
           (SELECT an.id FROM annotation_annotation an WHERE an.annotator_id = %s AND an.idempotency_key = %s)
    FROM annotation_assignment a
    JOIN annotation_item i ON i.id = a.item_id
    JOIN annotation_project p ON p.id = a.project_id
    WHERE a.id = %s AND a.annotator_id = %s
      AND (%s OR EXISTS (SELECT 1 FROM annotation_membership m WHERE m.project_id = a.project_id AND m.user_id = %s))
    {lock}"""

# Turning the assignment's lease into a submitted answer on the item's counters.
_SLOT_FROM_LEASE = """
    UPDATE annotation_item SET n_leased = n_leased - 1, n_submitted = n_submitted + 1 WHERE id = %s"""
# The same rule for gold items: an annotator must not tell them apart by which late answers are kept.
_SLOT_FROM_POOL = """
    UPDATE annotation_item SET n_submitted = n_submitted + 1, open_slots = open_slots - 1
    WHERE id = %s AND open_slots > 0"""

_INSERT_ANSWER = f"""
    INSERT INTO annotation_annotation
        (project_id, item_id, annotator_id, assignment_id, shown_order, idempotency_key, created_at, updated_at,
         {", ".join(ANSWER_FIELDS)})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, {", ".join(["%s"] * len(ANSWER_FIELDS))})
    RETURNING id"""

_CLOSE_ASSIGNMENT = f"UPDATE annotation_assignment SET status = '{SUBMITTED}', finished_at = %s WHERE id = %s"


def _canonical(payload, shape: AnswerShape, malformed: list[dict] | None) -> dict:
    """The answer's canonical values, or AnswerError: `malformed` (the API's input serializer's errors) first."""
    if malformed:
        raise AnswerError(malformed)
    return answer_values(canonicalize(payload, shape))


def _previous_answer(user, idempotency_key: str, assignment_id: int, payload, shape: AnswerShape,
                     malformed: list[dict] | None) -> Annotation | None:
    """The answer this key already stored, when the request repeats it; a conflict when the key served another."""
    previous = Annotation.objects.filter(annotator=user, idempotency_key=idempotency_key).first()
    if previous is None:
        return None
    if previous.assignment_id != assignment_id:
        raise AssignmentConflict("this Idempotency-Key was already used for a different assignment")
    try:
        same = _canonical(payload, shape, malformed) == answer_values(previous)
    except AnswerError:
        same = False
    if not same:
        raise AssignmentConflict("this Idempotency-Key was already used for a different answer; the first one is "
                                 "kept: send a new key, or change the answer with "
                                 f"PATCH /api/me/annotations/{previous.pk}/")
    return previous


def _gold_feedback(tell: bool, kind: str, annotation: Annotation, gold) -> dict | None:
    """Whether the answer matched its gold item, where the project tells annotators (`gold_feedback`) and the item is
    gold; else None. Only the submit's response carries it, sent once the answer is committed: before answering,
    nothing an annotator reads tells a gold item apart."""
    if not tell:
        return None
    score = gold_score(kind, annotation.preference if kind == Project.Kind.PAIRWISE else annotation.ranking, from_db_json(gold))
    return None if score is None else {"matched": score == 1.0}


@transaction.atomic
def annotation_submit(
    *, assignment_id: int, user, payload: dict, idempotency_key: str | None = None, malformed: list[dict] | None = None
) -> tuple[Annotation, bool]:
    """Record an annotator's answer. Returns (annotation, created). Safe to call twice with the same key.

    `malformed`: the errors the API's input serializer found in the payload. They are raised where the payload is
    first read, as canonicalize's would be, so that a missing assignment (404), a replayed key or an answered
    assignment (409) still answer first.

    The annotation carries `gold_feedback` (see _gold_feedback), an attribute of this call's result, not a column.

    The hot path is hand-written SQL (see services.assignments); the assignment row is locked first.
    """
    lock = " FOR UPDATE OF a" if connection.features.has_select_for_update_of else ""
    # A member's own assignment only: one removed from the project answers as if it did not exist.
    found = rows(_LOCK_ASSIGNMENT.format(lock=lock),
                 [user.pk, idempotency_key, assignment_id, user.pk, bool(user.is_staff), user.pk])
    if not found:
        raise Assignment.DoesNotExist(f"assignment {assignment_id} does not exist")
    (status, project_id, item_id, shown_order, response_ids, kind, allow_tie, criteria, min_chars, tell_gold, gold,
     seen_key) = found[0]
    shape = AnswerShape(kind=kind, response_ids=tuple(from_db_json(response_ids)), allow_tie=bool(allow_tie),
                        criteria=tuple(from_db_json(criteria) or ()), min_text_chars=min_chars)
    # The key is looked up again after the lock: a twin request that held it may just have committed.
    if idempotency_key and (seen_key is not None or status == SUBMITTED):
        previous = _previous_answer(user, idempotency_key, assignment_id, payload, shape, malformed)
        if previous is not None:
            previous.gold_feedback = _gold_feedback(tell_gold, kind, previous, gold)
            return previous, False
    if status == SUBMITTED:
        raise AssignmentConflict(
            f"this assignment is already answered; change the answer with "
            f"PATCH /api/me/annotations/{Annotation.objects.get(assignment_id=assignment_id).pk}/"
        )
    if status not in (LEASED, EXPIRED):
        raise AssignmentConflict(f"this assignment is {status}; ask for the next item")
    fields = _canonical(payload, shape, malformed)
    # Even past expires_at, a lease not yet reclaimed still holds its slot; an expired one needs a free slot.
    if status == LEASED:
        changed(_SLOT_FROM_LEASE, [item_id])
    elif not changed(_SLOT_FROM_POOL, [item_id]):
        raise AssignmentConflict(
            "your lease on this item expired and its slot has been taken by another annotator; "
            "your answer was not stored, ask for the next item"
        )
    now = timezone.now()
    shown_order = from_db_json(shown_order)
    answer = (db_json(value) if name in JSON_ANSWER_FIELDS else value for name, value in fields.items())
    params = [project_id, item_id, user.pk, assignment_id, db_json(shown_order), idempotency_key, db_time(now),
              db_time(now), *answer]
    try:
        # No savepoint: a unique violation here fails the whole submit, which is what a conflict means.
        ((annotation_id,),) = rows(_INSERT_ANSWER, params)
    except IntegrityError:
        raise AssignmentConflict("you have already answered this item") from None
    changed(_CLOSE_ASSIGNMENT, [db_time(now), assignment_id])
    _refresh_agreement_on_commit(project_id)
    annotation = Annotation(id=annotation_id, project_id=project_id, item_id=item_id, annotator_id=user.pk,
                            assignment_id=assignment_id, shown_order=shown_order, idempotency_key=idempotency_key,
                            created_at=now, updated_at=now, **fields)
    annotation.gold_feedback = _gold_feedback(tell_gold, kind, annotation, gold)
    return annotation, True


@transaction.atomic
def annotation_update(*, annotation_id: int, user, payload: dict, malformed: list[dict] | None = None) -> Annotation:
    """Change one's own answer while its item still needs answers. `malformed`: as for annotation_submit."""
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("item", "project")
        .get(in_visible_project(user), pk=annotation_id, annotator=user)
    )
    item, project = annotation.item, annotation.project
    # Gold items too, though more than the overlap answer them: an annotator must not tell them apart.
    if item.n_submitted >= project.annotations_per_item:
        raise AssignmentConflict("this item is complete; its answers can no longer be changed")
    for name, value in _canonical(payload, answer_shape(project, item), malformed).items():
        setattr(annotation, name, value)
    annotation.save()
    _refresh_agreement_on_commit(project.id)
    return annotation


def _refresh_agreement_on_commit(project_id: int) -> None:
    """Once the answer is committed, the project's agreement refreshed. Robust: a failed refresh (the database gone a
    moment) is logged, and the request still answers 201 rather than an error that would make the client doubt the
    answer was stored. A function, not a `partial`: Django's log line for a failed robust hook reads the function's
    __qualname__, which a partial lacks, and that AttributeError answered 500 in a database outage."""
    transaction.on_commit(lambda: agreement_refresh_after_answer(project_id), robust=True)
