"""Query-string serializers: each parameter parsed and checked once, each bad value a 400 naming it.

A parameter that is left out or empty (`?status=`) is not given: it filters nothing and is absent from
`validated_data`, so the lists and reports read the same with it or without it. The OpenAPI schema lists
these serializers' fields as the operations' query parameters (`extend_schema(parameters=[...])`).
"""

import re

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers
from rest_framework.fields import empty

from .. import json_input
from ..selectors import ItemStatus, project_member

ITEM_STATUSES = tuple(ItemStatus.values)
_TRUE, _FALSE = ("1", "true", "yes"), ("0", "false", "no")
_METADATA_KEY = re.compile(r"^[\w.-]{1,100}$")


class _Param:
    """A query parameter: its last value as sent, or not given when absent or empty."""

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def get_value(self, dictionary):
        return dictionary.get(self.field_name) or empty


class Text(_Param, serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if json_input.NUL in data:  # PostgreSQL would refuse it in a query; said in the API's words
            raise serializers.ValidationError(json_input.NUL_MESSAGE)
        return data


class Boolean(_Param, serializers.BooleanField):
    def to_internal_value(self, data):
        if data.lower() not in (*_TRUE, *_FALSE):
            raise serializers.ValidationError("must be true or false")
        return data.lower() in _TRUE


class Share(_Param, serializers.FloatField):
    def __init__(self, **kwargs):
        super().__init__(min_value=0, max_value=1, **kwargs)

    def to_internal_value(self, data):
        try:
            value = float(data)
        except ValueError:
            value = None
        if value is None or not 0 <= value <= 1:  # NaN fails the range too
            raise serializers.ValidationError("must be a number from 0 to 1")
        return value


class WholeNumber(_Param, serializers.IntegerField):
    """ASCII digits only: "²" is a digit to isdigit, and "+3" or " 3" name no row."""

    def __init__(self, *, minimum: int = 0, message: str | None = None, **kwargs):
        self.message = message or f"must be a whole number of at least {minimum}"
        super().__init__(min_value=minimum, **kwargs)

    def to_internal_value(self, data):
        if not (data.isascii() and data.isdigit()) or int(data) < self.min_value:
            raise serializers.ValidationError(self.message)
        return int(data)


class Choice(_Param, serializers.ChoiceField):
    def __init__(self, choices, **kwargs):
        super().__init__(choices=choices, error_messages={"invalid_choice": f"must be one of {list(choices)}"},
                         **kwargs)


class Metadata(_Param, serializers.ListField):
    """`metadata=key=value`, repeatable: {key: value}, every one to match."""

    MESSAGE = "must be key=value, the key letters, digits, '_', '.' or '-' (e.g. source=forum)"

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(), **kwargs)

    def get_value(self, dictionary):
        return dictionary.getlist(self.field_name) or empty

    def to_internal_value(self, data):
        out = {}
        for raw in data:
            key, sep, value = raw.partition("=")
            if not sep or not _METADATA_KEY.match(key) or json_input.NUL in value:
                raise serializers.ValidationError(self.MESSAGE)
            out[key] = value
        return out


class ItemFiltersIn(serializers.Serializer):
    """The lead's item list's filters. Needs the project in the context (`annotator` names one of its members)."""

    status = Choice(ITEM_STATUSES)
    is_gold = Boolean()
    flagged = Boolean(help_text="items with (true) or without (false) a flagged answer")
    adjudicated = Boolean()
    min_agreement = Share()
    max_agreement = Share()
    q = Text(help_text="text in the prompt or a response (case-insensitive)")
    model = Text(help_text="a response's model name")
    metadata = Metadata(help_text="key=value, repeatable")
    annotator = Text(help_text="username: items they answered")

    def validate_annotator(self, username: str):
        user = project_member(self.context["project"], username)
        if user is None:
            raise serializers.ValidationError(f"no member of this project is named {username!r}")
        return user

    def validate(self, attrs):
        low, high = attrs.get("min_agreement"), attrs.get("max_agreement")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"min_agreement": "must not be above max_agreement"})
        return attrs


class Moment(_Param, serializers.CharField):
    """A date (midnight UTC) or an ISO date-time, normalised to the ISO text a report is keyed by."""

    def to_internal_value(self, data):
        try:  # well-formed but impossible (2026-02-30) raises
            parsed = parse_datetime(data)
            if parsed is None and (day := parse_date(data)):
                return f"{day.isoformat()}T00:00:00+00:00"
        except ValueError:
            parsed = None
        if not parsed:
            raise serializers.ValidationError("must be a date (2026-11-25) or an ISO date-time")
        return parsed.isoformat()


class Usernames(_Param, serializers.CharField):
    """Comma-separated usernames, as a sorted list without repeats."""

    def to_internal_value(self, data):
        names = sorted({name.strip() for name in data.split(",") if name.strip()})
        if not names:  # "annotators=," would be the unfiltered report under another key
            raise serializers.ValidationError("give at least one username (a,b), or leave it out")
        if any(json_input.NUL in name for name in names):
            raise serializers.ValidationError(json_input.NUL_MESSAGE)
        return names


class AgreementFiltersIn(serializers.Serializer):
    """The filters an agreement report is keyed by, normalised. Needs the project in the context."""

    criterion = Text()
    since = Moment(help_text="date or date-time")
    until = Moment()
    annotators = Usernames(help_text="comma-separated usernames")

    def validate_criterion(self, criterion: str) -> str:
        project = self.context["project"]
        if criterion not in (project.criteria or []):
            raise serializers.ValidationError(f"unknown criterion; this project has {project.criteria}")
        return criterion


class MineFiltersIn(serializers.Serializer):
    """The caller's own answers and skips."""

    project = WholeNumber(message="must be a project id (a whole number)", help_text="only this project's")


def query_params(serializer_class, request, project=None) -> dict:
    """The request's query string through `serializer_class`: its validated values, or a 400 naming each field."""
    params = serializer_class(data=request.query_params, context={"project": project})
    params.is_valid(raise_exception=True)
    return params.validated_data
