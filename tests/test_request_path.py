"""The hot path's shortcuts give what the framework's general code gives: instances as QuerySet.raw builds them,
the renderer and media type that DRF's content negotiation picks."""

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from annotation.api.negotiation import ContentNegotiation
from annotation.models import Project
from annotation.sql import columns, instances

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_instances_are_the_ones_raw_builds(pairwise_project, annotator):
    Project.objects.filter(pk=pairwise_project.pk).update(criteria=[{"name": "help", "label": "Helpful \u2028 ü"}])
    for model, pk in ((Project, pairwise_project.pk), (get_user_model(), annotator.pk)):
        table = model._meta.db_table
        (built,) = instances(model, f"SELECT {columns(model, 't')} FROM {table} t WHERE t.id = %s", [pk])
        (raw,) = model.objects.raw(f"SELECT t.* FROM {table} t WHERE t.id = %s", [pk])
        assert _fields(built) == _fields(raw) and _fields(built)
        assert type(built) is model and not built._state.adding and built._state.db == raw._state.db
    assert instances(Project, f"SELECT {columns(Project, 'p')} FROM annotation_project p WHERE p.id = %s", [0]) == []


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "", "text/html", "application/json; indent=4",
                                    "text/html, */*;q=0.1", "image/png", "application/*"])
@pytest.mark.parametrize("query", ["", "format=json", "format=api", "format=csv"])
def test_content_negotiation_answers_as_drfs(accept, query):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    renderers = [JSONRenderer(), BrowsableAPIRenderer()]

    def answer(negotiation):
        request = Request(RequestFactory().get(f"/api/x/?{query}", **headers))
        try:
            renderer, media_type = negotiation.select_renderer(request, renderers)
        except Exception as exc:  # the same refusal (406, 404) for the same request
            return type(exc)
        return type(renderer), media_type

    assert answer(ContentNegotiation()) == answer(DefaultContentNegotiation())


def test_the_api_uses_it():
    assert isinstance(APIView().get_content_negotiator(), ContentNegotiation)
