"""Recording and changing answers."""

from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..answers import AnswerShape, CanonicalAnswer, canonicalize
from ..models import Annotation, Assignment, Item, Project
from .assignments import AssignmentConflict
from .quality import agreement_refresh_after_answer

LEASED = Assignment.Status.LEASED
EXPIRED = Assignment.Status.EXPIRED


def answer_shape(project: Project, item: Item) -> AnswerShape:
    return AnswerShape(
        kind=project.kind,
        response_ids=tuple(item.response_ids),
        allow_tie=project.allow_tie,
        criteria=tuple(project.criteria or ()),
    )


def _canonical_fields(answer: CanonicalAnswer) -> dict:
    return {
        "preference": answer.preference,
        "both_bad": answer.both_bad,
        "ranking": answer.ranking,
        "text": answer.text,
        "criteria": answer.criteria,
        "rationale": answer.rationale,
        "flags": answer.flags,
        "confidence": answer.confidence,
        "time_spent_ms": answer.time_spent_ms,
    }


def _take_slot(assignment: Assignment) -> None:
    """Turn the assignment's lease into a submitted answer on the item's counters."""
    items = Item.objects.filter(pk=assignment.item_id)
    if assignment.status == LEASED:
        # Even past expires_at, a lease not yet reclaimed still holds its slot.
        items.update(n_leased=F("n_leased") - 1, n_submitted=F("n_submitted") + 1)
        return
    if assignment.item.is_gold:
        items.update(n_submitted=F("n_submitted") + 1, open_slots=F("open_slots") - 1)
        return
    if not items.filter(open_slots__gt=0).update(n_submitted=F("n_submitted") + 1, open_slots=F("open_slots") - 1):
        raise AssignmentConflict(
            "your lease on this item expired and its slot has been taken by another annotator; "
            "your answer was not stored, ask for the next item"
        )


@transaction.atomic
def annotation_submit(
    *, assignment_id: int, user, payload: dict, idempotency_key: str | None = None
) -> tuple[Annotation, bool]:
    """Record an annotator's answer. Returns (annotation, created). Safe to call twice with the same key."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("item", "project")
        .get(pk=assignment_id, annotator=user)
    )
    if idempotency_key:
        previous = Annotation.objects.filter(annotator=user, idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.assignment_id != assignment.pk:
                raise AssignmentConflict("this Idempotency-Key was already used for a different assignment")
            return previous, False
    if assignment.status == Assignment.Status.SUBMITTED:
        raise AssignmentConflict(
            f"this assignment is already answered; change the answer with "
            f"PATCH /api/me/annotations/{assignment.annotation.pk}/"
        )
    if assignment.status not in (LEASED, EXPIRED):
        raise AssignmentConflict(f"this assignment is {assignment.status}; ask for the next item")
    answer = canonicalize(payload, answer_shape(assignment.project, assignment.item))
    _take_slot(assignment)
    try:
        # No savepoint: a unique violation here fails the whole submit, which is what a conflict means.
        annotation = Annotation.objects.create(
            project=assignment.project,
            item=assignment.item,
            annotator=user,
            assignment=assignment,
            shown_order=assignment.shown_order,
            idempotency_key=idempotency_key or None,
            **_canonical_fields(answer),
        )
    except IntegrityError:
        raise AssignmentConflict("you have already answered this item") from None
    assignment.status = Assignment.Status.SUBMITTED
    assignment.finished_at = timezone.now()
    assignment.save(update_fields=["status", "finished_at"])
    transaction.on_commit(partial(agreement_refresh_after_answer, assignment.project_id))
    return annotation, True


@transaction.atomic
def annotation_update(*, annotation_id: int, user, payload: dict) -> Annotation:
    """Change one's own answer while its item still needs answers."""
    annotation = (
        Annotation.objects.select_for_update(of=("self",))
        .select_related("item", "project")
        .get(pk=annotation_id, annotator=user)
    )
    item, project = annotation.item, annotation.project
    if not item.is_gold and item.n_submitted >= project.annotations_per_item:
        raise AssignmentConflict("this item is complete; its answers can no longer be changed")
    answer = canonicalize(payload, answer_shape(project, item))
    for name, value in _canonical_fields(answer).items():
        setattr(annotation, name, value)
    annotation.save()
    transaction.on_commit(partial(agreement_refresh_after_answer, project.id))
    return annotation
