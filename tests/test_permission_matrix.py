"""Who reaches what: every /api/ endpoint of the URL conf × seven roles × the methods it allows.

The endpoints come from walking `get_resolver()`, so a new route without a row in MATRIX fails
`test_every_api_endpoint_has_a_row_in_the_matrix`; a row for a route that is gone fails it too.

Conventions:
- What a caller may not see answers 404 (a project, snapshot, job or model outside their reach), a route
  closed to their role as a whole (admin-only) 403, an anonymous caller 401 (`WWW-Authenticate: Token`).
- Writes (POST/PUT/PATCH/DELETE) are sent with a deliberately invalid body where the view checks permission
  before reading the body: 400 then shows the caller got past the permission check, 403/404 that they did not,
  and nothing is written. Where the body is read first (skip) or there is none (DELETE, cancel, retry, next),
  the body is valid and every request runs in a savepoint rolled back afterwards, so no role sees another's
  write. Nothing reaches a worker: enqueues wait for a commit that never comes.
- A format-suffix route (`/api/users.json`) is its route's view under another renderer: it takes its row.
- Lists answer 200 to every signed-in role; VISIBLE says which roles find which object in one, and no 2xx
  answer to an annotator or outsider may carry another person's answers, agreement figures or gold flags.
"""

import re

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from annotation.models import DatasetSnapshot, Response
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next
from training.models import Model, TrainingJob

from . import factories

ROLES = ("anon", "outsider", "other_annotator", "annotator", "other_lead", "lead", "admin")
#                    anon outsider other_ann annotator other_lead lead admin
OPEN = (200,) * 7                                   # no sign-in needed
SIGNED_IN = (401, 200, 200, 200, 200, 200, 200)     # any signed-in user (lists filter what they hold)
MEMBER = (401, 404, 404, 200, 404, 200, 200)        # the project's members and admins
LEAD = (401, 404, 404, 404, 404, 200, 200)          # the project's leads and admins
ADMIN = (401, 403, 403, 403, 403, 403, 200)         # admins only, whatever the object
OWNER = (401, 404, 404, 200, 404, 404, 404)         # the annotator's own assignment or answer, no one else's


def refused(statuses, ok):
    """The same refusals as `statuses`, with `ok` where it allows."""
    return tuple(ok if s == 200 else s for s in statuses)


