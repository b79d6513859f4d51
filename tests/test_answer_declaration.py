"""The answer's fields are declared once (annotation.answers.CanonicalAnswer); the model and the API follow it."""

import pytest
from django.db.models import JSONField

from annotation.answers import (
    ANSWER_COLUMNS,
    ANSWER_FIELDS,
    JSON_ANSWER_FIELDS,
    MAX_TEXT,
    PAYLOAD_FIELDS,
    CanonicalAnswer,
    answer_values,
)
from annotation.models import Annotation, Item

from . import factories


def test_every_declared_answer_field_is_an_annotation_column_stored_as_declared():
    for column in ANSWER_COLUMNS:
        model_field = Annotation._meta.get_field(column.name)
        assert isinstance(model_field, JSONField) == column.json, column.name
    assert JSON_ANSWER_FIELDS == {"ranking", "criteria", "flags"}


def test_an_empty_canonical_answer_holds_the_models_defaults():
    empty = Annotation()
    assert answer_values(CanonicalAnswer()) == answer_values(empty)
    assert tuple(answer_values(empty)) == ANSWER_FIELDS


def openapi(client) -> dict:
    r = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert r.status_code == 200, r.content[:200]
    return r.json()


def request_schema(schema: dict, path: str, method: str) -> dict:
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_the_schema_documents_the_submit_and_update_payload_as_declared(api, annotator):
    schema = openapi(api(annotator))
    for path, method in (("/api/assignments/{id}/submit/", "post"), ("/api/me/annotations/{id}/", "patch")):
        body = request_schema(schema, path, method)
        assert list(body["properties"]) == [spec.name for spec in PAYLOAD_FIELDS]
        assert body["properties"]["strength"]["minimum"] == 1 and body["properties"]["strength"]["maximum"] == 3
        assert body["properties"]["rationale"]["maxLength"] == MAX_TEXT
    criterion = schema["components"]["schemas"]["AnswerCriterionInRequest"]["properties"]
    assert set(criterion) == {"chosen", "strength", "tie", "ranking"}


@pytest.mark.parametrize("payload, field, message", [
    ({"tie": True, "confidence": "3"}, "confidence", "1 to 5"),  # no coercion: the schema says integer
    ({"tie": True, "text": 5}, "text", "must be text"),  # another kind's field, but not of its documented type
    ({"tie": True, "ranking": [[1, 2], []]}, "ranking", "must be a list"),
    ({"tie": True, "criteria": {"honesty": {"tie": "yes"}}}, "criteria.honesty.tie", "true or false"),
    ({"tie": True, "criteria": {"honesty": 3}}, "criteria.honesty", "answer object"),
    ({"tie": True, "flags": None}, "flags", "short names"),
])
def test_a_payload_that_breaks_its_schema_is_refused_naming_the_field(api, annotator, pairwise_project, payload,
                                                                      field, message):
    client = api(annotator)
    lease = client.post(f"/api/projects/{pairwise_project.id}/next/").json()
    r = client.post(f"/api/assignments/{lease['assignment']}/submit/", payload, format="json")
    assert r.status_code == 400, r.content[:300]
    error = r.json()["errors"][0]
    assert error["field"] == field and message in error["message"], error
    assert not Annotation.objects.exists()


def test_a_malformed_payload_for_an_assignment_of_someone_else_is_still_a_404(api, annotator, annotator2,
                                                                             pairwise_project):
    lease = api(annotator).post(f"/api/projects/{pairwise_project.id}/next/").json()
    r = api(annotator2).post(f"/api/assignments/{lease['assignment']}/submit/", {"confidence": "x"}, format="json")
    assert r.status_code == 404


def test_the_item_page_shows_its_responses_answers_ruling_and_neighbours(api, lead, annotator, pairwise_project):
    client = api(annotator)
    lease = client.post(f"/api/projects/{pairwise_project.id}/next/").json()
    chosen = lease["item"]["responses"][0]["id"]
    client.post(f"/api/assignments/{lease['assignment']}/submit/", {"chosen": chosen, "strength": 2}, format="json")
    items = list(pairwise_project.items.order_by("id").values_list("id", flat=True))
    item_id = lease["item"]["id"]
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/items/{item_id}/?status=in_progress")
    assert r.status_code == 200
    page = r.json()
    stored = Item.objects.get(pk=item_id).response_ids
    assert [response["id"] for response in page["responses"]] == stored
    assert [(a["annotator"], a["preference"]) for a in page["answers"]] == [
        ("ann1", -2 if chosen == stored[0] else 2)]
    assert page["adjudication"] is None and page["neighbours"] == {"previous": None, "next": None}
    r = api(lead).get(f"/api/projects/{pairwise_project.id}/items/{items[2]}/")
    assert r.json()["neighbours"] == {"previous": items[1], "next": items[3]}


@pytest.mark.parametrize("body", ["null", "[1, 2]", '"tie"'])
def test_an_answer_that_is_not_an_object_is_refused_as_before(api, annotator, pairwise_project, body):
    client = api(annotator)
    lease = client.post(f"/api/projects/{pairwise_project.id}/next/").json()
    r = client.post(f"/api/assignments/{lease['assignment']}/submit/", body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "non_field_errors", "message": "the answer must be a JSON object"}]


def test_the_schema_documents_the_ruling_as_checked(api, lead):
    body = request_schema(openapi(api(lead)), "/api/projects/{id}/items/{item_id}/adjudication/", "put")
    assert list(body["properties"]) == ["note", "from_answer", "preference", "chosen", "strength", "tie", "ranking"]
    assert body["required"] == ["note"] and body["properties"]["preference"]["minimum"] == -3


@pytest.mark.parametrize("body, field", [
    ({"note": 5, "from_answer": 1}, "note"), ({"note": "x", "preference": None}, "preference"),
    ({"note": "x", "tie": "yes"}, "tie"), ({"note": "x", "ranking": "a"}, "ranking"), ([1], "non_field_errors"),
])
def test_a_malformed_ruling_is_refused_naming_the_field(api, lead, pairwise_project, body, field):
    item = pairwise_project.items.first()
    r = api(lead).put(f"/api/projects/{pairwise_project.id}/items/{item.id}/adjudication/", body, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, r.content


def test_a_malformed_ruling_on_a_demonstration_still_says_there_is_nothing_to_settle(api, lead):
    project = factories.project("demonstration", members={lead: "lead"})
    factories.items(project, 1)
    item = project.items.get()
    r = api(lead).put(f"/api/projects/{project.id}/items/{item.id}/adjudication/", {"note": 5}, format="json")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "item"
