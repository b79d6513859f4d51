"""The input serializers of answers (a submit's, a lead's ruling), built from the answer's declaration
(annotation.answers.PAYLOAD_FIELDS).

Each field checks what its declaration checks, as canonicalize does: no coercion ("3" is not 3, 1 is not true)
and the declaration's message on a wrong value, so a submit answers the same errors whichever of the two met
the value first. What needs the item or the project stays in canonicalize and the services.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from .. import answers
from ..answers import PayloadField
from ..services.adjudications import MAX_NOTE, NOT_A_RULING, NOTE_REQUIRED, PREFERENCE_RANGE
from .errors import error_list


class _Declared:
    """A field checked by its PayloadField alone; the DRF base class gives the schema its type and range."""

    def __init__(self, spec: PayloadField, **kwargs):
        self.spec = spec
        super().__init__(required=False, allow_null=spec.nullable, help_text=spec.help,
                         error_messages={"null": spec.message}, **kwargs)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)  # a form body's value as sent, never a parsed list

    def run_validation(self, data=empty):
        is_empty, data = self.validate_empty_values(data)
        if is_empty:
            return data
        if not self.spec.accepts(data):
            raise serializers.ValidationError(self.spec.message)
        return self.validate_items(data)

    def validate_items(self, data):
        return data


class _Integer(_Declared, serializers.IntegerField):
    def __init__(self, spec: PayloadField):
        super().__init__(spec, min_value=spec.minimum, max_value=spec.maximum)


class _Boolean(_Declared, serializers.BooleanField):
    pass


class _Text(_Declared, serializers.CharField):
    def __init__(self, spec: PayloadField):
        super().__init__(spec, max_length=spec.maximum, allow_blank=True, trim_whitespace=False)


class _Names(_Declared, serializers.ListField):
    def __init__(self, spec: PayloadField):
        super().__init__(spec, child=serializers.CharField(min_length=1, max_length=50))


_ID_OR_GROUP = {"oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]}


@extend_schema_field({"type": "array", "items": _ID_OR_GROUP})
class _Ranking(_Declared, serializers.JSONField):
    pass


class _Criteria(_Declared, serializers.DictField):
    """{criterion: sub-answer}: each sub-answer checked by the criterion serializer, its errors named
    `criteria.<name>.<field>` as canonicalize names them."""

    def __init__(self, spec: PayloadField):
        super().__init__(spec, child=AnswerCriterionIn())

    def validate_items(self, data):
        errors, valid = {}, {}
        for name, sub in data.items():
            if not isinstance(sub, dict):
                errors[name] = [answers.NOT_A_SUB_ANSWER]
                continue
            try:
                valid[name] = self.child.run_validation(sub)
            except serializers.ValidationError as exc:
                errors[name] = exc.detail
        if errors:
            raise serializers.ValidationError(errors)
        return valid


_FIELD_CLASSES = {"integer": _Integer, "boolean": _Boolean, "text": _Text, "names": _Names, "ranking": _Ranking,
                  "criteria": _Criteria}


class _Note(serializers.CharField):
    """Text, not blank, at most MAX_NOTE characters; kept as sent (the service strips it)."""

    def __init__(self):
        messages = {"required": NOTE_REQUIRED, "null": NOTE_REQUIRED, "blank": NOTE_REQUIRED, "invalid": NOTE_REQUIRED,
                    "max_length": f"at most {MAX_NOTE} characters, no NUL character"}
        super().__init__(max_length=MAX_NOTE, help_text="why this answer stands", error_messages=messages)

    def to_internal_value(self, data):
        if not isinstance(data, str):  # CharField would take 5 as "5"
            self.fail("invalid")
        return data


def _payload_serializer(name: str, specs, doc: str, *, not_an_object: str = answers.NOT_AN_OBJECT,
                        **extra) -> type[serializers.Serializer]:
    fields = {**extra, **{spec.name: _FIELD_CLASSES[spec.type](spec) for spec in specs}}
    return type(name, (serializers.Serializer,), {
        "__doc__": doc, "__module__": __name__,
        "default_error_messages": {"invalid": not_an_object, "null": not_an_object}, **fields})


_CRITERION_SPECS = [spec for spec in answers.PAYLOAD_FIELDS if spec.in_criteria]  # a criterion's, a ruling's
AnswerCriterionIn = _payload_serializer(
    "AnswerCriterionIn", _CRITERION_SPECS,
    "One criterion's answer, in the form of the main answer: chosen and strength, or tie (pairwise); ranking.")
AnswerIn = _payload_serializer(
    "AnswerIn", answers.PAYLOAD_FIELDS,
    "An answer as submitted. Pairwise: chosen and strength, or tie; ranking: ranking; demonstration: text. "
    "Each field is checked here for its type and range, and against the item and the project on submit.")
AdjudicationIn = _payload_serializer(
    "AdjudicationIn", _CRITERION_SPECS,
    "A lead's ruling: a note, and the answer that stands: from_answer (a submitted answer's id), or the lead's own, "
    "canonical (preference) or as an annotator gives it (chosen and strength, or tie; ranking).",
    not_an_object=NOT_A_RULING, note=_Note(),
    from_answer=_Integer(PayloadField("integer", "must be the id of an answer to this item", name="from_answer",
                                      help="the id of a submitted answer that stands")),
    preference=_Integer(PayloadField("integer", PREFERENCE_RANGE, name="preference", minimum=-3, maximum=3,
                                     nullable=False, help="pairwise, canonical: -3..3 on the stored order")))


def checked(serializer: serializers.Serializer, data) -> dict:
    """`data` through an input serializer, as the services take it: {payload, malformed}. `malformed` is the
    serializer's errors (or None), for the service to raise where it first reads the payload, so that its other
    answers (no such item, a conflict) keep their order. One instance serves every request: making a serializer
    deep-copies its fields (2 ms for AnswerIn's, far more than the check), and run_validation keeps no state on it."""
    try:
        return {"payload": serializer.run_validation(data), "malformed": None}
    except serializers.ValidationError as exc:
        return {"payload": data, "malformed": error_list(serializers.as_serializer_error(exc))}


ANSWER_IN, ADJUDICATION_IN = AnswerIn(), AdjudicationIn()
