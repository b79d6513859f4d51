"""Small builders for test data. They go through the same services the API uses."""

from itertools import count

from django.contrib.auth import get_user_model

from annotation.importing import validate_lines
from annotation.models import Membership, Project
from annotation.services.imports import items_import

_seq = count(1)
PASSWORD = "test-password-123"


def user(username: str | None = None, *, staff: bool = False):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username, f"{username}@example.org", PASSWORD, is_staff=staff)


def project(kind: str = "pairwise", *, members: dict | None = None, **fields) -> Project:
    if kind == "ranking":
        fields.setdefault("ranking_size", 4)
    p = Project.objects.create(name=fields.pop("name", f"project {next(_seq)}"), kind=kind, **fields)
    for member, role in (members or {}).items():
        Membership.objects.create(user=member, project=p, role=role)
    return p


def lines(project: Project, n: int, *, start: int = 0) -> list[dict]:
    k = project.responses_per_item
    return [
        {
            "external_id": f"p-{i}",
            "prompt": f"Question number {i}: what is {i} + {i}?",
            **({"responses": [{"text": f"Answer {j} to {i}" + " long" * j, "model": f"m{j}"} for j in range(k)]} if k else {}),
        }
        for i in range(start, start + n)
    ]


def items(project: Project, n: int, *, start: int = 0) -> dict:
    raw = list(enumerate(lines(project, n, start=start), start=1))
    return items_import(project=project, lines=validate_lines(raw, kind=project.kind, responses_per_item=project.responses_per_item))
