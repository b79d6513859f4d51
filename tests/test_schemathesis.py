"""Our own OpenAPI schema (drf-spectacular, /api/schema/) thrown at a live server by schemathesis, as each role.

Every operation, as anonymous, annotator, lead and admin, with a bounded number of generated requests (valid by
the schema; the hardening tests cover malformed ones): no response is a server error, and each one conforms to
the schema (a documented status code, its content type, its body). The live server runs on this run's throwaway
test database, which the requests edit freely. Two requests in three aim at real objects (a pairwise and a
demonstration project that the lead leads and the annotator annotates, an item, a lease, an answer, a snapshot, a
victim user): random ids alone would meet only 404s. The testing users have ids no generated request names, so
that no admin call deactivates them, and nothing needs to be left out.
"""

import itertools
import os

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from annotation.models import Annotation, Assignment, Item
from annotation.services.snapshots import snapshot_build, snapshot_create

from . import factories
from .conftest import client_for
from .training.conftest import artifacts  # noqa: F401 (a fixture: snapshot files in this test's own folder)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))  # per operation and role: ~2 minutes in all
TESTER_IDS = itertools.count(900_001)  # far beyond the ids generated requests use, and those the sequences hand out


def schema_user(username: str, *, staff: bool = False):
    user = get_user_model()(pk=next(TESTER_IDS), username=username, email=f"{username}@example.org", is_staff=staff)
    user.set_password(factories.PASSWORD)
    user.save()
    return user


@pytest.fixture
def world(transactional_db, settings, artifacts):  # noqa: F811
    """The testing users with their tokens, and real objects for half the requests to aim at."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    lead, annotator, admin = (schema_user("schema-lead"), schema_user("schema-annotator"),
                              schema_user("schema-admin", staff=True))
    victim = factories.user("victim")
    project = factories.project("pairwise", members={lead: "lead", annotator: "annotator", victim: "annotator"},
                                annotations_per_item=2)
    factories.items(project, 6)
    ann = client_for(annotator)
    first = ann.post(f"/api/projects/{project.pk}/next/").json()
    ann.post(f"/api/assignments/{first['assignment']}/submit/",
             {"chosen": first["item"]["responses"][0]["id"], "strength": 2}, format="json")
    ann.post(f"/api/projects/{project.pk}/next/")  # a live lease
    demonstrations = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(demonstrations, 3)
    snapshot = snapshot_build(snapshot_id=snapshot_create(project=project, created_by=lead, enqueue=False).pk)
    assert snapshot.state == "ready", snapshot.error
    real = {
        "/api/projects/": [project.pk, demonstrations.pk], "/api/users/": victim.pk, "/api/snapshots/": snapshot.pk,
        "/api/assignments/": Assignment.objects.filter(annotator=annotator, status="leased").get().pk,
        "/api/me/annotations/": Annotation.objects.get(annotator=annotator).pk,
        "item_id": Item.objects.filter(project=project).first().pk, "username": victim.username,
        "name": snapshot.files[0]["name"],
    }
    tokens = {user: Token.objects.create(user=user).key for user in (lead, annotator, admin)}
    roles = {"anonymous": {}, **{user.username.removeprefix("schema-"): {"Authorization": f"Token {key}"}
                                 for user, key in tokens.items()}}
    return roles, real


def aim_at_real_objects(case, real: dict, choice: int) -> None:
    """Point the case's path at real objects; where there are several (the projects), the `choice`-th."""
    def pick(value):
        return str(value[choice % len(value)] if isinstance(value, list) else value)

    for name in list(case.path_parameters or {}):
        if name == "id":
            prefix = next((p for p in real if p.startswith("/") and case.path.startswith(p)), None)
            if prefix is not None:
                case.path_parameters["id"] = pick(real[prefix])
        elif name in real:
            case.path_parameters[name] = pick(real[name])


def exercise(operation, base_url: str, headers: dict, real: dict) -> str | None:
    """Run one operation's examples; the first failure, if any, and how many examples failed."""
    found = []

    @given(case=operation.as_strategy(), aimed=st.sampled_from([None, 0, 1]))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(case, aimed):
        if aimed is not None:
            aim_at_real_objects(case, real, aimed)
        try:
            case.call_and_validate(base_url=base_url, headers=headers, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:  # collected: one run reports every failing operation
            found.append(str(exc).strip()[:1500])

    run()
    return f"{operation.label} ({len(found)} failing examples): {found[0]}" if found else None


def test_every_operation_as_every_role_answers_no_server_error_and_matches_the_schema(world, live_server):
    roles, real = world
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    failures = []
    for role, headers in roles.items():
        for result in schema.get_all_operations():
            failure = exercise(result.ok(), live_server.url, headers, real)
            if failure:
                failures.append(f"[{role}] {failure}")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)
