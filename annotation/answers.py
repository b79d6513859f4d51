"""Answer payloads: validation and the canonical form statistics and exports use.

Pure functions, no Django: a payload comes in as the annotator sent it (response ids,
shown order irrelevant) and leaves as the stored form.

Pairwise canonical form: a signed preference in -3..3 relative to the item's *stored*
response order; negative means the first stored response is better, 0 is a tie.
Ranking canonical form: the list of response ids best first when nothing is tied (so every
answer stored before ties existed is already canonical), else the list of groups best first,
each group's ids ascending: ``[[12], [10, 13], [11]]`` ties 10 and 13. One form per meaning:
a ranking without ties is never stored as groups. `ranking_groups` reads either form.
"""

from dataclasses import dataclass, field, fields, replace
from itertools import combinations

KNOWN_FLAGS = ("unsafe", "pii", "not_rankable", "broken", "off_topic", "other")
MAX_TEXT = 100_000


class AnswerError(ValueError):
    """Carries a list of {field, message} errors."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


PAIRWISE, RANKING, DEMONSTRATION = "pairwise", "ranking", "demonstration"  # Project.Kind's values
ALL_KINDS = frozenset({PAIRWISE, RANKING, DEMONSTRATION})


@dataclass(frozen=True)
class PayloadField:
    """One field of an answer as it is submitted, with the check of its type and range alone: the API's input
    serializer (and so the OpenAPI schema) is built from these, and canonicalize says the same messages. What needs
    the item or the project (is `chosen` one of its responses? does it allow ties?) is canonicalize's alone."""

    type: str  # integer | boolean | text | names | ranking | criteria
    message: str  # said of a value that is not of the type, or out of range
    name: str = ""  # "": the column's name
    help: str = ""  # "": the column's help
    nullable: bool = True  # null stands for "not given"
    minimum: int | None = None
    maximum: int | None = None  # text: the most characters
    in_criteria: bool = False  # a criterion's sub-answer takes it too
    kinds: frozenset[str] = ALL_KINDS  # the column's

    def accepts(self, value) -> bool:
        """Whether a value (null is not) has the field's type and lies in its range."""
        if self.type == "integer":
            return (_is_int(value) and (self.minimum is None or value >= self.minimum)
                    and (self.maximum is None or value <= self.maximum))
        if self.type == "text":
            return isinstance(value, str) and (self.maximum is None or len(value) <= self.maximum)
        if self.type == "names":
            return isinstance(value, list) and all(isinstance(f, str) and 0 < len(f) <= 50 for f in value)
        if self.type == "ranking":
            return _ranking_entries(value) is not None
        return isinstance(value, {"boolean": bool, "criteria": dict}[self.type])


@dataclass(frozen=True)
class AnswerColumn:
    """One field of the canonical answer, named alike on CanonicalAnswer, on the `Annotation` model, in the API's
    answers and in the exports. Declared once, on CanonicalAnswer below; everything else reads ANSWER_COLUMNS."""

    name: str
    json: bool  # stored as JSON (a list or an object), not as a scalar column
    kinds: frozenset[str]  # the project kinds whose answers carry it (the others leave the default)
    help: str
    given: tuple[PayloadField, ...]  # how a submit gives it: the same name, or (preference) chosen/strength/tie


def _column(*, help: str, given=(), kinds=ALL_KINDS, json: bool = False, default=None, default_factory=None):
    spec = {"json": json, "kinds": frozenset(kinds), "help": help,
            "given": given if isinstance(given, tuple) else (given,)}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=spec)
    return field(default=default, metadata=spec)


BOOLEAN = "must be true or false"
STRENGTH = "must be 1 (slightly), 2 (clearly) or 3 (much better)"
TEXT = f"must be text of at most {MAX_TEXT} characters"
FLAGS = f"must be a list of short names such as {list(KNOWN_FLAGS)}"
NOT_AN_OBJECT = "the answer must be a JSON object"
NOT_A_SUB_ANSWER = "must be an answer object of the same form"


