"""The hot path's shortcut gives what the framework's general code gives: instances as QuerySet.raw builds them."""

import pytest
from django.contrib.auth import get_user_model

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
