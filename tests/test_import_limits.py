"""Per-field text caps on imported lines, the preview, and the statistics a bulk import leaves behind."""

import io
import json

import pytest
from django.db import connection

from annotation.models import Item, Prompt, Response
from annotation.services.imports import ANALYZE_AFTER

from . import factories
from .conftest import wait_for
from .test_import import post_items, upload

TABLES = [model._meta.db_table for model in (Prompt, Response, Item)]


@pytest.fixture
def project(db, lead):
    return factories.project("pairwise", members={lead: "lead"})


def line(**fields) -> dict:
    return {"external_id": "a", "prompt": "q", "responses": [{"text": "one"}, {"text": "two"}], **fields}


def assert_refused(r, field, message_part):
    assert r.status_code == 400, r.content[:300]
    assert r.json()["errors"][0]["field"] == field, r.json()
    assert r.json()["errors"][0]["line"] == 2, r.json()
    assert message_part in r.json()["errors"][0]["message"], r.json()
    assert not Prompt.objects.exists()


@pytest.mark.parametrize("setting, fields, field, message", [
    ("IMPORT_MAX_TURN_CHARS", {"prompt": "x" * 11}, "prompt", "is 11 characters; the limit is 10 (IMPORT_MAX_TURN_CHARS)"),
    ("IMPORT_MAX_TURN_CHARS", {"prompt": None, "conversation": [{"role": "user", "content": "x" * 11}]},
     "conversation[0].content", "is 11 characters; the limit is 10"),
    ("IMPORT_MAX_RESPONSE_CHARS", {"responses": [{"text": "one"}, {"text": "y" * 11}]}, "responses[1].text",
     "is 11 characters; the limit is 10 (IMPORT_MAX_RESPONSE_CHARS)"),
    ("IMPORT_MAX_METADATA_BYTES", {"metadata": {"k": "abcdef"}}, "metadata",
     "is 14 bytes as JSON; the limit is 10 (IMPORT_MAX_METADATA_BYTES)"),
    ("IMPORT_MAX_ID_CHARS", {"external_id": "a" * 11}, "external_id", "text of 1..10 characters (IMPORT_MAX_ID_CHARS)"),
])
def test_text_past_a_configured_cap_is_refused_naming_line_field_and_setting(api, lead, project, settings, setting,
                                                                             fields, field, message):
    setattr(settings, setting, 10)
    obj = {k: v for k, v in line(**fields).items() if v is not None}
    ok = line(external_id="ok", prompt="short", responses=["one", "two"], metadata={"k": 1})
    assert_refused(post_items(api(lead), project, [ok, obj]), field, message)
    data = (json.dumps(ok) + "\n" + json.dumps(obj) + "\n").encode()
    assert_refused(upload(api(lead), project, "x.jsonl", data), field, message)
    setattr(settings, setting, 1000)
    assert post_items(api(lead), project, [ok, obj]).status_code == 201


def test_a_line_past_the_line_limit_is_refused_without_being_held_whole(api, lead, project, settings):
    settings.IMPORT_MAX_LINE_BYTES = 1024
    huge = json.dumps(line(external_id="huge", prompt="x" * 5000))
    data = "\n".join([json.dumps(line(external_id="ok")), huge, json.dumps(line(external_id="after", prompt="{"))])
    r = upload(api(lead), project, "x.jsonl", data.encode())
    assert r.status_code == 400
    assert r.json()["errors"] == [{"line": 2, "field": "line", "message": "is longer than 1,024 bytes (IMPORT_MAX_LINE_BYTES)"}]
    assert not Prompt.objects.exists()


def test_the_defaults_take_long_real_texts(api, lead, project):
    obj = line(prompt="p" * 100_000, responses=["r" * 100_000, "s" * 100_000], metadata={"notes": "m" * 60_000})
    assert post_items(api(lead), project, [obj]).status_code == 201