@dataclass
class CanonicalAnswer:
    """The stored form of an answer. Adding a field here adds it to the INSERT, the API, the loaders and the
    exports (a column of the same name on `Annotation` comes with a migration)."""

    preference: int | None = _column(
        kinds={PAIRWISE}, help="pairwise: -3..3 relative to the item's stored response order; negative: the first "
                               "is better, 0: a tie",
        given=(PayloadField("integer", "must be one of this item's responses", name="chosen", in_criteria=True,
                            help="pairwise: the id of the better response (with strength)"),
               PayloadField("integer", STRENGTH, name="strength", minimum=1, maximum=3, in_criteria=True,
                            help="pairwise: 1 (slightly), 2 (clearly) or 3 (much better)"),
               PayloadField("boolean", BOOLEAN, name="tie", in_criteria=True,
                            help="pairwise: true for a tie instead of chosen, where the project allows ties")))
    both_bad: bool = _column(kinds={PAIRWISE}, default=False, help="pairwise: neither response is acceptable",
                             given=PayloadField("boolean", BOOLEAN))
    ranking: list | None = _column(
        kinds={RANKING}, json=True, help="ranking: response ids best first; with ties, groups of ids best first, "
                                         "e.g. [[a], [b, c], [d]]",
        given=PayloadField("ranking", "must be a list of the response ids, best first, or a list of groups of ids "
                                      "(a group of several is a tie)", in_criteria=True))
    text: str = _column(kinds={DEMONSTRATION}, default="", help="demonstration: the written answer",
                        given=PayloadField("text", TEXT, maximum=MAX_TEXT))
    criteria: dict = _column(
        kinds={PAIRWISE, RANKING}, json=True, default_factory=dict, help="{criterion: canonical sub-answer}",
        given=PayloadField("criteria", "must be an object {criterion: answer}",
                           help="{criterion: an answer of the main answer's form (chosen, strength, tie; or ranking)}"))
    rationale: str = _column(default="", help="why, in the annotator's words",
                             given=PayloadField("text", TEXT, nullable=False, maximum=MAX_TEXT))
    flags: list[str] = _column(json=True, default_factory=list, help=f"short names, such as {list(KNOWN_FLAGS)}",
                               given=PayloadField("names", FLAGS, nullable=False))
    confidence: int | None = _column(help="1 (a guess) .. 5 (sure)",
                                     given=PayloadField("integer", "must be an integer from 1 to 5",
                                                        minimum=1, maximum=5))
    time_spent_ms: int | None = _column(
        help="time spent on the item, in milliseconds",
        given=PayloadField("integer", "must be a whole number of milliseconds (0..86400000)",
                           minimum=0, maximum=86_400_000))


ANSWER_COLUMNS: tuple[AnswerColumn, ...] = tuple(AnswerColumn(name=f.name, **f.metadata) for f in fields(CanonicalAnswer))
ANSWER_FIELDS: tuple[str, ...] = tuple(column.name for column in ANSWER_COLUMNS)  # Annotation's answer columns
JSON_ANSWER_FIELDS: frozenset[str] = frozenset(column.name for column in ANSWER_COLUMNS if column.json)
PAYLOAD_FIELDS: tuple[PayloadField, ...] = tuple(
    replace(given, name=given.name or column.name, help=given.help or column.help, kinds=column.kinds)
    for column in ANSWER_COLUMNS for given in column.given)
_PAYLOAD = {spec.name: spec for spec in PAYLOAD_FIELDS}
_COMMON = tuple(spec for spec in PAYLOAD_FIELDS if spec.kinds == ALL_KINDS)  # what every kind of answer takes


def answer_values(answer: CanonicalAnswer) -> dict:
    """{field: value} for every answer field, in ANSWER_FIELDS order (works on an `Annotation` alike)."""
    return {name: getattr(answer, name) for name in ANSWER_FIELDS}


@dataclass(frozen=True)
class AnswerShape:
    kind: str  # demonstration | pairwise | ranking
    response_ids: tuple[int, ...]
    allow_tie: bool
    criteria: tuple[str, ...]
    min_text_chars: int = 0  # demonstration: the project's minimum length, surrounding spaces not counted


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def pairwise_preference(payload: dict, shape: AnswerShape, where: str, errors: list) -> int | None:
    """{"chosen": id, "strength": 1..3} or {"tie": true}  ->  -3..3 relative to stored order."""
    if payload.get("tie") is True:
        if not shape.allow_tie:
            errors.append({"field": f"{where}tie", "message": "this project does not allow ties"})
            return None
        if "chosen" in payload:
            errors.append({"field": f"{where}chosen", "message": "give either chosen or tie, not both"})
            return None
        return 0
    if "tie" in payload and payload["tie"] not in (False, None):
        errors.append({"field": f"{where}tie", "message": BOOLEAN})
        return None
    chosen, strength = payload.get("chosen"), payload.get("strength")
    if chosen is None:
        errors.append({"field": f"{where}chosen", "message": "required: the id of the better response (or tie: true)"})
        return None
    if not _is_int(chosen) or chosen not in shape.response_ids:
        errors.append({"field": f"{where}chosen", "message": f"{_PAYLOAD['chosen'].message} {list(shape.response_ids)}"})
        return None
    if not _PAYLOAD["strength"].accepts(strength):
        errors.append({"field": f"{where}strength", "message": STRENGTH})
        return None
    return -strength if chosen == shape.response_ids[0] else strength


def _ranking_entries(ranking) -> list[list[int]] | None:
    """The payload's groups (a bare id is a group of one), or None when the shape is wrong."""
    if not isinstance(ranking, list):
        return None
    groups = [entry if isinstance(entry, list) else [entry] for entry in ranking]
    if not all(group and all(_is_int(r) for r in group) for group in groups):
        return None
    return groups


