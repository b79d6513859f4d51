"""Parse and validate import files: JSON bodies, JSONL and CSV. No database access.

Every problem is reported as {line, field, message}; nothing is written unless every
line is valid, and every problem of a file is reported at once (the first MAX_ERRORS, then
how many more). A line is one JSON object:

    {"external_id": "p-17", "conversation": [{"role": "user", "content": "..."}],
     "responses": [{"text": "...", "model": "sft-v1"}], "metadata": {...}}

``"prompt": "..."`` is accepted as a one-turn conversation. CSV files carry the same
fields as columns: external_id, prompt or conversation (JSON), response_1..response_K
with optional model_1..model_K, and metadata (JSON); no other column.

JSONL and CSV files are read as a stream, one line or record at a time (``records``), so that
memory does not follow the file's size; so is a .json file, item by item (ijson); a JSON body is read whole.

Nothing that PostgreSQL or the JSON encoders would refuse later gets through: no NUL
character in any text, no value nested deeper than json_input.MAX_DEPTH, no text past Limits.
"""

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from . import json_input  # orjson: 3-4x faster than json for the per-line parse of large imports

ROLES = ("system", "user", "assistant")
MAX_ERRORS = 100
FIELDS = {"external_id", "conversation", "prompt", "responses", "metadata"}


@dataclass(frozen=True)
class Limits:
    """Caps on one line's text; the settings IMPORT_MAX_* set them (services.imports.import_limits)."""

    turn_chars: int = 100_000  # one message of the conversation (or the prompt)
    response_chars: int = 100_000
    metadata_bytes: int = 64 * 1024  # serialized as JSON
    id_chars: int = 200  # the database column's length
    line_bytes: int = 8 * 1024 * 1024  # a JSONL line or a CSV record, read before anything else is checked


@dataclass
class ImportLine:
    line: int
    external_id: str
    conversation: list[dict]
    responses: list[dict] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


class ImportError_(ValueError):
    def __init__(self, errors: list[dict]):
        super().__init__(f"{len(errors)} error(s), first: {errors[0]}")
        self.errors = errors


def _error(line: int | None, field_name: str, message: str) -> dict:
    """One problem; ``line`` is None for the file or body as a whole."""
    return {"line": line, "field": field_name, "message": message}


EMPTY = "the file is empty: no items to import"
NOT_UTF8 = "is not valid UTF-8 text (save the file as UTF-8)"


class Errors:
    """Every problem of one import: the first ``cap`` kept, the rest counted."""

    def __init__(self, cap: int = MAX_ERRORS):
        self.cap, self.listed, self.total = cap, [], 0

    def add(self, line: int | None, field_name: str, message: str) -> None:
        self.total += 1
        if len(self.listed) < self.cap:
            self.listed.append(_error(line, field_name, message))

    def all(self) -> list[dict]:
        more = self.total - len(self.listed)
        if more <= 0:
            return list(self.listed)
        return [*self.listed, _error(None, "file", f"and {more:,} more errors not listed: the first {self.cap} are")]

    def raise_any(self) -> None:
        if self.total:
            raise ImportError_(self.all())


def _chars(number: int, field_name: str, text: str, limit: int, setting: str, errors: Errors) -> bool:
    if len(text) <= limit:
        return True
    errors.add(number, field_name, f"is {len(text):,} characters; the limit is {limit:,} ({setting})")
    return False


def _malformed(exc: json_input.MalformedJSON) -> str:
    return str(exc) if str(exc) == json_input.DEPTH_MESSAGE else f"{exc} at column {exc.colno}"


