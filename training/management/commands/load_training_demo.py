"""The training half of the demo: the two real models, a tiny one for fast runs, and two projects that are
already answered (by three simulated annotators of known accuracy) with a ready snapshot each, so that an
admin can launch SFT, reward, DPO and KTO jobs from the first minute.

Safe to run again: what exists is kept.
"""

import json
import random

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from annotation import importing
from annotation.management.commands.load_demo import DATA, DEMO_PASSWORD
from annotation.models import DatasetSnapshot, Membership, Project
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next
from annotation.services.imports import items_import
from annotation.services.snapshots import snapshot_build, snapshot_create
from training.models import Model

SIMULATED = [("sim-careful", 0.95), ("sim-average", 0.8), ("sim-hasty", 0.65)]  # (name, accuracy)
PREFERENCES = "Demo: answered preferences (for training)"
DEMONSTRATIONS = "Demo: answered demonstrations (for training)"
TINY = "tiny-demo"


def _user(name: str):
    user = get_user_model().objects.filter(username=name).first()
    return user or get_user_model().objects.create_user(name, f"{name}@example.org", DEMO_PASSWORD)


def _project(name: str, kind: str, annotations_per_item: int, lines: list[dict], members: list) -> tuple:
    project, created = Project.objects.get_or_create(name=name, defaults={
        "kind": kind, "annotations_per_item": annotations_per_item,
        "guidelines": "Answered by simulated annotators for the training demo."})
    lead = get_user_model().objects.filter(username="lead").first()
    if lead:
        Membership.objects.get_or_create(user=lead, project=project, defaults={"role": Membership.Role.LEAD})
    for user in members:
        Membership.objects.get_or_create(user=user, project=project, defaults={"role": Membership.Role.ANNOTATOR})
    if created:
        raw = list(enumerate(lines, start=1))
        items_import(project=project, lines=importing.validate_lines(
            raw, kind=project.kind, responses_per_item=project.responses_per_item))
    return project, created


def _answer_all(project: Project, user, payload_for) -> None:
    """The simulated annotator works through the queue like a person: next, then submit."""
    while (lease := assignment_next(project=project, user=user)) is not None:
        annotation_submit(assignment_id=lease.pk, user=user, payload=payload_for(lease))


def _pairwise_lines() -> list[dict]:
    lines = []
    for row in map(json.loads, (DATA / "pairwise.jsonl").read_text(encoding="utf-8").splitlines()):
        hint = row["metadata"].get("quality_hint")
        if hint in (None, "tie"):
            continue
        lines.append({**row, "external_id": f"train-{row['external_id']}"})
    return lines


class Command(BaseCommand):
    help = "Register the demo's models and create two answered projects with ready snapshots (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--skip-models", action="store_true", help="only the answered projects and snapshots")

    def handle(self, skip_models=False, **options):
        if not skip_models:
            call_command("import_builtin_models", stdout=self.stdout)
            if not Model.objects.filter(name=TINY).exists():
                call_command("create_tiny_model", TINY, stdout=self.stdout)
        simulated = [(_user(name), accuracy) for name, accuracy in SIMULATED]
        rng = random.Random(2026)
        lines = _pairwise_lines()
        better = {line["external_id"]: int(line["metadata"]["quality_hint"]) for line in lines}

        project, created = _project(PREFERENCES, "pairwise", 3, lines, [u for u, _ in simulated])
        if created:
            for user, accuracy in simulated:
                def prefer(lease, accuracy=accuracy):
                    external_id = project.prompts.get(items__id=lease.item_id).external_id
                    right = better[external_id] if rng.random() < accuracy else 1 - better[external_id]
                    return {"chosen": lease.response_ids[right], "strength": rng.choice((1, 2, 3))}

                _answer_all(project, user, prefer)
            self._snapshot(project)

        demos = [{"external_id": f"sft-{line['external_id']}", "conversation": line["conversation"]} for line in lines]
        replies = {f"sft-{line['external_id']}": line["responses"][better[line["external_id"]]]["text"]
                   for line in lines}
        project, created = _project(DEMONSTRATIONS, "demonstration", 1, demos, [simulated[0][0]])
        if created:
            _answer_all(project, simulated[0][0], lambda lease: {
                "text": replies[project.prompts.get(items__id=lease.item_id).external_id]})
            self._snapshot(project)

    def _snapshot(self, project: Project) -> None:
        if project.snapshots.filter(state=DatasetSnapshot.State.READY).exists():
            return
        admin = get_user_model().objects.filter(is_staff=True).order_by("id").first()
        snapshot = snapshot_create(project=project, created_by=admin, enqueue=False, test_fraction=0.2, seed=0)
        snapshot = snapshot_build(snapshot_id=snapshot.pk)
        self.stdout.write(f"{project.name}: snapshot {snapshot.pk} {snapshot.state} ({snapshot.counts.get('items')} items)")
