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

import re

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


def assistant_json(text: str) -> bytes:
    """`[{"role": "assistant", "content": text}]`, keys sorted."""
    return b'[{"content":' + orjson.dumps(text) + b',"role":"assistant"}]'


# A raw line, keys sorted: the answer's part in five pieces (`raw_answer`), the item's (`{names}`, `raw_template`) and
# `kept` between them, so that an answer's pieces can be encoded once, before curation has said whether it is kept.
_RAW = (b'{%b,"is_gold":{is_gold},"item_id":{item_id},"kept":%b,"preference":%b,"prompt":{prompt},'
        b'"prompt_id":{prompt_id},"ranking":%b,"responses":{responses},"shown_order":%b,"split":{split},"text":%b}\n')
_RAW_HEAD = (b'"annotator":%b,"annotator_is_model":%b,"answer_id":%d,"both_bad":%b,"confidence":%b,"created_at":"%b",'
             b'"criteria":%b,"flags":%b')

_RAW_PIECES = re.split(rb"(\{[a-z_]+\})", _RAW)
_RAW_TEXT = _RAW_PIECES[0::2]  # the template's own pieces, around its {names}
_RAW_NAMES = tuple(name[1:-1].decode() for name in _RAW_PIECES[1::2])
assert _RAW_NAMES == ("is_gold", "item_id", "prompt", "prompt_id", "responses", "split"), _RAW_NAMES


def raw_template(*, is_gold: bool, item_id: int, prompt: bytes, prompt_id: bytes, responses: bytes,
                 split: bytes) -> bytes:
    """The raw line of one item's answers with the item's part filled in: `template % (head, kept, preference,
    ranking, shown_order, text)` with an answer's `raw_answer` pieces and kept's `BOOL`. Bytes arguments are
    encoded JSON; their % are doubled, and a prompt that reads "{split}" stays as it is (one pass, in order)."""
    t = _RAW_TEXT
    return b"".join((t[0], BOOL[is_gold], t[1], b"%d" % item_id, t[2], prompt.replace(b"%", b"%%"), t[3],
                     prompt_id.replace(b"%", b"%%"), t[4], responses.replace(b"%", b"%%"), t[5],
                     split.replace(b"%", b"%%"), t[6]))


def raw_answer(annotator: bytes, annotator_is_model: bool, answer_id: int, both_bad: bool, confidence: int | None,
               created_at: str, criteria: bytes, flags: bytes, preference: int | None, ranking: bytes,
               rationale: str, shown_order: bytes, text: str,
               time_spent_ms: int | None) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """An answer's part of its raw line, in the five pieces `raw_template`'s template takes around the item's part
    and kept; positional, since it runs once per answer. Bytes arguments are encoded JSON, `created_at` the ISO text
    (Z for UTC)."""
    return (_RAW_HEAD % (annotator, BOOL[annotator_is_model], answer_id, BOOL[both_bad], int_or_null(confidence),
                         created_at.encode(), criteria, flags),
            b"null" if preference is None else b"%d" % preference,
            ranking + b',"rationale":' + text_or_null(rationale),
            shown_order,
            text_or_null(text) + b',"time_spent_ms":' + int_or_null(time_spent_ms))


def raw_line(template: bytes, annotator: bytes, annotator_is_model: bool, answer_id: int, both_bad: bool,
             confidence: int | None, created_at: str, criteria: bytes, flags: bytes, kept: bool,
             preference: int | None, ranking: bytes, rationale: str, shown_order: bytes, text: str,
             time_spent_ms: int | None) -> bytes:
    """`rows.raw_row`'s line, in the item's `raw_template`, from the answer's `raw_answer` pieces."""
    head, preference_, ranking_, shown, tail = raw_answer(
        annotator, annotator_is_model, answer_id, both_bad, confidence, created_at, criteria, flags, preference,
        ranking, rationale, shown_order, text, time_spent_ms)
    return template % (head, BOOL[kept], preference_, ranking_, shown, tail)


_PREFERENCE = (b'{"adjudicated":%b,"adjudication_note":%b,"agreement":%b,"chosen":%b,"item_id":%d,"margin":%b,'
               b'"n_annotators":%d,"prompt":%b,"prompt_id":%b,"rejected":%b}\n')


def preference_line(*, prompt: bytes, chosen: bytes, rejected: bytes, margin: float, agreement: float | None,
                    n_annotators: int, prompt_id: bytes, item_id: int, adjudication_note: str | None) -> bytes:
    """`rows.preference_row`'s line without a ranking marker; `chosen`/`rejected` from `assistant_json`."""
    note = b"null" if adjudication_note is None else orjson.dumps(adjudication_note)
    return _PREFERENCE % (BOOL[adjudication_note is not None], note, number_json(agreement), chosen, item_id,
                          number_json(margin), n_annotators, prompt, prompt_id, rejected)


_KTO = b'{"completion":%b,"item_id":%d,"label":%b,"prompt":%b,"prompt_id":%b}\n'


def kto_line(*, prompt: bytes, completion: bytes, label: bool, prompt_id: bytes, item_id: int) -> bytes:
    """One row of `rows.kto_rows_from_pair`; `completion` from `assistant_json`."""
    return _KTO % (completion, item_id, BOOL[label], prompt, prompt_id)


def prompt_line(*, prompt: bytes, prompt_id: bytes) -> bytes:
    """`rows.prompt_row`'s line."""
    return b'{"prompt":%b,"prompt_id":%b}\n' % (prompt, prompt_id)
