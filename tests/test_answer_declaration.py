"""The answer's fields are declared once (annotation.answers.CanonicalAnswer); the model and the API follow it."""

from django.db.models import JSONField

from annotation.answers import ANSWER_COLUMNS, ANSWER_FIELDS, JSON_ANSWER_FIELDS, CanonicalAnswer, answer_values
from annotation.models import Annotation


def test_every_declared_answer_field_is_an_annotation_column_stored_as_declared():
    for column in ANSWER_COLUMNS:
        model_field = Annotation._meta.get_field(column.name)
        assert isinstance(model_field, JSONField) == column.json, column.name
    assert JSON_ANSWER_FIELDS == {"ranking", "criteria", "flags"}


def test_an_empty_canonical_answer_holds_the_models_defaults():
    empty = Annotation()
    assert answer_values(CanonicalAnswer()) == answer_values(empty)
    assert tuple(answer_values(empty)) == ANSWER_FIELDS
