"""Query strings are read by serializers (annotation/api/params.py): a bad value is a 400 naming the parameter,
and the schema documents the same parameters."""

import pytest

from annotation.api.params import ItemFiltersIn, MineFiltersIn

from .test_answer_declaration import openapi


def query_parameters(schema: dict, path: str) -> set[str]:
    return {p["name"] for p in schema["paths"][path]["get"].get("parameters", []) if p["in"] == "query"}


def test_the_item_filters_are_the_documented_query_parameters_of_the_item_list_and_page(api, lead):
    schema = openapi(api(lead))
    for path in ("/api/projects/{id}/items/", "/api/projects/{id}/items/{item_id}/"):
        assert set(ItemFiltersIn().fields) <= query_parameters(schema, path), path


@pytest.mark.parametrize("query, field", [
    ("metadata=source", "metadata"), ("metadata=a%20b=c", "metadata"), ("annotator=nobody", "annotator"),
    ("min_agreement=0.8&max_agreement=0.2", "min_agreement"), ("q=a%00", "q"), ("flagged=on", "flagged"),
])
def test_a_bad_item_filter_answers_400_naming_it_on_the_list_and_the_page(api, lead, pairwise_project, query, field):
    item = pairwise_project.items.first()
    for url in (f"/api/projects/{pairwise_project.id}/items/", f"/api/projects/{pairwise_project.id}/items/{item.id}/"):
        r = api(lead).get(f"{url}?{query}")
        assert r.status_code == 400, (url, r.content[:300])
        assert [e["field"] for e in r.json()["errors"]] == [field]


def test_the_own_lists_document_their_project_filter(api, annotator):
    schema = openapi(api(annotator))
    for path in ("/api/me/annotations/", "/api/me/skipped/"):
        assert set(MineFiltersIn().fields) <= query_parameters(schema, path), path


@pytest.mark.parametrize("url, field", [
    ("/api/me/annotations/?project=%C2%B2", "project"), ("/api/me/skipped/?project=-1", "project"),
    ("/api/training-jobs/?kind=nope", "kind"), ("/api/training-jobs/?model=1.5", "model"),
    ("/api/models/?task=nope", "task"),
])
def test_a_bad_list_filter_answers_400_naming_it(api, admin_user, url, field):
    r = api(admin_user).get(url)
    assert r.status_code == 400, r.content[:300]
    assert [e["field"] for e in r.json()["errors"]] == [field]
