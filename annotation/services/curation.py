"""Curation rules: which answers and items make it into training data.

The rules themselves are applied by the pure ``annotation.quality.curate``; this module
loads the answers, feeds it the annotator figures of the project's current agreement
report when there is one (so a preview does not rerun Dawid-Skene), and saves rules.
"""

from dataclasses import dataclass
from dataclasses import field as dataclass_field

import numpy as np
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from .. import quality
from ..answers import ranking_relations
from ..loading import Loaded, answers_load
from ..models import AgreementReport, Project
from . import audit
from .adjudications import adjudications_for_curation
from .quality import DEFAULT_KEY, agreement_report_current


@dataclass
class Curated:
    """The curated view of a project's pairwise answers (rankings: their decomposed pairs).

    Rankings also carry their consensus: one Bradley-Terry fit over the surviving pair answers
    decides both each item's consensus ranking and the orientation of each surviving pair, so
    the preview, the preference rows and their ranks can never disagree.
    """

    result: "quality.CurationResult"
    answers: "quality.Answers"
    units: "quality.rankings.Decomposed | None"  # rankings: each pair code's (item, lower id, higher id)
    agreed_items: np.ndarray  # sorted: the items (rankings: pair codes) with an answer left, for the two below
    agreement: np.ndarray  # each one's agreement among its answers left (NaN: none to say)
    answers_left: np.ndarray  # each one's number of answers left
    consensus_fit: "quality.rankings.BradleyTerry | None" = None  # rankings
    pair_direction: np.ndarray | None = None  # rankings: per `result.items` pair, -1 / 0 / +1 by the consensus
    rulings: dict = dataclass_field(default_factory=dict)  # item id -> the lead's Ruling that stands (when used)

    @property
    def is_ranking(self) -> bool:
        return self.units is not None

    def agreement_of(self, ids) -> tuple[list[float | None], list[int]]:
        """For each item (rankings: pair code) of `ids`, its agreement among the answers left (None: none to say)
        and how many answers are left (0 for one curation removed whole): looked up all at once, not from a dict
        of every item, which took a third of curation's time at a million answers."""
        ids = np.asarray(ids, dtype=np.int64)
        if not self.agreed_items.size or not ids.size:
            return [None] * ids.size, [0] * ids.size
        at = np.minimum(np.searchsorted(self.agreed_items, ids), self.agreed_items.size - 1)
        found = self.agreed_items[at] == ids
        agreement = np.where(found, self.agreement[at], np.nan)
        counts = np.where(found, self.answers_left[at], 0)
        return [None if a != a else a for a in agreement.tolist()], counts.tolist()

    def consensus_directions(self) -> np.ndarray:
        """Per surviving item (rankings: pair), its consensus direction."""
        return self.pair_direction if self.is_ranking else self.result.consensus


RULES_NOT_AN_OBJECT = "must be an object of rule names to values"


def curation_rules_parse(rules) -> "quality.CurationRules":
    if not isinstance(rules, dict):
        raise ValidationError({"rules": RULES_NOT_AN_OBJECT})
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


def model_annotator_ids() -> set[int]:
    """Users that are models answering as annotators (the training app's `ModelAnnotator` marks them)."""
    return set(get_user_model().objects.filter(model_annotator__isnull=False).values_list("id", flat=True))


def model_annotator_codes(names: list[str]) -> list[int]:
    """The loaded answers' annotator codes (their position in `names`) of those that are models."""
    models = set(get_user_model().objects.filter(username__in=names, model_annotator__isnull=False).values_list(
        "username", flat=True)) if names else set()
    return [code for code, name in enumerate(names) if name in models]


