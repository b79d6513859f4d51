"""Load the demo: five users, and a pairwise, a ranking and a demonstration project.

Safe to run again: existing users, projects and items are kept as they are.
"""

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from annotation import importing
from annotation.models import Item, Membership, Project
from annotation.services.imports import items_import
from annotation.services.projects import item_set_gold

DEMO_PASSWORD = "rlhf-demo-2026"
DATA = Path(__file__).resolve().parents[2] / "demo_data"

PAIRWISE_GUIDELINES = """\
## Which response is better?

Read the whole conversation, then both responses. Prefer the response that is
**helpful** (answers what was asked, correctly and completely), **harmless** (declines
dangerous requests, offers safe alternatives) and **honest** (no invented facts).

- **1 / 7**: one response is much better. **2 / 6**: clearly better. **3 / 5**: slightly better.
- **4**: a genuine tie. Use *both bad* when neither response is acceptable.
- Length is not quality: a short correct answer beats a long wrong one.
"""
RANKING_GUIDELINES = """\
## Rank the four candidates, best first

Judge correctness first, then helpfulness, then clarity. Unsafe compliance with a harmful
request ranks last. Press a number to pick a card, arrows to move it, Enter to submit.
"""
DEMO_GUIDELINES = """\
## Write the ideal assistant reply

Answer as a careful expert would: correct, complete, no longer than needed. Use markdown
and fenced code blocks for code. For risky requests, help safely or explain why not.
"""

PROJECTS = [
    {"name": "Demo: pairwise preferences", "kind": Project.Kind.PAIRWISE, "file": "pairwise.jsonl",
     "guidelines": PAIRWISE_GUIDELINES, "annotations_per_item": 3, "gold_ratio": 0.1},
    {"name": "Demo: rank four candidates", "kind": Project.Kind.RANKING, "file": "ranking.jsonl", "ranking_size": 4,
     "guidelines": RANKING_GUIDELINES, "annotations_per_item": 3, "gold_ratio": 0.0},
    {"name": "Demo: write demonstrations", "kind": Project.Kind.DEMONSTRATION, "file": "demonstration.jsonl",
     "guidelines": DEMO_GUIDELINES, "annotations_per_item": 2, "gold_ratio": 0.0},
]
USERS = [("admin", True), ("lead", False), ("alice", False), ("bob", False), ("carol", False)]
ANNOTATORS = ["alice", "bob", "carol"]


def _user(username: str, staff: bool):
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User.objects.create_user(username, f"{username}@example.org", DEMO_PASSWORD,
                                        is_staff=staff, is_superuser=staff)
    return user


def _mark_gold(project: Project, count: int) -> None:
    """The first few items whose intended answer is clear become gold, from the demo's quality hints."""
    for item in Item.objects.filter(project=project).select_related("prompt", "project").order_by("id")[:count * 3]:
        hint = item.prompt.metadata.get("quality_hint")
        if count == 0 or hint in (None, "tie"):
            continue
        better = item.response_ids[int(hint)]
        item_set_gold(item=item, is_gold=True, expected={"chosen": better, "strength": 2})
        count -= 1


class Command(BaseCommand):
    help = "Create the demo users and projects (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        users = {name: _user(name, staff) for name, staff in USERS}
        for spec in PROJECTS:
            spec = dict(spec)
            data_file = DATA / spec.pop("file")
            project, created = Project.objects.get_or_create(name=spec["name"], defaults={**spec, "created_by": users["admin"]})
            for name, role in [("lead", Membership.Role.LEAD), *((n, Membership.Role.ANNOTATOR) for n in ANNOTATORS)]:
                Membership.objects.get_or_create(user=users[name], project=project, defaults={"role": role})
            raw = importing.raw_lines_from_jsonl(data_file.read_text(encoding="utf-8"))
            lines = importing.validate_lines(raw, kind=project.kind, responses_per_item=project.responses_per_item)
            result = items_import(project=project, lines=lines)
            if created and project.kind == Project.Kind.PAIRWISE:
                _mark_gold(project, 3)
            self.stdout.write(f"{project.name}: {result['created']} new items, {result['skipped']} already there")
        self.stdout.write(json.dumps({"logins": [u for u, _ in USERS], "password": DEMO_PASSWORD}))