FILE = "preference-train.jsonl"
MATRIX = {
    # endpoint: {method: (body, expected status per role in ROLES order)}
    "/api/": {"get": (None, SIGNED_IN)},
    "/api/schema/": {"get": (None, OPEN)},
    "/api/docs/": {"get": (None, OPEN)},
    "/api/auth/csrf/": {"get": (None, (204,) * 7)},
    "/api/auth/login/": {"post": ({}, (400,) * 7)},
    "/api/auth/token/": {"post": ({}, (400,) * 7)},
    "/api/auth/logout/": {"post": (None, (204,) * 7)},
    "/api/auth/me/": {"get": (None, SIGNED_IN)},
    "/api/users/": {"get": (None, ADMIN), "post": ({}, refused(ADMIN, 400))},
    "/api/users/{pk}/": {"get": (None, ADMIN), "patch": ({"email": "not-an-address"}, refused(ADMIN, 400))},
    "/api/users/{pk}/deactivate/": {"post": (None, ADMIN)},
    "/api/users/{pk}/reactivate/": {"post": (None, ADMIN)},
    "/api/users/{pk}/password/": {"post": ({}, refused(ADMIN, 400))},
    "/api/audit/": {"get": (None, ADMIN)},
    "/api/projects/": {"get": (None, SIGNED_IN), "post": ({}, refused(ADMIN, 400))},
    "/api/projects/{pk}/": {"get": (None, MEMBER), "patch": ({"gold_ratio": 5}, refused(LEAD, 400))},
    "/api/projects/{pk}/next/": {"post": (None, MEMBER)},
    "/api/projects/{pk}/members/": {"get": (None, LEAD), "post": ({}, refused(LEAD, 400))},
    "/api/projects/{pk}/members/{username}/": {"delete": (None, refused(LEAD, 204))},
    "/api/projects/{pk}/import/": {"post": ({}, refused(LEAD, 400))},
    "/api/projects/{pk}/import/preview/": {"post": ({}, refused(LEAD, 200))},  # 200: the preview lists the problems
    "/api/projects/{pk}/items/": {"get": (None, LEAD)},
    "/api/projects/{pk}/items/{item_id}/": {"get": (None, LEAD)},
    "/api/projects/{pk}/items/{item_id}/gold/": {"post": ({}, refused(LEAD, 400))},
    "/api/projects/{pk}/items/{item_id}/adjudication/": {"put": ({}, refused(LEAD, 400)),
                                                         "delete": (None, refused(LEAD, 204))},
    "/api/projects/{pk}/agreement/": {"get": (None, refused(LEAD, 202))},
    "/api/projects/{pk}/progress/": {"get": (None, LEAD)},
    "/api/projects/{pk}/curation/": {"get": (None, LEAD), "put": ({}, refused(LEAD, 400))},
    "/api/projects/{pk}/curation/preview/": {"post": ({"rules": "none"}, refused(LEAD, 400))},
    "/api/projects/{pk}/snapshots/": {"get": (None, LEAD), "post": ({"test_fraction": "x"}, refused(LEAD, 400))},
    "/api/snapshots/{pk}/": {"get": (None, LEAD)},
    "/api/snapshots/{pk}/files/{name}": {"get": (None, LEAD)},
    "/api/assignments/{pk}/submit/": {"post": ({}, refused(OWNER, 400))},
    "/api/assignments/{pk}/skip/": {"post": ({}, OWNER)},
    "/api/assignments/{pk}/unskip/": {"post": (None, refused(OWNER, 409))},  # the lease is live, not skipped
    "/api/me/skipped/": {"get": (None, SIGNED_IN)},
    "/api/me/annotations/": {"get": (None, SIGNED_IN)},
    "/api/me/annotations/{pk}/": {"get": (None, OWNER), "patch": ({}, refused(OWNER, 400))},
    "/api/projects/{pk}/models/": {"get": (None, LEAD)},
    "/api/projects/{pk}/constitutions/": {"get": (None, LEAD), "post": ({}, refused(LEAD, 400))},
    "/api/projects/{pk}/model-strengths/": {"get": (None, LEAD)},
    "/api/projects/{pk}/lineage/": {"get": (None, LEAD)},
    # Admins launch anything; a lead may start a round into a project they lead (here without a base model: 400).
    "/api/training-jobs/": {"get": (None, SIGNED_IN),
                            "post": ("round", (401, 403, 403, 403, 403, 400, 400))},
    "/api/training-jobs/preview/": {"post": ("round", (401, 403, 403, 403, 403, 400, 400))},
    "/api/training-jobs/kinds/": {"get": (None, SIGNED_IN)},
    "/api/training-jobs/{pk}/": {"get": (None, LEAD)},
    "/api/training-jobs/{pk}/metrics/": {"get": (None, LEAD)},
    "/api/training-jobs/{pk}/log/": {"get": (None, LEAD)},
    "/api/training-jobs/{pk}/cancel/": {"post": (None, refused(ADMIN, 409))},  # the job has failed: nothing to cancel
    "/api/training-jobs/{pk}/retry/": {"post": (None, ADMIN)},
    "/api/models/": {"get": (None, SIGNED_IN)},
    "/api/models/{pk}/": {"get": (None, LEAD)},
}