def curation_apply(*, project: Project, rules: dict, loaded: Loaded | None = None) -> Curated | None:
    """Apply rules to the project's main answers; None for demonstration projects (nothing to agree on).
    `loaded`: the project's answers as `answers_load(project)` returns them, already read (the snapshot build's
    `answers_scan`)."""
    parsed = curation_rules_parse(rules)
    loaded = answers_load(project) if loaded is None else loaded
    units = quality.decompose_rankings(loaded.rankings) if loaded.rankings is not None else None
    answers = units.answers if units is not None else loaded.answers
    if answers is None:
        return None
    # The report's figures serve the annotator rules only; without those rules there is nothing to read.
    judges_annotators = parsed.min_annotator_reliability is not None or parsed.min_gold_accuracy is not None
    stats = (_stats_by_code(loaded.names, _current_annotator_stats(project))
             if units is None and judges_annotators else None)
    rulings = adjudications_for_curation(project) if parsed.adjudication == "use" else {}
    result = quality.curate(answers, parsed, annotator_stats=stats, model_annotators=model_annotator_codes(loaded.names),
                            adjudicated=_ruled_values(rulings, units))
    main = quality.report.select_criterion(answers, None)
    alive = main.subset(result.answer_mask)
    keys, counts = np.unique(alive.item, return_counts=True)
    table = quality.agreement.direction_table(np.searchsorted(keys, alive.item), keys.size, alive.direction)
    agreement = quality.item_agreement(table)
    curated = Curated(result=result, answers=main, units=units, agreed_items=keys.astype(np.int64),
                      agreement=np.where(np.isfinite(agreement), agreement, np.nan), answers_left=counts,
                      rulings=rulings)
    if units is not None:
        fit = quality.bradley_terry(quality.rankings.Decomposed(alive, units.unit_item, units.unit_first,
                                                                units.unit_second))
        curated.consensus_fit = fit
        curated.pair_direction = quality.pair_directions(fit, units.unit_item[result.items],
                                                         units.unit_first[result.items],
                                                         units.unit_second[result.items])
        curated.pair_direction = np.where(result.adjudicated, result.consensus, curated.pair_direction)
    return curated


def _ruled_values(rulings: dict, units) -> dict[int, float]:
    """The rulings on the scale curation reads: pairwise, item -> preference; rankings, response pair code ->
    -1 / 0 / +1 as the ruled ranking orders the pair (lower id ahead, tied, higher id ahead)."""
    if units is None:
        return {item: float(ruling.value) for item, ruling in rulings.items()}
    relations = {item: ranking_relations(ruling.value) for item, ruling in rulings.items()}
    return {code: float(relations[item][(first, second)])
            for code, (item, first, second) in enumerate(zip(units.unit_item.tolist(), units.unit_first.tolist(),
                                                              units.unit_second.tolist(), strict=True))
            if item in relations and (first, second) in relations[item]}


UNITS = {
    "pairwise": {"answers": "answers", "items": "items", "consensus": "items"},
    "ranking": {"answers": "rankings", "items": "ranked items", "pairs": "response pairs of the ranked items",
                "pair_votes": "one ranking's verdict on one response pair (what the rules act on)",
                "consensus": "response pairs, oriented by the item's consensus ranking"},
}


def curation_preview(*, project: Project, rules: dict) -> dict:
    curated = curation_apply(project=project, rules=rules)
    if curated is None:
        return {"kind": project.kind, "initial": None, "preview": [], "remaining": None}
    r = curated.result
    return {"kind": project.kind, "rules": rules, "units": UNITS[project.kind], "initial": r.initial,
            "preview": r.preview, "remaining": curation_remaining(curated)}


def curation_remaining(curated: Curated) -> dict:
    """What the rules leave, in each unit the preview counts, and the consensus by direction
    (rankings: of the response pairs, by the consensus ranking; a pair in one group is a tie)."""
    directions = curated.consensus_directions()
    return {**curated.result.remaining, "consensus": {name: int((directions == d).sum())
                                                      for d, name in quality.answers.DIRECTION_NAMES.items()}}


@transaction.atomic
def curation_rules_save(*, project: Project, rules: dict, actor=None) -> Project:
    curation_rules_parse(rules)
    before = project.curation_rules
    project.curation_rules = rules
    project.save(update_fields=["curation_rules"])
    if before != rules:
        audit.record(actor=actor, action="curation.save", target=project, project=project,
                     changes={"rules": [before, rules]})
    return project
