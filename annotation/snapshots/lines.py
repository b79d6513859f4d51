"""The JSONL lines of the most numerous rows, written straight as bytes.

A snapshot of a million answers writes two million rows; building a dict for each and
encoding it (`rows` then `writers.RowEncoder`) was most of the build. These functions write
the same bytes from a fixed template: keys in sorted order, each value encoded alone by
orjson (what it does inside a whole row), the pieces an item's rows share (its prompt, its
responses, the texts) encoded once by the caller. `tests/test_snapshot_lines.py` holds each
one to `RowEncoder().line(<row function>(...))`, and a build with Parquet (which goes through
the dicts) writes the very same JSONL files.

Values read from the database as JSON cannot hold NaN (JSON has none), so only the floats
computed here (margin, agreement) are checked, as `RowEncoder` checks them.
"""

from __future__ import annotations

import orjson

from .writers import _float

_SORTED = orjson.OPT_SORT_KEYS
BOOL = (b"false", b"true")


def json_bytes(value) -> bytes:
    """One value as a row holds it: sorted keys, no spaces."""
    return orjson.dumps(value, option=_SORTED)


def stored_json(value, empty: bytes) -> bytes:
    """A JSON column as the database returned it (text, or already decoded), canonical; `empty` when NULL."""
    if value is None:
        return empty
    if isinstance(value, str):
        if value == "[]" or value == "{}":
            return value.encode()
        if not ('"' in value or "." in value or "e" in value or "E" in value):
            # Only integers, brackets and commas (shown orders, rankings): the database's spelling less its spaces.
            return value.replace(" ", "").encode()
        value = orjson.loads(value)
    return orjson.dumps(value, option=_SORTED)


def iso_utc(text: str) -> str:
    """'YYYY-MM-DD HH:MM:SS[.f]' (UTC) as `datetime.isoformat` writes it, Z for UTC: a fraction gets its six digits,
    none stays none."""
    if len(text) == 26:  # most: all six digits of the fraction
        return text.replace(" ", "T") + "Z"
    if len(text) == 19:
        return f"{text[:10]}T{text[11:]}Z"
    return f"{text[:10]}T{text[11:20]}{text[20:]:0<6}Z"


def int_or_null(value: int | None) -> bytes:
    return b"null" if value is None else b"%d" % value


def text_or_null(value: str | None) -> bytes:
    """`value or None`, encoded: an empty text is written as null."""
    return orjson.dumps(value) if value else b"null"


def number_json(value: float | None) -> bytes:
    """`rows._num` then `RowEncoder`'s float spelling: rounded to 6 places, as Python writes it; NaN refused."""
    if value is None:
        return b"null"
    spelled = _float(round(float(value), 6))
    return orjson.dumps(spelled)


class Numbers(dict):
    """`number_json` remembered by value: a build's margins and agreements take few values, and spelling one cost
    more than the rest of its line. Zero is never remembered (0.0 and -0.0 are one key but two spellings), nor NaN
    (no key finds it again; `number_json` refuses it each time)."""

    def __missing__(self, value: float | None) -> bytes:
        spelled = number_json(value)
        if value:
            self[value] = spelled
        return spelled


ASSISTANT = b'[{"content":%b,"role":"assistant"}]'  # around a text's JSON


def assistant_json(text: str) -> bytes:
    """`[{"role": "assistant", "content": text}]`, keys sorted."""
    return ASSISTANT % orjson.dumps(text)


# A raw line, keys sorted, is the item's pieces (`raw_template`) around the answer's five (`raw_answer`) and kept:
#   {<head>,"is_gold":..,"item_id":..,"kept":<kept>,"preference":<preference>,"prompt":..,"prompt_id":..,
#   "ranking":<ranking>,"responses":..,"shown_order":<shown_order>,"split":..,"text":<tail>}
# so that an answer's pieces can be encoded once, before curation has said whether it is kept. The pieces are joined,
# not %-formatted into a template: formatting scans the whole template, an item's prompt and responses included,
# for each of its answers.
WHO = b'"annotator":%b,"annotator_is_model":%b,'  # the head's start: who answered (`who_json`)
HEAD = b'%b"answer_id":%d,"both_bad":%b,"confidence":%b,"created_at":"%b","criteria":%b,"flags":%b'
_RAW_OPEN, _RAW_CLOSE = b"{", b"}\n"


