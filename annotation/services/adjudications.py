"""A lead settles an item: the answer that stands (one of the submitted ones, or the lead's own) and why.

Curation reads the rulings (`adjudications_for_curation`) as the consensus of their items when the
rule `adjudication` is "use" (the default).
"""

from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction

from .. import answers, json_input
from ..models import Adjudication, Item, Project
from . import audit

MAX_NOTE = 2000


def _own_answer(item: Item, payload: dict) -> dict:
    """The lead's own answer in canonical form, given as canonical (`preference`, `ranking`) or as an
    annotator would submit it (`chosen` + `strength`, `tie`)."""
    project = item.project
    if project.kind == Project.Kind.PAIRWISE and "preference" in payload:
        value = payload["preference"]
        if isinstance(value, bool) or not isinstance(value, int) or not -3 <= value <= 3 \
                or (value == 0 and not project.allow_tie):
            tie = " (0, a tie, is not allowed in this project)" if not project.allow_tie else " (0: a tie)"
            raise ValidationError({"preference": f"must be a whole number from -3 (the first stored response much "
                                                 f"better) to 3 (the second much better){tie}"})
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
def adjudication_set(*, item: Item, decided_by, payload) -> Adjudication:
    """Record (or replace) the ruling on an item.

    `payload`: `{"note": "...", "from_answer": <answer id>}` to let one submitted answer stand, or the lead's own
    answer (`{"preference": -2}` / `{"chosen": id, "strength": 2}` / `{"tie": true}`; rankings `{"ranking": [...]}`).
    """
    if not isinstance(payload, dict):
        raise ValidationError({"non_field_errors": "must be a JSON object with a note and the answer that stands"})
    if item.project.kind == Project.Kind.DEMONSTRATION:
        raise ValidationError({"item": "demonstrations are not compared, so there is nothing to settle"})
    note = payload.get("note")
    if not isinstance(note, str) or not note.strip():
        raise ValidationError({"note": "required: say why this answer stands"})
    if len(note) > MAX_NOTE or json_input.NUL in note:
        raise ValidationError({"note": f"at most {MAX_NOTE} characters, no NUL character"})
    source, chosen = payload.get("from_answer"), None
    if source is not None:
        chosen = item.annotations.filter(pk=source).first() if isinstance(source, int) and \
            not isinstance(source, bool) else None
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
