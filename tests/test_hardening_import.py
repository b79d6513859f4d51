"""Hostile import files: every problem is a 400 naming its line and field, and nothing is written."""

import json

import pytest

from annotation.models import Item, Prompt

from . import factories
from .test_hardening_json import nested
from .test_import import post_items, upload


@pytest.fixture
def project(db, lead):
    return factories.project("pairwise", members={lead: "lead"})


def line(**fields) -> dict:
    return {"external_id": "a", "prompt": "q", "responses": [{"text": "one"}, {"text": "two"}], **fields}


def jsonl(*objects) -> bytes:
    return "\n".join(json.dumps(o) for o in objects).encode()


def assert_refused(r, line_number, field, message_part):
    assert r.status_code == 400, r.content[:300]
    error = r.json()["errors"][0]
    assert (error.get("line"), error["field"]) == (line_number, field), error
    assert message_part in error["message"], error
    assert not Prompt.objects.exists() and not Item.objects.exists()


@pytest.mark.parametrize("levels", [65, 300, 1000])  # past 255 the writer failed (500), orjson reads up to 1024
def test_metadata_nested_past_64_levels_is_refused_in_a_body_and_in_a_jsonl_file(api, lead, project, levels):
    deep = json.dumps(line()).replace('"prompt"', '"metadata": {"tree": ' + "[" * levels + "]" * levels + '}, "prompt"')
    body = '{"items": [' + json.dumps(line(external_id="ok")) + ", " + deep + "]}"
    r = api(lead).post(f"/api/projects/{project.id}/import/", body, content_type="application/json")
    assert_refused(r, 2, "metadata", "nests deeper than 64 levels")
    assert_refused(upload(api(lead), project, "x.jsonl", deep.encode()), 1, "metadata", "nests deeper than 64 levels")


def test_metadata_nested_64_levels_deep_is_stored(api, lead, project):
    r = post_items(api(lead), project, [line(metadata={"tree": nested(62)})])  # line, metadata, 62 lists: 64
    assert r.status_code == 201, r.json()
    assert Prompt.objects.get().metadata == {"tree": nested(62)}


def test_json_nested_past_what_a_parser_can_read_is_refused_in_every_format(api, lead, project):
    deep = "[" * 50_000 + "]" * 50_000
    r = api(lead).post(f"/api/projects/{project.id}/import/", '{"items": ' + deep + "}", content_type="application/json")
    assert r.status_code == 400 and "nests deeper than 64 levels" in r.json()["errors"][0]["message"]
    raw_line = '{"external_id": "a", "prompt": "q", "metadata": {"x": ' + deep + "}}"
    assert_refused(upload(api(lead), project, "x.jsonl", raw_line.encode()), 1, "line", "nests deeper")
    assert_refused(upload(api(lead), project, "x.json", ('{"items": [' + raw_line + "]}").encode()), 1, "file",
                   "nests deeper")
    csv_file = ('external_id,prompt,response_1,response_2,metadata\na,q,x,y,"' + deep + '"\n').encode()
    assert_refused(upload(api(lead), project, "x.csv", csv_file), 2, "metadata", "nests deeper")


@pytest.mark.parametrize("fields, field", [
    ({"prompt": "a\u0000b"}, "prompt"),
    ({"external_id": "a\u0000"}, "external_id"),
    ({"responses": [{"text": "one"}, {"text": "t\u0000wo"}]}, "responses[1].text"),
    ({"responses": [{"text": "one", "model": "m\u0000"}, {"text": "two"}]}, "responses[0].model"),
    ({"metadata": {"topic": ["x", "\u0000"]}}, "metadata.topic[1]"),
    ({"prompt": None, "conversation": [{"role": "user", "content": "\u0000"}]}, "conversation[0].content"),
])
def test_a_nul_character_in_any_text_is_refused_naming_its_line_and_field(api, lead, project, fields, field):
    obj = {k: v for k, v in line(**fields).items() if v is not None}
    assert_refused(post_items(api(lead), project, [line(external_id="ok"), obj]), 2, field, "NUL")
    assert_refused(upload(api(lead), project, "x.jsonl", jsonl(obj)), 1, field, "NUL")