# In a list that every signed-in role may read: which roles find each object in it.
VISIBLE = {
    "/api/projects/": {"project": {"annotator", "lead", "admin"}},
    "/api/me/annotations/": {"annotation": {"annotator"}, "annotation_of_annotator2": set()},
    "/api/training-jobs/": {"job": {"lead", "admin"}},
    # Trained models: their project's leads; base models (no job): leads of any project, as they launch rounds.
    "/api/models/": {"model": {"lead", "admin"}, "base_model": {"lead", "other_lead", "admin"}},
}
NOT_FOR_ANNOTATORS = {"is_gold", "gold_answer", "agreement", "answers", "annotator", "cohen_kappa", "annotators"}
DOCUMENTATION = {"/api/schema/", "/api/docs/"}  # names every field of the API, for anyone


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


METHODS = {"get", "post", "put", "patch", "delete"}  # HEAD and OPTIONS follow GET and the view's own checks


def _methods(callback) -> set[str]:
    if getattr(callback, "actions", None):  # a viewset route: the router's method → action map
        return set(callback.actions) & METHODS
    return {m for m in METHODS if hasattr(callback.view_class, m)}


def api_endpoints() -> dict[str, set[str]]:
    """Each /api/ route of the URL conf as `/api/projects/{pk}/items/` with its methods; format suffixes folded in."""
    out: dict[str, set[str]] = {}
    for raw, callback in _walk(get_resolver()):
        if not raw.startswith("api/"):
            continue
        if "format>" in raw:  # the route's view under a format suffix: the same permission checks
            continue
        path = raw.replace("^", "").replace("$", "")
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        out.setdefault("/" + path, set()).update(_methods(callback))
    return out


def test_every_api_endpoint_has_a_row_in_the_matrix():
    routes = {path: sorted(methods) for path, methods in api_endpoints().items()}
    table = {path: sorted(methods) for path, methods in MATRIX.items()}
    assert routes == table


def test_the_walk_finds_the_routes_of_both_apps():
    routes = api_endpoints()
    assert routes["/api/projects/{pk}/members/{username}/"] == {"delete"}
    assert routes["/api/training-jobs/{pk}/retry/"] == {"post"}
    assert len(routes) == len(MATRIX) >= 40


@pytest.fixture
def world(db, settings, tmp_path):
    """Project A (pairwise, 3 items) with its lead, two annotators with answers and a lease; project B with its
    own lead and annotator; a ready snapshot of A with its file, a base model, a failed job on the snapshot and
    the model it produced. Rows made directly: no worker, no training."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # seven users a test, no sign-in
    settings.ARTIFACT_ROOT = tmp_path
    users = {"outsider": factories.user("outsider1"), "other_annotator": factories.user("ann-b"),
             "annotator": factories.user("ann1"), "annotator2": factories.user("ann2"),
             "other_lead": factories.user("lead-b"), "lead": factories.user("lead1"),
             "admin": factories.user("admin1", staff=True)}
    a = factories.project("pairwise", members={users["lead"]: "lead", users["annotator"]: "annotator",
                                                users["annotator2"]: "annotator"})
    factories.items(a, 3)
    # No model names: model-strengths has no comparisons to bootstrap, so its allowed calls stay cheap.
    Response.objects.filter(prompt__project=a).update(model_name="")
    b = factories.project("pairwise", members={users["other_lead"]: "lead", users["other_annotator"]: "annotator"})
    factories.items(b, 1)

    def answer(user):
        lease = assignment_next(project=a, user=user)
        annotation, _ = annotation_submit(assignment_id=lease.pk, user=user,
                                          payload={"chosen": lease.response_ids[0], "strength": 2})
        return annotation

    objects = {"project": a, "annotation": answer(users["annotator"]),
               "annotation_of_annotator2": answer(users["annotator2"])}
    objects["lease"] = assignment_next(project=a, user=users["annotator"])
    objects["item"] = a.items.order_by("id").first()

    content = b'{"prompt": [], "chosen": [], "rejected": []}\n'
    snapshot = DatasetSnapshot.objects.create(project=a, state=DatasetSnapshot.State.READY, created_by=users["lead"],
                                              files=[{"name": FILE, "rows": 1, "sha256": "0" * 64,
                                                      "bytes": len(content)}])
    (tmp_path / "snapshots" / str(snapshot.pk)).mkdir(parents=True)
    (tmp_path / "snapshots" / str(snapshot.pk) / FILE).write_bytes(content)
    base = Model.objects.create(name="tiny-base", kind="base", task="causal-lm", source="builtin",
                                storage_prefix="models/tiny-base")
    job = TrainingJob.objects.create(kind="reward", status=TrainingJob.Status.FAILED, snapshot=snapshot,
                                     base_model=base, created_by=users["admin"], error="boom", log_tail="a line")
    trained = Model.objects.create(name="reward-1", kind="reward", task="sequence-classification",
                                   source="trained", storage_prefix="models/reward-1", job=job, parent=base)
    objects.update(snapshot=snapshot, base_model=base, job=job, model=trained, user=users["annotator2"])
    return users, objects


def concrete(path: str, objects) -> str:
    """The endpoint's URL with each placeholder filled from the world."""
    ids = {"projects": objects["project"].pk, "snapshots": objects["snapshot"].pk,
           "training-jobs": objects["job"].pk, "models": objects["model"].pk,
           "assignments": objects["lease"].pk, "annotations": objects["annotation"].pk, "users": objects["user"].pk}
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part == "{pk}":
            parts[i] = str(ids[parts[i - 1]])
    return ("/".join(parts).replace("{item_id}", str(objects["item"].pk)).replace("{username}", "ann2")
            .replace("{name}", FILE))


