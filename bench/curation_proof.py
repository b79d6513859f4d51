"""Proof that curation helps: simulated annotators of known accuracy answer through the API.

Each item has a known better response. Reliable, noisy and one adversarial annotator loop
`next` -> `submit` like people would; then Dawid-Skene's reliability estimates are compared
with each annotator's true accuracy, and the curated consensus with the raw majority.

    .venv/bin/python bench/curation_proof.py --items 400

(uses DATABASE_URL or the embedded SQLite; creates its own project and users).
"""

import argparse
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ANNOTATORS = [  # (name, probability of choosing the truly better response)
    ("reliable-1", 0.92), ("reliable-2", 0.90), ("reliable-3", 0.88),
    ("noisy-1", 0.70), ("noisy-2", 0.65), ("noisy-3", 0.60),
    ("adversarial", 0.20),
]
CURATION = {"consensus": "dawid_skene", "min_annotator_reliability": 0.6}


@dataclass
class Simulated:
    username: str
    accuracy: float


def import_lines(n_items: int, rng: random.Random) -> list[dict]:
    lines = []
    for i in range(n_items):
        better = rng.randrange(2)
        texts = [f"Response {j} to question {i}." + (" It is correct and complete." if j == better else " It is wrong.")
                 for j in range(2)]
        lines.append({"external_id": f"sim-{i}", "prompt": f"Simulated question {i}?",
                      "responses": [{"text": t, "model": "sim"} for t in texts], "metadata": {"truth": better}})
    return lines


def annotate_until_done(clients: dict, project_id: int, annotators: list[Simulated], truth: dict[int, int],
                        rng: random.Random) -> int:
    """Round-robin next -> submit through the API until every annotator gets 204. Returns answers stored."""
    active, stored = list(annotators), 0
    while active:
        for person in list(active):
            client = clients[person.username]
            r = client.post(f"/api/projects/{project_id}/next/")
            if r.status_code == 204:
                active.remove(person)
                continue
            data = r.json()
            item = data["item"]["id"]
            ids = sorted(x["id"] for x in data["item"]["responses"])  # stored order = creation order
            better = ids[truth[item]]
            chosen = better if rng.random() < person.accuracy else next(x for x in ids if x != better)
            s = client.post(f"/api/assignments/{data['assignment']}/submit/",
                            {"chosen": chosen, "strength": rng.choice([1, 2, 3])}, format="json")
            assert s.status_code == 201, s.content
            stored += 1
    return stored


def item_truth(project) -> dict[int, int]:
    from annotation.models import Item

    rows = Item.objects.filter(project=project).values_list("id", "prompt__metadata")
    return {item: meta["truth"] for item, meta in rows}


def true_direction(truth: int) -> int:
    return -1 if truth == 0 else 1  # canonical: negative = the first stored response is better


def empirical_accuracy(project, truth: dict[int, int]) -> dict[str, float]:
    from annotation.models import Annotation

    hits: dict[str, list[int]] = {}
    for username, item, pref in Annotation.objects.filter(project=project).values_list(
            "annotator__username", "item_id", "preference"):
        hits.setdefault(username, []).append(int((pref > 0) - (pref < 0) == true_direction(truth[item])))
    return {u: sum(h) / len(h) for u, h in hits.items()}


def majority_accuracy(project, truth: dict[int, int]) -> float:
    from annotation.models import Annotation

    votes: dict[int, int] = {}
    for item, pref in Annotation.objects.filter(project=project).values_list("item_id", "preference"):
        votes[item] = votes.get(item, 0) + ((pref > 0) - (pref < 0))
    right = [((v > 0) - (v < 0)) == true_direction(truth[i]) for i, v in votes.items()]
    return sum(right) / len(right)


def curated_accuracy(project, truth: dict[int, int]) -> tuple[float, int]:
    from annotation.services.curation import curation_apply

    curated = curation_apply(project=project, rules=CURATION)
    result = curated.result
    right = [int(c) == true_direction(truth[int(i)]) for i, c in zip(result.items, result.consensus, strict=True)]
    return sum(right) / len(right), len(right)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--overlap", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from annotation.importing import validate_lines
    from annotation.models import Project
    from annotation.services.imports import items_import
    from annotation.services.quality import DEFAULT_FILTERS, agreement_compute

    rng = random.Random(args.seed)
    tag = f"{args.seed}-{rng.randrange(10**6)}"
    project = Project.objects.create(name=f"curation proof {tag}", kind="pairwise", annotations_per_item=args.overlap)
    raw = list(enumerate(import_lines(args.items, rng), start=1))
    items_import(project=project, lines=validate_lines(raw, kind="pairwise", responses_per_item=2))
    people, clients = [], {}
    for name, accuracy in ANNOTATORS:
        user = get_user_model().objects.create_user(f"{name}-{tag}")
        project.memberships.create(user=user, role="annotator")
        client = APIClient(SERVER_NAME="localhost")
        client.force_authenticate(user)
        people.append(Simulated(user.username, accuracy))
        clients[user.username] = client
    truth = item_truth(project)
    stored = annotate_until_done(clients, project.id, people, truth, rng)
    report, _ = agreement_compute(project, DEFAULT_FILTERS)
    estimated = {row["annotator"]: row["ds_reliability"] for row in report["annotators"]}
    actual = empirical_accuracy(project, truth)
    print(f"{args.items} items x overlap {args.overlap}, {stored} answers through the API\n")
    print("| annotator | simulated p | actual accuracy | Dawid-Skene reliability | error |")
    print("|---|---|---|---|---|")
    for person in people:
        a, e = actual[person.username], estimated[person.username]
        print(f"| {person.username.rsplit('-', 2)[0]} | {person.accuracy:.2f} | {a:.3f} | {e:.3f} | {e - a:+.3f} |")
    cur, kept = curated_accuracy(project, truth)
    print(f"\nraw majority right on {majority_accuracy(project, truth):.3f} of {len(truth)} items; "
          f"curated ({CURATION}) right on {cur:.3f} of {kept} kept items")


if __name__ == "__main__":
    main()