def test_a_raw_nul_in_a_csv_cell_is_refused_naming_its_line_and_column(api, lead, project):
    data = b"external_id,prompt,response_1,response_2\nc1,q,four,five\nc2,q,fo\x00ur,five\n"
    assert_refused(upload(api(lead), project, "x.csv", data), 3, "response_1", "NUL")


@pytest.mark.parametrize("roles, field", [
    (["user", "user"], "conversation[1].role"),
    (["user", "assistant", "assistant", "user"], "conversation[2].role"),
    (["assistant", "user"], "conversation[0].role"),
    (["user", "system", "user"], "conversation[1].role"),
    (["system", "system", "user"], "conversation[1].role"),
])
def test_a_conversation_that_does_not_alternate_user_and_assistant_is_refused(api, lead, project, roles, field):
    conversation = [{"role": role, "content": f"turn {i}"} for i, role in enumerate(roles)]
    obj = {"external_id": "a", "conversation": conversation, "responses": [{"text": "one"}, {"text": "two"}]}
    assert_refused(post_items(api(lead), project, [obj]), 1, field, "alternate")


def test_a_conversation_may_open_with_one_system_message(api, lead, project):
    roles = ["system", "user", "assistant", "user"]
    conversation = [{"role": role, "content": f"turn {i}"} for i, role in enumerate(roles)]
    obj = {"external_id": "a", "conversation": conversation, "responses": [{"text": "one"}, {"text": "two"}]}
    assert post_items(api(lead), project, [obj]).status_code == 201


def test_two_identical_responses_in_one_item_are_refused(api, lead, project):
    obj = line(responses=[{"text": "Paris."}, {"text": "Paris. ", "model": "other"}])
    assert_refused(post_items(api(lead), project, [obj]), 1, "responses[1].text", "same text as responses[0]")


def test_a_csv_column_that_is_not_a_numbered_response_is_refused_not_counted(api, lead, project):
    data = b"external_id,prompt,response_1,response_a\nc1,q,four,five\n"
    assert_refused(upload(api(lead), project, "x.csv", data), 1, "response_a", "unknown column")
    data = b"external_id,prompt,response_1,response_2,model_3\nc1,q,four,five,m\n"
    assert_refused(upload(api(lead), project, "x.csv", data), 1, "model_3", "no response_3")
    data = b"external_id,prompt,response_1,response_2,prompt\nc1,q,four,five,q\n"
    assert_refused(upload(api(lead), project, "x.csv", data), 1, "prompt", "twice")


def test_an_unterminated_csv_quote_is_named_with_the_line_it_opens_on(api, lead, project):
    data = b'external_id,prompt,response_1,response_2\nc1,q,four,five\nc2,"What is,4,5\nc3,q,a,b\n'
    assert_refused(upload(api(lead), project, "x.csv", data), 3, "line", "unterminated quote")


def test_csv_records_spanning_lines_are_numbered_by_their_first_line(api, lead, project):
    data = b'external_id,prompt,response_1,response_2\nc1,"two\nlines",four,five\nc2,q,same,same\n'
    assert_refused(upload(api(lead), project, "x.csv", data), 4, "responses[1].text", "same text")


@pytest.mark.parametrize("name, data", [("x.jsonl", b""), ("x.csv", b" \n"), ("x.json", b"\n")])
def test_an_empty_file_says_the_file_is_empty_and_names_no_line(api, lead, project, name, data):
    r = upload(api(lead), project, name, data)
    assert r.status_code == 400
    assert r.json()["errors"] == [{"line": None, "field": "file", "message": "the file is empty: no items to import"}]


def test_an_empty_body_names_its_items(api, lead, project):
    r = post_items(api(lead), project, [])
    assert r.json()["errors"] == [{"line": None, "field": "items", "message": "is empty: no items to import"}]
