"""The input serializers of a project's curation rules: the saved rules' PUT and the preview's POST.

They check the body's shape: an object, whose `rules` (required to save, the saved rules when a preview leaves
it out) is an object, each error named `rules` in the words the service uses. The rules themselves (names,
types, ranges) are checked by `services.curation.curation_rules_parse`, which snapshots call too, so a rule is
refused in the same words wherever it is sent.
"""

from collections.abc import Mapping
from dataclasses import fields

from rest_framework import serializers
from rest_framework.fields import empty

from ..quality import CurationRules
from ..services.curation import RULES_NOT_AN_OBJECT

RULES_REQUIRED = 'required: {"rules": {...}}; {"rules": {}} clears them'
RULE_NAMES = ", ".join(rule.name for rule in fields(CurationRules))


class _Rules(serializers.DictField):
    """{rule name: value}, as sent: a form body's value is its text (not an object), never a dict DRF parsed
    from `rules[...]` keys."""

    def __init__(self, *, required: bool, help_text: str):
        messages = {"required": RULES_REQUIRED.replace("{", "{{").replace("}", "}}"), "null": RULES_NOT_AN_OBJECT,
                    "not_a_dict": RULES_NOT_AN_OBJECT}
        super().__init__(required=required, error_messages=messages, help_text=f"{help_text} Rules: {RULE_NAMES}.")

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, empty)


class _RulesBody(serializers.Serializer):
    """A body that is not an object is refused as its one field, `rules`."""

    not_an_object = RULES_NOT_AN_OBJECT

    def run_validation(self, data=empty):
        if not isinstance(data, Mapping):
            raise serializers.ValidationError({"rules": [self.not_an_object]})
        return super().run_validation(data)


class CurationRulesIn(_RulesBody):
    """The project's curation rules, to save in place of the saved ones."""

    not_an_object = RULES_REQUIRED
    rules = _Rules(required=True, help_text='The rules to save; {} clears them.')


class CurationPreviewIn(_RulesBody):
    """Curation rules to preview, saved or not."""

    rules = _Rules(required=False, help_text="The rules to try; the project's saved rules when left out.")
