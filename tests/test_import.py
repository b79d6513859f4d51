import io
import json

import pytest
from django.core.management import CommandError, call_command

from annotation.models import Item, Prompt, Response

from . import factories


def upload(client, project, name: str, data: bytes):
    f = io.BytesIO(data)
    f.name = name
    return client.post(f"/api/projects/{project.id}/import/", {"file": f}, format="multipart")


def post_items(client, project, items):
    return client.post(f"/api/projects/{project.id}/import/", {"items": items}, format="json")


@pytest.fixture
def empty_pairwise(db, lead):
    return factories.project("pairwise", members={lead: "lead"})


def test_it_imports_a_json_body_with_prompts_responses_and_items(api, lead, empty_pairwise):
    body = factories.lines(empty_pairwise, 3)
    body[0]["metadata"] = {"topic": "math"}
    r = post_items(api(lead), empty_pairwise, body)
    assert r.status_code == 201, r.json()
    assert r.json() == {"created": 3, "skipped": 0, "skipped_ids": []}
    prompt = Prompt.objects.get(project=empty_pairwise, external_id="p-0")
    assert prompt.conversation == [{"role": "user", "content": "Question number 0: what is 0 + 0?"}]
    assert prompt.metadata == {"topic": "math"}
    item = Item.objects.get(prompt=prompt)
    stored = [Response.objects.get(pk=rid).text for rid in item.response_ids]
    assert stored == ["Answer 0 to 0", "Answer 1 to 0 long"]
    assert item.open_slots == empty_pairwise.annotations_per_item


def test_it_imports_a_jsonl_upload_with_multi_turn_conversations(api, lead, empty_pairwise):
    lines = [
        {"external_id": "a", "conversation": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                                                {"role": "user", "content": "sum 2+2"}],
         "responses": [{"text": "4", "model": "m1"}, {"text": "5", "model": "m2"}]},
        {"external_id": "b", "prompt": "one turn", "responses": [{"text": "x"}, {"text": "y"}]},
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    r = upload(api(lead), empty_pairwise, "items.jsonl", data)
    assert r.status_code == 201, r.json()
    assert Prompt.objects.get(external_id="a").conversation[-1] == {"role": "user", "content": "sum 2+2"}
    assert Response.objects.filter(prompt__external_id="a").order_by("id").first().model_name == "m1"


def test_it_imports_a_csv_upload(api, lead, empty_pairwise):
    data = b'external_id,prompt,response_1,model_1,response_2,model_2,metadata\n' \
           b'c1,"What is 2+2?",4,sft,5,base,"{""t"": 1}"\n' \
           b'c2,"Name a colour","Blue",sft,"Seven",base,\n'
    r = upload(api(lead), empty_pairwise, "items.csv", data)
    assert r.status_code == 201, r.json()
    assert r.json()["created"] == 2
    assert Prompt.objects.get(external_id="c1").metadata == {"t": 1}


def test_a_bad_line_writes_nothing_and_names_its_line_and_field(api, lead, empty_pairwise):
    body = factories.lines(empty_pairwise, 12)
    body[11]["responses"].append({"text": "a third"})
    r = post_items(api(lead), empty_pairwise, body)
    assert r.status_code == 400
    assert r.json() == {"errors": [{"line": 12, "field": "responses",
                                    "message": "a pairwise project needs exactly 2 responses, got 3"}]}
    assert Prompt.objects.count() == 0 and Item.objects.count() == 0


def test_reimporting_an_external_id_skips_it_and_reports_it(api, lead, empty_pairwise):
    post_items(api(lead), empty_pairwise, factories.lines(empty_pairwise, 3))
    r = post_items(api(lead), empty_pairwise, factories.lines(empty_pairwise, 5))
    assert r.status_code == 201
    assert r.json() == {"created": 2, "skipped": 3, "skipped_ids": ["p-0", "p-1", "p-2"]}
    assert Item.objects.filter(project=empty_pairwise).count() == 5