def ranking_order(payload: dict, shape: AnswerShape, where: str, errors: list) -> list | None:
    """{"ranking": [ids best first]} or, with ties, [[id], [id, id], ...] (groups best first)."""
    field_name, k = f"{where}ranking", len(shape.response_ids)
    groups = _ranking_entries(payload.get("ranking"))
    if groups is None:
        errors.append({"field": field_name, "message": f"must be a list of the {k} response ids, best first, "
                                                       "or a list of groups of ids (a group of several is a tie)"})
        return None
    if sorted(r for group in groups for r in group) != sorted(shape.response_ids):
        errors.append({"field": field_name, "message": f"must list all {k} responses exactly once"})
        return None
    if any(len(group) > 1 for group in groups):
        if not shape.allow_tie:
            errors.append({"field": field_name, "message": "this project does not allow ties; "
                                                           "list the responses one by one, best first"})
            return None
        return [sorted(group) for group in groups]
    return [group[0] for group in groups]


def ranking_groups(ranking) -> list[list[int]]:
    """A stored ranking (ids best first, or groups best first) as groups best first."""
    return [list(entry) if isinstance(entry, list) else [entry] for entry in ranking or []]


def _main_value(payload: dict, shape: AnswerShape, where: str, errors: list):
    if shape.kind == "pairwise":
        return pairwise_preference(payload, shape, where, errors)
    return ranking_order(payload, shape, where, errors)


def _criteria(raw, shape: AnswerShape, errors: list) -> dict:
    if raw is None:
        return {}
    if shape.kind == "demonstration":
        errors.append({"field": "criteria", "message": "demonstration answers take no criteria"})
        return {}
    if not isinstance(raw, dict):
        errors.append({"field": "criteria", "message": "must be an object {criterion: answer}"})
        return {}
    out = {}
    for name, sub in raw.items():
        if name not in shape.criteria:
            errors.append({"field": f"criteria.{name}", "message": f"unknown criterion; this project has {list(shape.criteria)}"})
        elif not isinstance(sub, dict):
            errors.append({"field": f"criteria.{name}", "message": NOT_A_SUB_ANSWER})
        else:
            value = _main_value(sub, shape, f"criteria.{name}.", errors)
            if value is not None:
                out[name] = value
    return out


def _common(payload: dict, answer: CanonicalAnswer, errors: list) -> None:
    """The fields every kind of answer takes: checked by their declaration alone."""
    for spec in _COMMON:
        value = payload.get(spec.name)
        if value is None and (spec.nullable or spec.name not in payload):
            continue  # the canonical default stands
        if spec.accepts(value):
            setattr(answer, spec.name, value)
        else:
            errors.append({"field": spec.name, "message": spec.message})
    answer.flags = sorted(set(answer.flags))


def canonicalize(payload, shape: AnswerShape) -> CanonicalAnswer:
    """Validate a submitted payload and return its canonical form, or raise AnswerError."""
    if not isinstance(payload, dict):
        raise AnswerError([{"field": "non_field_errors", "message": NOT_AN_OBJECT}])
    errors: list[dict] = []
    answer = CanonicalAnswer()
    if shape.kind == "demonstration":
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            errors.append({"field": "text", "message": "required: the demonstration text"})
        elif len(text) > MAX_TEXT:
            errors.append({"field": "text", "message": f"at most {MAX_TEXT} characters"})
        elif len(text.strip()) < shape.min_text_chars:
            errors.append({"field": "text", "message": f"at least {shape.min_text_chars} characters in this project "
                                                       f"(this one has {len(text.strip())})"})
        else:
            answer.text = text
    else:
        value = _main_value(payload, shape, "", errors)
        if shape.kind == "pairwise":
            answer.preference = value
            both_bad = payload.get("both_bad", False)
            if not isinstance(both_bad, bool):
                errors.append({"field": "both_bad", "message": BOOLEAN})
            answer.both_bad = both_bad is True
        else:
            answer.ranking = value
    answer.criteria = _criteria(payload.get("criteria"), shape, errors)
    _common(payload, answer, errors)
    if errors:
        raise AnswerError(errors)
    return answer


def ranking_relations(ranking) -> dict[tuple[int, int], int]:
    """Every pair (lower id, higher id) of a stored ranking: -1 lower id better, 0 tied, +1 higher id better."""
    place = {r: rank for rank, group in enumerate(ranking_groups(ranking)) for r in group}
    return {(a, b): (place[a] > place[b]) - (place[a] < place[b]) for a, b in combinations(sorted(place), 2)}


def ranking_pairs(ranking) -> set[tuple[int, int]]:
    """The (better, worse) pairs a ranking implies: C(K,2) without ties, tied pairs left out."""
    return {(a, b) if rel < 0 else (b, a) for (a, b), rel in ranking_relations(ranking).items() if rel}


def gold_score(kind: str, value, gold) -> float | None:
    """How well one canonical answer matches the expected one: 1.0 right, 0.0 wrong.

    pairwise: same direction (first better / tie / second better). ranking: the share
    of response pairs related as in the expected ranking (better, tied or worse alike).
    demonstration: no score.
    """
    if gold is None or value is None:
        return None
    if kind == "pairwise":
        sign = lambda v: (v > 0) - (v < 0)  # noqa: E731
        return float(sign(value) == sign(gold))
    if kind == "ranking":
        expected, given = ranking_relations(gold), ranking_relations(value)
        return sum(given.get(pair) == rel for pair, rel in expected.items()) / len(expected) if expected else None
    return None