def _encoding_problem(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (len(head) > 1 and b"\x00" in head[:2]):
        return "is UTF-16 text (or binary): save the file as UTF-8 text"
    return None


def _decoded_lines(stream: BinaryIO, limit: int, errors: Errors) -> Iterator[str]:
    """Every line of the file as text, one at a time.

    A line past ``limit`` bytes is reported and stands as an empty line (so that the numbering holds);
    the first line that is not UTF-8 is reported and ends the file.
    """
    number = 0
    while raw := stream.readline(limit + 1):
        number += 1
        if number == 1:
            if (problem := _encoding_problem(raw)) is not None:
                errors.add(1, "file", problem)
                return
            raw = raw.removeprefix(codecs.BOM_UTF8)
        if len(raw) > limit and not raw.endswith(b"\n"):
            errors.add(number, "line", f"is longer than {limit:,} bytes (IMPORT_MAX_LINE_BYTES)")
            while raw and not raw.endswith(b"\n"):  # skip the rest of it without holding it
                raw = stream.readline(1 << 20)
            raw = b"\n"
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.add(number, "file", NOT_UTF8)
            return


def jsonl_records(stream: BinaryIO, errors: Errors, limits: Limits) -> Iterator[tuple[int, object]]:
    for number, text in enumerate(_decoded_lines(stream, limits.line_bytes, errors), start=1):
        if not text.strip():
            continue
        try:
            yield number, json_input.loads(text)
        except json_input.MalformedJSON as exc:
            errors.add(number, "line", _malformed(exc))


def raw_lines_from_jsonl(text: str) -> list[tuple[int, object]]:
    errors = Errors()
    out = list(jsonl_records(io.BytesIO(text.encode()), errors, Limits()))
    errors.raise_any()
    return out


def _json_cell(number: int, column: str, value: str, errors: Errors):
    try:
        return json_input.loads(value)
    except json_input.MalformedJSON as exc:
        errors.add(number, column, f"{exc} in this column")
        return None


_NUMBERED = re.compile(r"(response|model)_([1-9][0-9]*)")
_COLUMNS = ("external_id", "prompt", "conversation", "metadata")


def _csv_header(columns: list[str], errors: Errors) -> list[tuple[str, str | None]]:
    """The response columns in order, each with its model column; the header's problems go to ``errors``."""
    if "external_id" not in columns or not ({"prompt", "conversation"} & set(columns)):
        errors.add(1, "header", "a CSV needs a header line with the columns external_id and prompt (or conversation)")
        return []
    numbered = {}
    for i, name in enumerate(columns):
        if json_input.NUL in name:
            errors.add(1, "header", json_input.NUL_MESSAGE)
        elif name in columns[:i]:
            errors.add(1, name, "this column appears twice in the header")
        elif (match := _NUMBERED.fullmatch(name)) is not None:
            numbered[(match[1], int(match[2]))] = name
        elif name not in _COLUMNS:
            errors.add(1, name, "unknown column: the columns are external_id, prompt (or conversation), "
                                "response_1 … response_K, model_1 … model_K and metadata")
    for (kind, n), name in sorted(numbered.items()):
        if kind == "model" and ("response", n) not in numbered:
            errors.add(1, name, f"there is no response_{n} column for this model column")
    return [(name, numbered.get(("model", n))) for (kind, n), name in sorted(numbered.items()) if kind == "response"]


def _csv_records(lines: Iterator[str], errors: Errors):
    """(first line, cells) per record; a record is cut short by a malformed quote, which is reported."""
    reader = csv.reader(lines, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc):
                errors.add(start, "line", "unterminated quote: the quoted cell opened on this line is never "
                                          "closed (a \" inside a quoted cell is written \"\")")
                return
            errors.add(reader.line_num, "line", f"malformed CSV: {exc}")
            continue
        if any(cell.strip() for cell in cells):
            yield start, cells


def _csv_object(number: int, row: dict, responses: list, errors: Errors) -> dict:
    obj: dict = {"external_id": row.get("external_id") or ""}
    if row.get("conversation"):
        obj["conversation"] = _json_cell(number, "conversation", row["conversation"], errors)
    else:
        obj["prompt"] = row.get("prompt") or ""
    if responses:
        obj["responses"] = [{"text": row[col], "model": row.get(model) or ""} for col, model in responses if row.get(col)]
    if row.get("metadata"):
        obj["metadata"] = _json_cell(number, "metadata", row["metadata"], errors)
    return obj


def csv_records(stream: BinaryIO, errors: Errors, limits: Limits) -> Iterator[tuple[int, object]]:
    csv.field_size_limit(max(csv.field_size_limit(), limits.line_bytes))  # process-wide; only ever raised
    records = _csv_records(_decoded_lines(stream, limits.line_bytes, errors), errors)
    _, columns = next(records, (1, []))
    responses = _csv_header(columns, errors) if columns else []
    if errors.total:
        return
    for number, cells in records:
        if len(cells) != len(columns):
            fewer_or_more = "fewer" if len(cells) < len(columns) else "more"
            errors.add(number, "line", f"has {len(cells)} cells, {fewer_or_more} than the header's {len(columns)} columns")
            continue
        row = dict(zip(columns, cells, strict=True))
        bad = next((column for column, cell in row.items() if json_input.NUL in cell), None)
        if bad is not None:
            errors.add(number, bad, json_input.NUL_MESSAGE)
            continue
        yield number, _csv_object(number, row, responses, errors)


def raw_lines_from_csv(text: str) -> list[tuple[int, object]]:
    errors = Errors()
    out = list(csv_records(io.BytesIO(text.encode()), errors, Limits()))
    errors.raise_any()
    return out


def _turns(number: int, conv, limits: Limits, errors: Errors) -> list[dict] | None:
    if not isinstance(conv, list) or not conv:
        errors.add(number, "conversation", "must be a non-empty list of {role, content} messages")
        return None
    for i, msg in enumerate(conv):
        if not isinstance(msg, dict) or len(msg) != 2 or msg.get("role") not in ROLES:
            errors.add(number, f"conversation[{i}]", f"must be {{role, content}} with role one of {list(ROLES)}")
            return None
        if not isinstance(msg.get("content"), str) or not msg["content"].strip():
            errors.add(number, f"conversation[{i}].content", "must be non-empty text")
            return None
        if not _chars(number, f"conversation[{i}].content", msg["content"], limits.turn_chars, "IMPORT_MAX_TURN_CHARS",
                      errors):
            return None
    if conv[-1]["role"] != "user":
        errors.add(number, "conversation", "the last message must be the user's turn")
        return None
    first = 1 if conv[0]["role"] == "system" else 0
    for i, msg in enumerate(conv[first:], start=first):
        expected = "user" if (i - first) % 2 == 0 else "assistant"
        if msg["role"] != expected:
            errors.add(number, f"conversation[{i}].role", f"must be {expected!r}: after an optional leading system "
                                                          "message, the turns alternate user / assistant")
            return None
    return conv  # exactly {role, content} each, checked above


def _conversation(number: int, obj: dict, limits: Limits, errors: Errors) -> list[dict] | None:
    if "conversation" in obj and "prompt" in obj:
        errors.add(number, "prompt", "give either prompt or conversation, not both")
        return None
    if "prompt" in obj:
        prompt = obj["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            errors.add(number, "prompt", "must be non-empty text")
            return None
        if not _chars(number, "prompt", prompt, limits.turn_chars, "IMPORT_MAX_TURN_CHARS", errors):
            return None
        return [{"role": "user", "content": prompt}]
    if obj.get("conversation") is None:
        errors.add(number, "conversation", "required (or a prompt string)")
        return None
    return _turns(number, obj["conversation"], limits, errors)


def _response(number: int, i: int, resp, limits: Limits, errors: Errors) -> dict | None:
    if isinstance(resp, str):
        resp = {"text": resp}
    if not isinstance(resp, dict) or not isinstance(resp.get("text"), str) or not resp["text"].strip():
        errors.add(number, f"responses[{i}].text", "must be non-empty text")
        return None
    if not _chars(number, f"responses[{i}].text", resp["text"], limits.response_chars, "IMPORT_MAX_RESPONSE_CHARS",
                  errors):
        return None
    model = resp.get("model", "")
    if not isinstance(model, str) or len(model) > 200:
        errors.add(number, f"responses[{i}].model", "must be text of at most 200 characters")
        return None
    return {"text": resp["text"], "model": model}


def _responses(number: int, obj: dict, expected: int, kind: str, limits: Limits, errors: Errors) -> list[dict] | None:
    responses = obj.get("responses", [])
    if not isinstance(responses, list):
        errors.add(number, "responses", "must be a list of {text, model}")
        return None
    if len(responses) != expected:
        if kind == "demonstration":
            message = f"a demonstration project takes no responses, got {len(responses)}"
        else:
            message = f"a {kind} project needs exactly {expected} responses, got {len(responses)}"
        errors.add(number, "responses", message)
        return None
    out = []
    for i, raw in enumerate(responses):
        resp = _response(number, i, raw, limits, errors)
        if resp is None:
            return None
        twin = next((j for j, earlier in enumerate(out) if earlier["text"].strip() == resp["text"].strip()), None)
        if twin is not None:
            errors.add(number, f"responses[{i}].text",
                       f"is the same text as responses[{twin}]: an item compares different responses")
            return None
        out.append(resp)
    return out


class LineChecker:
    """Checks lines one at a time, remembering only the external ids seen (for duplicates) and the problems."""

    def __init__(self, *, kind: str, responses_per_item: int, limits: Limits | None = None,
                 errors: Errors | None = None):
        self.kind, self.expected = kind, responses_per_item
        self.limits = limits or Limits()
        self.errors = errors if errors is not None else Errors()
        self.seen: dict[str, int] = {}
        self.lines = 0  # lines read, valid or not

    def check(self, number: int, obj) -> ImportLine | None:
        """The clean line, or None with its problem recorded."""
        self.lines += 1
        if not isinstance(obj, dict):
            self.errors.add(number, "line", "must be a JSON object")
            return None
        problem = json_input.first_problem(obj)
        if problem is not None:
            self.errors.add(number, problem[0], problem[1])
            return None
        if unknown := set(obj) - FIELDS:
            self.errors.add(number, sorted(unknown)[0], "unknown field")
            return None
        ext = self._external_id(number, obj.get("external_id"))
        metadata = self._metadata(number, obj.get("metadata"))
        if ext is None or metadata is None:
            return None
        conversation = _conversation(number, obj, self.limits, self.errors)
        responses = _responses(number, obj, self.expected, self.kind, self.limits, self.errors)
        if conversation is None or responses is None:
            return None
        return ImportLine(number, ext, conversation, responses, metadata)

    def _external_id(self, number: int, ext) -> str | None:
        if isinstance(ext, int) and not isinstance(ext, bool):
            ext = str(ext)
        if not isinstance(ext, str) or not ext.strip() or len(ext) > self.limits.id_chars:
            self.errors.add(number, "external_id", f"required: text of 1..{self.limits.id_chars} characters "
                                                   "(IMPORT_MAX_ID_CHARS)")
            return None
        if ext in self.seen:
            self.errors.add(number, "external_id", f"duplicate id {ext!r} (first on line {self.seen[ext]})")
            return None
        self.seen[ext] = number
        return ext

    def _metadata(self, number: int, metadata) -> dict | None:
        if metadata is None:
            return {}
        if not isinstance(metadata, dict):
            self.errors.add(number, "metadata", "must be a JSON object")
            return None
        size = len(orjson.dumps(metadata))
        if size > self.limits.metadata_bytes:
            self.errors.add(number, "metadata", f"is {size:,} bytes as JSON; the limit is {self.limits.metadata_bytes:,} "
                                                "(IMPORT_MAX_METADATA_BYTES)")
            return None
        return metadata

    def finish(self, empty: tuple[str, str] = ("file", EMPTY)) -> None:
        """Raise ImportError_ with every problem, or for a file (or body) with no line at all."""
        if not self.lines and not self.errors.total:
            self.errors.add(None, *empty)
        self.errors.raise_any()


def validate_lines(raw: list[tuple[int, object]], *, kind: str, responses_per_item: int,
                   limits: Limits | None = None) -> list[ImportLine]:
    """Check every line; raise ImportError_ listing every problem, or return the clean lines."""
    checker = LineChecker(kind=kind, responses_per_item=responses_per_item, limits=limits)
    lines = [line for number, obj in raw if (line := checker.check(number, obj)) is not None]
    checker.finish()
    return lines


def records(stream: BinaryIO, filename: str, errors: Errors, limits: Limits) -> Iterator[tuple[int, object]]:
    """(line number, parsed object) of each line of an uploaded file; a line's problems go to ``errors``."""
    name = filename.lower()
    if name.endswith(".csv"):
        return csv_records(stream, errors, limits)
    if name.endswith(".json"):
        return _json_file_records(stream, errors)
    return jsonl_records(stream, errors, limits)


_OPENS, _CLOSES = ("start_map", "start_array"), ("end_map", "end_array")


class _Unsure(Exception):
    """The item-by-item reading cannot vouch for the rest of the document: it is read whole instead."""


class SurrogateWatch:
    r"""A reader over a JSON document that notices a \uD800-\uDFFF escape which is not a high-low pair. ijson turns
    one into "?" where orjson refuses it, so a document with one is read whole (and refused, naming the line)."""

    ESCAPE = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|\\u[dD][c-fC-F][0-9a-fA-F]{2}")
    PAIR_START = re.compile(rb"(?:\\(?:u(?:[dD](?:[c-fC-F][0-9a-fA-F]?)?)?)?)?\Z")  # what may begin a low escape

    def __init__(self, stream: BinaryIO):
        self.stream, self.tail, self.skip, self.unpaired = stream, b"", 0, False

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        buf, deferred, judged = self.tail + chunk, None, self.skip
        for m in self.ESCAPE.finditer(buf, self.skip):
            lone = m.end() - m.start() == 6
            if lone and chunk and buf[m.start() + 3] in b"89abAB" and self.PAIR_START.match(buf, m.end()):
                deferred = m.start()  # a high escape whose low may come with the next read
                break
            self.unpaired = self.unpaired or lone
            judged = m.end()
        # Keep what the next read may complete: a deferred escape, or the last bytes of a cut one.
        keep = deferred if deferred is not None else max(len(buf) - 11, judged)
        self.tail, self.skip = buf[keep:], 0 if deferred is not None else judged - keep if judged > keep else 0
        return chunk


def _streamed_items(reader: SurrogateWatch) -> Iterator[object]:
    """The items of {"items": [...]} or of a bare list, as ijson's events build them, one at a time."""
    import ijson

    target, listed, builder, depth, count = None, False, None, 0, 0
    try:
        for prefix, event, value in ijson.parse(reader, use_float=True):
            if target is None:
                target = "item" if event == "start_array" else "items.item"
            if builder is None and not (prefix == target and event not in _CLOSES):
                if prefix == target.removesuffix("item").removesuffix("."):  # where the list should stand
                    listed = listed or event == "start_array"
                continue
            builder = builder or ijson.ObjectBuilder()
            builder.event(event, value)
            depth += (event in _OPENS) - (event in _CLOSES)
            if depth > json_input.MAX_DEPTH:
                raise _Unsure  # orjson says how deep, and where
            if depth == 0:
                if reader.unpaired:
                    raise _Unsure
                count += 1
                yield builder.value
                builder = None
    except ijson.JSONError as exc:
        raise _Unsure from exc
    if not listed or count == 0 or reader.unpaired:
        raise _Unsure  # the whole reading names what is wrong with the document, as it always has


def _json_file_records(stream: BinaryIO, errors: Errors) -> Iterator[tuple[int, object]]:
    """A .json file is one document, {"items": [...]} or a bare list, read item by item (ijson) so that memory does
    not follow the file's size. A document the item-by-item reading cannot vouch for (malformed, not a list, an
    unpaired surrogate) is read again whole, and its items from where the first reading stopped."""
    start = stream.tell()
    head = stream.read(4)
    if (problem := _encoding_problem(head)) is not None:
        errors.add(1, "file", problem)
        return
    stream.seek(start + (3 if head.startswith(codecs.BOM_UTF8) else 0))
    count = 0
    try:
        for obj in _streamed_items(SurrogateWatch(stream)):
            count += 1
            yield count, obj
    except _Unsure:
        stream.seek(start)
        data = stream.read().removeprefix(codecs.BOM_UTF8)
        if not data.strip():
            return  # nothing but whitespace: the caller says the file is empty
        try:
            body = json_input.loads(data)
        except json_input.MalformedJSON as exc:
            errors.add(exc.lineno, "file", str(exc))
            return
        yield from body_records(body, errors)[count:]


def parse_upload(data: bytes, filename: str) -> list[tuple[int, object]]:
    errors = Errors()
    out = list(records(io.BytesIO(data), filename, errors, Limits()))
    errors.raise_any()
    if not out:
        raise ImportError_([_error(None, "file", EMPTY)])
    return out


def body_records(body, errors: Errors) -> list[tuple[int, object]]:
    """A JSON body {"items": [...]} (or a bare list): line numbers are 1-based positions."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        errors.add(None, "items", 'must be a list: {"items": [...]}')
        return []
    if not items:
        errors.add(None, "items", "is empty: no items to import")
    return list(enumerate(items, start=1))


def raw_lines_from_body(body) -> list[tuple[int, object]]:
    errors = Errors()
    out = body_records(body, errors)
    errors.raise_any()
    return out
