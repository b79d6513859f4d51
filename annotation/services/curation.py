"""Curation rules: which answers and items make it into training data.

The rules themselves are applied by the pure ``annotation.quality.curate``; this module
loads the answers, feeds it the annotator figures of the project's current agreement
report when there is one (so a preview does not rerun Dawid-Skene), and saves rules.
"""

from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import quality
from ..models import AgreementReport, Project
from .quality import DEFAULT_KEY, agreement_report_current, answers_load


@dataclass
class Curated:
    """The curated view of a project's pairwise answers (rankings: their decomposed pairs)."""

    result: "quality.CurationResult"
    answers: "quality.Answers"
    units: "quality.rankings.Decomposed | None"  # rankings: each pair code's (item, lower id, higher id)
    item_agreement: dict[int, float]
    item_answers: dict[int, int]


def curation_rules_parse(rules) -> "quality.CurationRules":
    if not isinstance(rules, dict):
        raise ValidationError({"rules": "must be an object of rule names to values"})
    try:
        return quality.CurationRules.from_dict(rules)
    except (TypeError, ValueError) as exc:
        field, _, message = str(exc).partition(": ")
        raise ValidationError({field if message else "rules": message or str(exc)}) from None


def _current_annotator_stats(project: Project) -> list[dict] | None:
    report = AgreementReport.objects.filter(project=project, key=DEFAULT_KEY).select_related("project").first()
    if report is None or not agreement_report_current(report):
        return None
    return report.data.get("annotators", [])


def _stats_by_code(loaded_names: list[str], rows: list[dict] | None) -> list[dict] | None:
    if rows is None or {row["annotator"] for row in rows} != set(loaded_names):
        return None
    code_of = {name: code for code, name in enumerate(loaded_names)}
    return [{**row, "annotator": code_of[row["annotator"]]} for row in rows]


def curation_apply(*, project: Project, rules: dict) -> Curated | None:
    """Apply rules to the project's main answers; None for demonstration projects (nothing to agree on)."""
    parsed = curation_rules_parse(rules)
    loaded = answers_load(project)
    units = quality.decompose_rankings(loaded.rankings) if loaded.rankings is not None else None
    answers = units.answers if units is not None else loaded.answers
    if answers is None:
        return None
    # The report's figures serve the annotator rules only; without those rules there is nothing to read.
    judges_annotators = parsed.min_annotator_reliability is not None or parsed.min_gold_accuracy is not None
    stats = (_stats_by_code(loaded.names, _current_annotator_stats(project))
             if units is None and judges_annotators else None)
    result = quality.curate(answers, parsed, annotator_stats=stats)
    main = quality.report.select_criterion(answers, None)
    alive = main.subset(result.answer_mask)
    keys, counts = np.unique(alive.item, return_counts=True)
    table = quality.agreement.direction_table(np.searchsorted(keys, alive.item), keys.size, alive.direction)
    agreement = quality.item_agreement(table)
    return Curated(
        result=result, answers=main, units=units,
        item_agreement={int(k): (None if not np.isfinite(a) else float(a)) for k, a in zip(keys, agreement, strict=True)},
        item_answers={int(k): int(c) for k, c in zip(keys, counts, strict=True)},
    )


def curation_preview(*, project: Project, rules: dict) -> dict:
    curated = curation_apply(project=project, rules=rules)
    if curated is None:
        return {"kind": project.kind, "initial": None, "preview": [], "remaining": None}
    r = curated.result
    return {"kind": project.kind, "rules": rules, "initial": r.initial, "preview": r.preview,
            "remaining": curation_remaining(r)}


def curation_remaining(result: "quality.CurationResult") -> dict:
    """What the rules leave: answers, items, and the items' consensus by direction."""
    return {"answers": int(result.answer_mask.sum()), "items": int(result.items.size),
            "consensus": {name: int((result.consensus == d).sum())
                          for d, name in quality.answers.DIRECTION_NAMES.items()}}


@transaction.atomic
def curation_rules_save(*, project: Project, rules: dict) -> Project:
    curation_rules_parse(rules)
    project.curation_rules = rules
    project.save(update_fields=["curation_rules"])
    return project