@pytest.mark.parametrize(
    "name, data, line, field, message_part",
    [
        ("x.jsonl", b'{"external_id": "a", "prompt": "q", "responses": [{"text": "1"}, {"text": "2"}]}\n{"external_id": ',
         2, "line", "malformed JSON"),
        ("x.jsonl", '{"external_id": "é"}'.encode("latin-1"), 1, "file", "UTF-8"),
        ("x.jsonl", b"", None, "file", "the file is empty"),  # the whole file: no line
        ("x.jsonl", b"\n\n", None, "file", "the file is empty"),
        ("x.jsonl", b'{"prompt": "q", "responses": [{"text": "1"}, {"text": "2"}]}', 1, "external_id", "required"),
        ("x.jsonl", b'{"external_id": "a", "responses": [{"text": "1"}, {"text": "2"}]}', 1, "conversation", "required"),
        ("x.jsonl", b'{"external_id": "a", "prompt": 5, "responses": [{"text": "1"}, {"text": "2"}]}', 1, "prompt", "text"),
        ("x.jsonl", b'{"external_id": "a", "prompt": "q", "responses": "no"}', 1, "responses", "list"),
        ("x.jsonl", b'{"external_id": "a", "prompt": "q", "responses": [{"text": ""}, {"text": "2"}]}', 1, "responses[0].text", "non-empty"),
        ("x.jsonl", b'{"external_id": "a", "prompt": "q", "responses": [{"text": "1"}, {"text": "2"}], "metadata": [1]}', 1, "metadata", "object"),
        ("x.jsonl", b'{"external_id": "a", "conversation": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "responses": [{"text": "1"}, {"text": "2"}]}',
         1, "conversation", "last message"),
        ("x.jsonl", b'{"external_id": "a", "conversation": [{"role": "robot", "content": "q"}], "responses": [{"text": "1"}, {"text": "2"}]}',
         1, "conversation[0]", "role"),
        ("x.jsonl", b'{"external_id": "a", "prompt": "q", "responses": [{"text": "1"}, {"text": "2"}], "colour": 1}', 1, "colour", "unknown"),
        ("x.jsonl", b'[1, 2]', 1, "line", "object"),
        ("x.csv", b"id,text\n1,2\n", 1, "header", "external_id"),
    ],
)
def test_each_kind_of_bad_file_gets_its_own_clear_error(api, lead, empty_pairwise, name, data, line, field, message_part):
    r = upload(api(lead), empty_pairwise, name, data)
    assert r.status_code == 400, r.json()
    error = r.json()["errors"][0]
    assert (error["line"], error["field"]) == (line, field)
    assert message_part.lower() in error["message"].lower()
    assert Prompt.objects.count() == 0


def test_duplicate_ids_inside_one_file_name_both_lines(api, lead, empty_pairwise):
    body = factories.lines(empty_pairwise, 3)
    body[2]["external_id"] = "p-0"
    r = post_items(api(lead), empty_pairwise, body)
    assert r.json()["errors"] == [{"line": 3, "field": "external_id", "message": "duplicate id 'p-0' (first on line 1)"}]


def test_a_file_over_the_size_limit_is_refused(api, lead, empty_pairwise, settings):
    settings.IMPORT_MAX_BYTES = 1000
    r = upload(api(lead), empty_pairwise, "big.jsonl", b"x" * 2000)
    assert r.status_code == 413
    assert "limit" in r.json()["errors"][0]["message"]


def test_demonstration_and_ranking_projects_check_their_response_counts(api, lead):
    demo = factories.project("demonstration", members={lead: "lead"})
    ranking = factories.project("ranking", ranking_size=3, members={lead: "lead"})
    r = post_items(api(lead), demo, [{"external_id": "d", "prompt": "q", "responses": [{"text": "x"}]}])
    assert r.json()["errors"][0]["message"] == "a demonstration project takes no responses, got 1"
    r = post_items(api(lead), demo, [{"external_id": "d", "prompt": "q"}])
    assert r.status_code == 201
    assert Item.objects.get(project=demo).response_ids == []
    r = post_items(api(lead), ranking, factories.lines(factories.project("pairwise"), 1))
    assert r.json()["errors"][0]["message"] == "a ranking project needs exactly 3 responses, got 2"


def test_only_leads_and_admins_import(api, annotator, outsider, admin_user, empty_pairwise):
    factories.project  # noqa: B018
    from annotation.models import Membership

    Membership.objects.create(user=annotator, project=empty_pairwise, role="annotator")
    body = factories.lines(empty_pairwise, 1)
    assert post_items(api(annotator), empty_pairwise, body).status_code == 404
    assert post_items(api(outsider), empty_pairwise, body).status_code == 404
    assert post_items(api(admin_user), empty_pairwise, body).status_code == 201


def test_the_import_command_reports_errors_by_line_and_imports_good_files(tmp_path, empty_pairwise, capsys):
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(json.dumps(x) for x in factories.lines(empty_pairwise, 4)))
    call_command("import_items", str(empty_pairwise.id), str(good))
    assert "created 4, skipped 0" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"external_id": "z", "prompt": "q", "responses": [{"text": "1"}]}\n')
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_items", empty_pairwise.name, str(bad))
    assert "bad.jsonl:1: responses: a pairwise project needs exactly 2 responses, got 1" in capsys.readouterr().err
    assert Item.objects.filter(project=empty_pairwise).count() == 4