def test_every_problem_of_a_file_is_reported_at_once_up_to_100_then_counted(api, lead, project):
    bad = [line(external_id=f"b{i}", responses=["only one"]) for i in range(150)]
    r = post_items(api(lead), project, [line(external_id="ok"), *bad])
    errors = r.json()["errors"]
    assert len(errors) == 101
    assert [e["line"] for e in errors[:100]] == list(range(2, 102))
    assert errors[100] == {"line": None, "field": "file", "message": "and 50 more errors not listed: the first 100 are"}
    assert not Prompt.objects.exists()


def preview(client, project, **kwargs):
    return client.post(f"/api/projects/{project.id}/import/preview/", **kwargs)


def test_the_preview_gives_counts_and_first_rows_and_writes_nothing(api, lead, project):
    factories.items(project, 2)  # p-0 and p-1 are there already
    body = factories.lines(project, 15)
    r = preview(api(lead), project, data={"items": body}, format="json")
    assert r.status_code == 200, r.content[:300]
    out = r.json()
    assert (out["ok"], out["created"], out["skipped"], out["skipped_ids"], out["errors"]) == (True, 13, 2, ["p-0", "p-1"], [])
    assert [row["external_id"] for row in out["rows"]] == [f"p-{i}" for i in range(10)]
    assert out["rows"][3]["responses"] == [{"text": "Answer 0 to 3", "model": "m0"}, {"text": "Answer 1 to 3 long", "model": "m1"}]
    assert Prompt.objects.count() == 2


def test_the_preview_of_a_bad_file_lists_every_problem_and_the_rows_before_the_first(api, lead, project):
    lines = [line(external_id="a"), line(external_id="b", responses=["x"]), line(external_id="a"), "not an object"]
    f = io.BytesIO("\n".join(json.dumps(x) for x in lines).encode())
    f.name = "x.jsonl"
    r = preview(api(lead), project, data={"file": f}, format="multipart")
    assert r.status_code == 200
    out = r.json()
    assert (out["ok"], out["created"], out["error_count"]) == (False, None, 3)
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(2, "responses"), (3, "external_id"), (4, "line")]
    assert [row["external_id"] for row in out["rows"]] == ["a"]
    assert not Prompt.objects.exists()


def test_the_preview_is_for_the_projects_leads_only(api, annotator, outsider, pairwise_project):
    for user in (annotator, outsider):
        assert preview(api(user), pairwise_project, data={"items": []}, format="json").status_code == 404


def analyze_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname = ANY(%s)", [TABLES])
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_bulk_import_analyzes_the_tables_it_filled(requires_postgres, api, lead):
    project = factories.project("pairwise", members={lead: "lead"})
    before = analyze_counts()
    assert post_items(api(lead), project, factories.lines(project, ANALYZE_AFTER)).status_code == 201
    wait_for(lambda: all(analyze_counts().get(t, 0) > before.get(t, 0) for t in TABLES), timeout=30,
             what=f"analyze_count to grow on {TABLES}")


@pytest.mark.django_db(transaction=True)
def test_an_import_small_against_its_tables_analyzes_only_the_items(requires_postgres, api, lead):
    """The prompts' and responses' statistics (mostly about texts) are left to autovacuum when an import adds less
    than a tenth of what the tables hold; the items' (projects, counters) are refreshed after every bulk import."""
    big = factories.project("pairwise", members={lead: "lead"})
    assert post_items(api(lead), big, factories.lines(big, 11 * ANALYZE_AFTER)).status_code == 201
    item, prompt = (model._meta.db_table for model in (Item, Prompt))
    wait_for(lambda: analyze_counts().get(prompt, 0) > 0, timeout=30, what="the first import's ANALYZE")
    before = analyze_counts()
    small = factories.project("pairwise", members={lead: "lead"})
    assert post_items(api(lead), small, factories.lines(small, ANALYZE_AFTER)).status_code == 201
    wait_for(lambda: analyze_counts().get(item, 0) > before.get(item, 0), timeout=30, what="the items' ANALYZE")
    assert analyze_counts()[prompt] == before[prompt]
