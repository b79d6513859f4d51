"""The malformed-import corpus: each kind of broken file is a 400 naming its line and field, and writes nothing."""

import codecs
import json

import pytest

from annotation.models import Item, Prompt, Response

from . import factories
from .test_hardening_json import nested
from .test_import import upload


def good(i: int = 0, **fields) -> dict:
    return {"external_id": f"g{i}", "prompt": f"question {i}", "responses": [{"text": "one"}, {"text": "two"}], **fields}


def jsonl(*objects) -> bytes:
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objects).encode()


def turns(*roles) -> list[dict]:
    return [{"role": role, "content": f"turn {i}"} for i, role in enumerate(roles)]


CSV_HEAD = "external_id,prompt,response_1,response_2\n"
DEEP = json.dumps(good(1)).replace('"prompt"', '"metadata": {"t": ' + json.dumps(nested(80)) + '}, "prompt"')

# (kind, file name, content, line, field, part of the message)
CORPUS = [
    ("bad JSON", "x.jsonl", jsonl(good(0), '{"external_id": "g1", "prompt": '), 2, "line", "malformed JSON"),
    ("trailing comma", "x.jsonl", jsonl(good(0), '{"external_id": "g1",}'), 2, "line", "malformed JSON"),
    ("NaN", "x.jsonl", jsonl('{"external_id": "g1", "prompt": NaN}'), 1, "line", "malformed JSON"),
    ("UTF-16 with BOM", "x.jsonl", codecs.BOM_UTF16_LE + jsonl(good(0)).decode().encode("utf-16-le"), 1, "file", "UTF-16"),
    ("UTF-16 without BOM", "x.jsonl", jsonl(good(0)).decode().encode("utf-16-be"), 1, "file", "UTF-16"),
    ("Latin-1", "x.jsonl", jsonl(good(0), good(1)) + b"\n" + json.dumps(good(2, prompt="café"), ensure_ascii=False)
     .encode("latin-1"), 3, "file", "not valid UTF-8"),
    ("BOM then a bad line", "x.jsonl", codecs.BOM_UTF8 + jsonl({"prompt": "q", "responses": ["a", "b"]}), 1,
     "external_id", "required"),
    ("empty file", "x.jsonl", b"", None, "file", "the file is empty"),
    ("blank lines only", "x.jsonl", b"\n  \n\r\n", None, "file", "the file is empty"),
    ("empty CSV", "x.csv", b"", None, "file", "the file is empty"),
    ("huge line", "x.jsonl", jsonl(good(0), good(1, prompt="x" * 9_000_000)), 2, "line", "longer than 8,388,608 bytes"),
    ("huge response", "x.jsonl", jsonl(good(0, responses=["a" * 100_001, "b"])), 1, "responses[0].text",
     "is 100,001 characters; the limit is 100,000"),
    ("missing external_id", "x.jsonl", jsonl({"prompt": "q", "responses": ["a", "b"]}), 1, "external_id", "required"),
    ("missing prompt", "x.jsonl", jsonl({"external_id": "a", "responses": ["a", "b"]}), 1, "conversation", "required"),
    ("prompt is a number", "x.jsonl", jsonl(good(0, prompt=5)), 1, "prompt", "non-empty text"),
    ("responses is a string", "x.jsonl", jsonl(good(0, responses="a, b")), 1, "responses", "must be a list"),
    ("metadata is a list", "x.jsonl", jsonl(good(0, metadata=[1])), 1, "metadata", "must be a JSON object"),
    ("external_id is an object", "x.jsonl", jsonl(good(0, external_id={"id": 1})), 1, "external_id", "required"),
    ("a line that is not an object", "x.jsonl", jsonl(good(0), "[1, 2]"), 2, "line", "must be a JSON object"),
    ("unknown field", "x.jsonl", jsonl(good(0, colour="red")), 1, "colour", "unknown field"),
    ("prompt and conversation", "x.jsonl", jsonl(good(0, conversation=turns("user"))), 1, "prompt", "not both"),
    ("duplicate ids", "x.jsonl", jsonl(good(0), good(1), good(0)), 3, "external_id", "duplicate id 'g0' (first on line 1)"),
    ("three responses in a pairwise project", "x.jsonl", jsonl(good(0, responses=["a", "b", "c"])), 1, "responses",
     "needs exactly 2 responses, got 3"),
    ("one response", "x.jsonl", jsonl(good(0, responses=["a"])), 1, "responses", "needs exactly 2 responses, got 1"),
    ("an empty response", "x.jsonl", jsonl(good(0, responses=["a", "  "])), 1, "responses[1].text", "non-empty text"),
    ("two identical responses", "x.jsonl", jsonl(good(0, responses=["Paris.", " Paris."])), 1, "responses[1].text",
     "same text as responses[0]"),
    ("unknown role", "x.jsonl", jsonl({"external_id": "a", "conversation": turns("robot"), "responses": ["a", "b"]}), 1,
     "conversation[0]", "role one of"),
    ("turns that do not alternate", "x.jsonl", jsonl({"external_id": "a", "conversation": turns("user", "user"),
                                                      "responses": ["a", "b"]}), 1, "conversation[1].role", "alternate"),
    ("ends on the assistant", "x.jsonl", jsonl({"external_id": "a", "conversation": turns("user", "assistant"),
                                                "responses": ["a", "b"]}), 1, "conversation", "last message"),
    ("deep nesting", "x.jsonl", DEEP.encode(), 1, "metadata", "nests deeper than 64 levels"),
    ("nesting past the parser", "x.jsonl", ('{"external_id": "a", "metadata": ' + "[" * 5000 + "]" * 5000 + "}").encode(),
     1, "line", "nests deeper"),
    ("escaped NUL", "x.jsonl", jsonl(good(0, prompt="a\u0000b")), 1, "prompt", "NUL"),
    ("lone surrogate", "x.jsonl", jsonl(good(0), '{"external_id": "a", "prompt": "\\ud800"}'), 2, "line", "malformed JSON"),
    ("a .json file that is not a list", "x.json", b'{"items": {"a": 1}}', None, "items", "must be a list"),
    ("a malformed .json file", "x.json", b'{"items": [\n{"external_id": }]}', 2, "file", "malformed JSON"),
    ("CSV without a header", "x.csv", b"c1,q,four,five\nc2,q,six,seven\n", 1, "header", "needs a header line"),
    ("CSV unterminated quote", "x.csv", (CSV_HEAD + 'c1,q,a,b\nc2,"What is,4,5\nc3,q,a,b\n').encode(), 3, "line",
     "unterminated quote"),
    ("CSV more cells", "x.csv", (CSV_HEAD + "c1,q,a,b,extra\n").encode(), 2, "line", "5 cells, more than the header's 4"),
    ("CSV fewer cells", "x.csv", (CSV_HEAD + "c1,q,a\n").encode(), 2, "line", "3 cells, fewer than the header's 4"),
    ("CSV response_a column", "x.csv", b"external_id,prompt,response_1,response_a\nc1,q,four,five\n", 1, "response_a",
     "unknown column"),
    ("CSV raw NUL", "x.csv", (CSV_HEAD + "c1,q,fo\x00ur,five\n").encode(), 2, "response_1", "NUL"),
    ("CSV conversation that is not JSON", "x.csv", b'external_id,conversation,response_1,response_2\nc1,"[{",a,b\n', 2,
     "conversation", "malformed JSON"),
    ("CSV in Latin-1", "x.csv", (CSV_HEAD + "c1,caf\xe9,a,b\n").encode("latin-1"), 2, "file", "not valid UTF-8"),
]


@pytest.fixture
def project(db, lead):
    p = factories.project("pairwise", members={lead: "lead"})
    factories.items(p, 2)  # rows already there, so that "nothing written" counts something
    return p


def counts() -> tuple[int, int, int]:
    return Prompt.objects.count(), Response.objects.count(), Item.objects.count()


def test_the_corpus_covers_at_least_25_kinds():
    assert len({kind for kind, *_ in CORPUS}) == len(CORPUS) >= 25


@pytest.mark.parametrize("kind, name, data, line, field, message_part", CORPUS, ids=[c[0] for c in CORPUS])
def test_each_malformed_file_is_a_400_naming_its_line_and_field_and_writes_nothing(
        api, lead, project, kind, name, data, line, field, message_part):
    before = counts()
    r = upload(api(lead), project, name, data)
    assert r.status_code == 400, r.content[:300]
    first = r.json()["errors"][0]
    assert (first["line"], first["field"]) == (line, field), first
    assert message_part in first["message"], first
    assert counts() == before