def raw_template(*, is_gold: bool, item_id: int, prompt: bytes, prompt_id: bytes, responses: bytes,
                 split: bytes) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """The item's part of its answers' raw lines, as five pieces: after the answer's head when not kept and when kept
    (through `"preference":`), then after its preference, its ranking and its shown order (through `"text":`). A
    line is `raw_fill(template, kept, *raw_answer(...))`. Bytes arguments are encoded JSON."""
    mid = b',"is_gold":%b,"item_id":%d,"kept":' % (BOOL[is_gold], item_id)
    return (mid + b'false,"preference":', mid + b'true,"preference":',
            b"".join((b',"prompt":', prompt, b',"prompt_id":', prompt_id, b',"ranking":')),
            b"".join((b',"responses":', responses, b',"shown_order":')), b"".join((b',"split":', split, b',"text":')))


def raw_fill(template: tuple[bytes, ...], kept: bool, head: bytes, preference: bytes, ranking: bytes, shown: bytes,
             tail: bytes) -> bytes:
    """One raw line: the item's `raw_template` around an answer's `raw_answer` pieces and whether it is kept."""
    return b"".join((_RAW_OPEN, head, template[kept], preference, template[2], ranking, template[3], shown,
                     template[4], tail, _RAW_CLOSE))


def who_json(annotator: bytes, annotator_is_model: bool) -> bytes:
    """The start of an answer's raw-line head: its annotator (encoded JSON) and whether that is a model."""
    return WHO % (annotator, BOOL[annotator_is_model])


def raw_answer(annotator: bytes, annotator_is_model: bool, answer_id: int, both_bad: bool, confidence: int | None,
               created_at: str, criteria: bytes, flags: bytes, preference: int | None, ranking: bytes,
               rationale: str, shown_order: bytes, text: str,
               time_spent_ms: int | None) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """An answer's part of its raw line, in the five pieces `raw_fill` puts around the item's part and kept;
    positional, since it runs once per answer. Bytes arguments are encoded JSON, `created_at` the ISO text (Z for
    UTC)."""
    return (HEAD % (who_json(annotator, annotator_is_model), answer_id, BOOL[both_bad], int_or_null(confidence),
                    created_at.encode(), criteria, flags),
            b"null" if preference is None else b"%d" % preference,
            ranking + b',"rationale":' + text_or_null(rationale),
            shown_order,
            text_or_null(text) + b',"time_spent_ms":' + int_or_null(time_spent_ms))


def raw_line(template: tuple[bytes, ...], annotator: bytes, annotator_is_model: bool, answer_id: int, both_bad: bool,
             confidence: int | None, created_at: str, criteria: bytes, flags: bytes, kept: bool,
             preference: int | None, ranking: bytes, rationale: str, shown_order: bytes, text: str,
             time_spent_ms: int | None) -> bytes:
    """`rows.raw_row`'s line, in the item's `raw_template`, from the answer's `raw_answer` pieces."""
    return raw_fill(template, kept, *raw_answer(
        annotator, annotator_is_model, answer_id, both_bad, confidence, created_at, criteria, flags, preference,
        ranking, rationale, shown_order, text, time_spent_ms))


# The templates of the other rows. `services.snapshots._Export._pairwise_lines` fills the preference and KTO ones
# inline, a chunk at a time; the functions below are what they mean, and what the tests hold them to.
PREFERENCE = (b'{"adjudicated":%b,"adjudication_note":%b,"agreement":%b,"chosen":%b,"item_id":%d,"margin":%b,'
              b'"n_annotators":%d,"prompt":%b,"prompt_id":%b,"rejected":%b}\n')


def preference_line(*, prompt: bytes, chosen: bytes, rejected: bytes, margin: float, agreement: float | None,
                    n_annotators: int, prompt_id: bytes, item_id: int, adjudication_note: str | None) -> bytes:
    """`rows.preference_row`'s line without a ranking marker; `chosen`/`rejected` from `assistant_json`."""
    note = b"null" if adjudication_note is None else orjson.dumps(adjudication_note)
    return PREFERENCE % (BOOL[adjudication_note is not None], note, number_json(agreement), chosen, item_id,
                         number_json(margin), n_annotators, prompt, prompt_id, rejected)


KTO = b'{"completion":%b,"item_id":%d,"label":%b,"prompt":%b,"prompt_id":%b}\n'


def kto_line(*, prompt: bytes, completion: bytes, label: bool, prompt_id: bytes, item_id: int) -> bytes:
    """One row of `rows.kto_rows_from_pair`; `completion` from `assistant_json`."""
    return KTO % (completion, item_id, BOOL[label], prompt, prompt_id)


PROMPT = b'{"prompt":%b,"prompt_id":%b}\n'


def prompt_line(*, prompt: bytes, prompt_id: bytes) -> bytes:
    """`rows.prompt_row`'s line."""
    return PROMPT % (prompt, prompt_id)