def body_for(body, objects):
    if body == "round":
        return {"kind": "generate", "config": {"target_project": objects["project"].pk}}
    return body


def keys_in(data) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in keys_in(v)}
    if isinstance(data, list):
        return {k for v in data for k in keys_in(v)}
    return set()


def call(users, role: str, method: str, url: str, body):
    client = APIClient()
    if role != "anon":
        client.force_authenticate(users[role])
    with transaction.atomic():  # each role's write undone before the next role asks
        response = getattr(client, method)(url, body, format="json") if body is not None else \
            getattr(client, method)(url)
        transaction.set_rollback(True)
    return response


ROWS = [(path, method) for path, methods in MATRIX.items() for method in methods]


@pytest.mark.parametrize("path, method", ROWS, ids=[f"{m.upper()} {p}" for p, m in ROWS])
def test_each_role_gets_the_status_the_matrix_says(world, path, method):
    users, objects = world
    body, expected = MATRIX[path][method]
    url = concrete(path, objects)
    got, leaks = {}, {}
    for role in ROLES:
        response = call(users, role, method, url, body_for(body, objects))
        got[role] = response.status_code
        if role == "anon" and response.status_code == 401:
            assert response["WWW-Authenticate"] == "Token"
        if (role in ("outsider", "other_annotator", "annotator") and 200 <= response.status_code < 300
                and path not in DOCUMENTATION and "json" in response.get("Content-Type", "")):
            leaked = keys_in(response.json()) & NOT_FOR_ANNOTATORS
            if leaked:
                leaks[role] = sorted(leaked)
    assert got == dict(zip(ROLES, expected, strict=True)), f"{method.upper()} {url}"
    assert not leaks, f"{method.upper()} {url} shows {leaks}"


@pytest.mark.parametrize("path", sorted(VISIBLE))
def test_a_list_shows_each_role_only_what_it_may_see(world, path):
    users, objects = world
    for name, roles in VISIBLE[path].items():
        seen = set()
        for role in ROLES[1:]:
            response = call(users, role, "get", path, None)
            assert response.status_code == 200, (role, response.json())
            if objects[name].pk in [row["id"] for row in response.json()["results"]]:
                seen.add(role)
        assert seen == roles, f"{path}: {name} is seen by {sorted(seen)}"
