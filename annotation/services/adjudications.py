"""A lead settles an item: the answer that stands (one of the submitted ones, or the lead's own) and why.

Curation reads the rulings (`adjudications_for_curation`) as the consensus of their items when the
rule `adjudication` is "use" (the default).
"""

from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import answers
from ..models import Adjudication, Item, Project
from . import audit

MAX_NOTE = 2000
NOTE_REQUIRED = "required: say why this answer stands"
NOT_A_RULING = "must be a JSON object with a note and the answer that stands"
PREFERENCE_RANGE = "must be a whole number from -3 (the first stored response much better) to 3 (the second much better)"


def _own_answer(item: Item, payload: dict) -> dict:
    """The lead's own answer in canonical form, given as canonical (`preference`, `ranking`) or as an
    annotator would submit it (`chosen` + `strength`, `tie`)."""
    project = item.project
    if project.kind == Project.Kind.PAIRWISE and "preference" in payload:
        value = payload["preference"]  # -3..3: the input serializer's check
        if value == 0 and not project.allow_tie:
            raise ValidationError({"preference": f"{PREFERENCE_RANGE} (0, a tie, is not allowed in this project)"})
        return {"preference": value, "ranking": None}
    shape = answers.AnswerShape(kind=project.kind, response_ids=tuple(item.response_ids),
                                allow_tie=project.allow_tie, criteria=())
    errors: list[dict] = []
    value = answers.pairwise_preference(payload, shape, "", errors) if project.kind == Project.Kind.PAIRWISE \
        else answers.ranking_order(payload, shape, "", errors)
    if errors:
        raise answers.AnswerError(errors)
    return {"preference": value, "ranking": None} if project.kind == Project.Kind.PAIRWISE else \
        {"preference": None, "ranking": value}


@transaction.atomic
def adjudication_set(*, item: Item, decided_by, payload, malformed: list[dict] | None = None) -> Adjudication:
    """Record (or replace) the ruling on an item.

    `payload`, as the API's input serializer (AdjudicationIn) checked it: `{"note": "...", "from_answer": <answer
    id>}` to let one submitted answer stand, or the lead's own answer (`{"preference": -2}` / `{"chosen": id,
    "strength": 2}` / `{"tie": true}`; rankings `{"ranking": [...]}`). `malformed`: that serializer's errors, raised
    once the item is known to take a ruling at all.
    """
    if not isinstance(payload, dict):
        raise ValidationError({"non_field_errors": NOT_A_RULING})
    if item.project.kind == Project.Kind.DEMONSTRATION:
        raise ValidationError({"item": "demonstrations are not compared, so there is nothing to settle"})
    if malformed:
        raise answers.AnswerError(malformed)
    note = payload["note"]
    source, chosen = payload.get("from_answer"), None
    if source is not None:
        chosen = item.annotations.filter(pk=source).first()
        if chosen is None:
            raise ValidationError({"from_answer": "must be the id of an answer to this item"})
        value = {"preference": chosen.preference, "ranking": chosen.ranking}
    else:
        value = _own_answer(item, payload)
    before = Adjudication.objects.filter(item=item).values("preference", "ranking", "note").first()
    ruling, _ = Adjudication.objects.update_or_create(
        item=item, defaults={"project": item.project, "from_answer": chosen,
                             "note": note.strip(), "decided_by": decided_by, **value})
    after = {"preference": ruling.preference, "ranking": ruling.ranking, "note": ruling.note}
    changes = {k: [(before or {}).get(k), v] for k, v in after.items() if (before or {}).get(k) != v}
    if changes:  # the same ruling again changes nothing, and records nothing
        audit.record(actor=decided_by, action="item.adjudicate", target=item, project=item.project, changes=changes)
    return ruling


@transaction.atomic
def adjudication_withdraw(*, item: Item, actor=None) -> bool:
    """Withdraw the ruling; False when there was none."""
    deleted, _ = Adjudication.objects.filter(item=item).delete()
    if deleted:
        audit.record(actor=actor, action="item.adjudication_withdraw", target=item, project=item.project_id)
    return bool(deleted)


class Ruling(NamedTuple):
    value: object  # pairwise: -3..3 on the stored order; rankings: the ruled ranking as stored
    note: str


def adjudications_for_curation(project: Project) -> dict[int, Ruling]:
    """item id -> the ruling that stands on it."""
    field = "ranking" if project.kind == Project.Kind.RANKING else "preference"
    return {item: Ruling(value, note) for item, value, note in
            Adjudication.objects.filter(project=project).values_list("item_id", field, "note")}
