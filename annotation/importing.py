"""Parse and validate import files: JSON bodies, JSONL and CSV. No database access.

Every problem is reported as {line, field, message}; nothing is written unless every
line is valid. A line is one JSON object:

    {"external_id": "p-17", "conversation": [{"role": "user", "content": "..."}],
     "responses": [{"text": "...", "model": "sft-v1"}], "metadata": {...}}

``"prompt": "..."`` is accepted as a one-turn conversation. CSV files carry the same
fields as columns: external_id, prompt or conversation (JSON), response_1..response_K
with optional model_1..model_K, and metadata (JSON); no other column.

Nothing that PostgreSQL or the JSON encoders would refuse later gets through: no NUL
character in any text, no value nested deeper than json_input.MAX_DEPTH.
"""

import csv
import io
import re
from dataclasses import dataclass, field

from . import json_input  # orjson: 3-4x faster than json for the per-line parse of large imports

ROLES = ("system", "user", "assistant")
MAX_ERRORS = 200
MAX_ID = 200


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


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM); otherwise name the first undecodable line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportError_([_error(line, "file", "is not valid UTF-8 text (save the file as UTF-8)")]) from None


def _malformed(exc: json_input.MalformedJSON) -> str:
    return str(exc) if str(exc) == json_input.DEPTH_MESSAGE else f"{exc} at column {exc.colno}"


def raw_lines_from_jsonl(text: str) -> list[tuple[int, object]]:
    out, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            out.append((number, json_input.loads(raw)))
        except json_input.MalformedJSON as exc:
            errors.append(_error(number, "line", _malformed(exc)))
    if errors:
        raise ImportError_(errors[:MAX_ERRORS])
    return out


def _json_cell(number: int, column: str, value: str, errors: list):
    try:
        return json_input.loads(value)
    except json_input.MalformedJSON as exc:
        errors.append(_error(number, column, f"{exc} in this column"))
        return None


_NUMBERED = re.compile(r"(response|model)_([1-9][0-9]*)")
_COLUMNS = ("external_id", "prompt", "conversation", "metadata")


def _csv_header(columns: list[str]) -> tuple[list[tuple[str, str | None]], list[dict]]:
    """The response columns in order, each with its model column; or the header's errors."""
    if "external_id" not in columns or not ({"prompt", "conversation"} & set(columns)):
        return [], [_error(1, "header", "a CSV needs the columns external_id and prompt (or conversation)")]
    errors, numbered = [], {}
    for i, name in enumerate(columns):
        if json_input.NUL in name:
            errors.append(_error(1, "header", json_input.NUL_MESSAGE))
        elif name in columns[:i]:
            errors.append(_error(1, name, "this column appears twice in the header"))
        elif (match := _NUMBERED.fullmatch(name)) is not None:
            numbered[(match[1], int(match[2]))] = name
        elif name not in _COLUMNS:
            errors.append(_error(1, name, "unknown column: the columns are external_id, prompt (or conversation), "
                                          "response_1 … response_K, model_1 … model_K and metadata"))
    for (kind, n), name in sorted(numbered.items()):
        if kind == "model" and ("response", n) not in numbered:
            errors.append(_error(1, name, f"there is no response_{n} column for this model column"))
    responses = [(name, numbered.get(("model", n))) for (kind, n), name in sorted(numbered.items()) if kind == "response"]
    return responses, errors


def _csv_records(text: str, errors: list):
    """(first line, cells) per record; a record is cut short by a malformed quote, which is reported."""
    reader = csv.reader(io.StringIO(text), strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "end of data" in str(exc):
                errors.append(_error(start, "line", "unterminated quote: the quoted cell opened on this line is never "
                                                    "closed (a \" inside a quoted cell is written \"\")"))
                return
            errors.append(_error(reader.line_num, "line", f"malformed CSV: {exc}"))
            continue
        if cells:
            yield start, cells


def _csv_object(number: int, row: dict, responses: list, errors: list) -> dict:
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


def raw_lines_from_csv(text: str) -> list[tuple[int, object]]:
    errors: list[dict] = []
    records = _csv_records(text, errors)
    _, columns = next(records, (1, []))
    responses, header_errors = _csv_header(columns)
    if errors or header_errors:
        raise ImportError_((errors or header_errors)[:MAX_ERRORS])
    out = []
    for number, cells in records:
        if len(cells) > len(columns):
            errors.append(_error(number, "line", "has more cells than the header has columns"))
            continue
        row = dict(zip(columns, cells, strict=False))
        bad = next((column for column, cell in row.items() if json_input.NUL in cell), None)
        if bad is not None:
            errors.append(_error(number, bad, json_input.NUL_MESSAGE))
            continue
        out.append((number, _csv_object(number, row, responses, errors)))
    if errors:
        raise ImportError_(sorted(errors, key=lambda e: e["line"])[:MAX_ERRORS])
    return out


def _conversation(number: int, obj: dict, errors: list) -> list[dict] | None:
    if "conversation" in obj and "prompt" in obj:
        errors.append(_error(number, "prompt", "give either prompt or conversation, not both"))
        return None
    if "prompt" in obj:
        prompt = obj["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            errors.append(_error(number, "prompt", "must be non-empty text"))
            return None
        return [{"role": "user", "content": prompt}]
    conv = obj.get("conversation")
    if conv is None:
        errors.append(_error(number, "conversation", "required (or a prompt string)"))
        return None
    if not isinstance(conv, list) or not conv:
        errors.append(_error(number, "conversation", "must be a non-empty list of {role, content} messages"))
        return None
    for i, msg in enumerate(conv):
        if not isinstance(msg, dict) or len(msg) != 2 or msg.get("role") not in ROLES:
            errors.append(_error(number, f"conversation[{i}]", f"must be {{role, content}} with role one of {list(ROLES)}"))
            return None
        if not isinstance(msg.get("content"), str) or not msg["content"].strip():
            errors.append(_error(number, f"conversation[{i}].content", "must be non-empty text"))
            return None
    if conv[-1]["role"] != "user":
        errors.append(_error(number, "conversation", "the last message must be the user's turn"))
        return None
    first = 1 if conv[0]["role"] == "system" else 0
    for i, msg in enumerate(conv[first:], start=first):
        expected = "user" if (i - first) % 2 == 0 else "assistant"
        if msg["role"] != expected:
            errors.append(_error(number, f"conversation[{i}].role",
                                 f"must be {expected!r}: after an optional leading system message, the turns alternate "
                                 "user / assistant"))
            return None
    return conv  # exactly {role, content} each, checked above


def _responses(number: int, obj: dict, expected: int, kind: str, errors: list) -> list[dict] | None:
    responses = obj.get("responses", [])
    if not isinstance(responses, list):
        errors.append(_error(number, "responses", "must be a list of {text, model}"))
        return None
    if len(responses) != expected:
        if kind == "demonstration":
            message = f"a demonstration project takes no responses, got {len(responses)}"
        else:
            message = f"a {kind} project needs exactly {expected} responses, got {len(responses)}"
        errors.append(_error(number, "responses", message))
        return None
    out = []
    for i, resp in enumerate(responses):
        if isinstance(resp, str):
            resp = {"text": resp}
        if not isinstance(resp, dict) or not isinstance(resp.get("text"), str) or not resp["text"].strip():
            errors.append(_error(number, f"responses[{i}].text", "must be non-empty text"))
            return None
        model = resp.get("model", "")
        if not isinstance(model, str) or len(model) > 200:
            errors.append(_error(number, f"responses[{i}].model", "must be text of at most 200 characters"))
            return None
        twin = next((j for j, earlier in enumerate(out) if earlier["text"].strip() == resp["text"].strip()), None)
        if twin is not None:
            errors.append(_error(number, f"responses[{i}].text",
                                 f"is the same text as responses[{twin}]: an item compares different responses"))
            return None
        out.append({"text": resp["text"], "model": model})
    return out


def validate_lines(raw: list[tuple[int, object]], *, kind: str, responses_per_item: int) -> list[ImportLine]:
    """Check every line; raise ImportError_ listing every problem, or return the clean lines."""
    if not raw:
        raise ImportError_([_error(None, "file", EMPTY)])
    errors: list[dict] = []
    seen: dict[str, int] = {}
    lines: list[ImportLine] = []
    for number, obj in raw:
        if len(errors) >= MAX_ERRORS:
            break
        if not isinstance(obj, dict):
            errors.append(_error(number, "line", "must be a JSON object"))
            continue
        problem = json_input.first_problem(obj)
        if problem is not None:
            errors.append(_error(number, problem[0], problem[1]))
            continue
        unknown = set(obj) - {"external_id", "conversation", "prompt", "responses", "metadata"}
        if unknown:
            errors.append(_error(number, sorted(unknown)[0], "unknown field"))
            continue
        ext = obj.get("external_id")
        if isinstance(ext, int) and not isinstance(ext, bool):
            ext = str(ext)
        if not isinstance(ext, str) or not ext.strip() or len(ext) > MAX_ID:
            errors.append(_error(number, "external_id", f"required: text of 1..{MAX_ID} characters"))
            continue
        if ext in seen:
            errors.append(_error(number, "external_id", f"duplicate id {ext!r} (first on line {seen[ext]})"))
            continue
        seen[ext] = number
        metadata = obj.get("metadata", {})
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            errors.append(_error(number, "metadata", "must be a JSON object"))
            continue
        conversation = _conversation(number, obj, errors)
        responses = _responses(number, obj, responses_per_item, kind, errors)
        if conversation is not None and responses is not None:
            lines.append(ImportLine(number, ext, conversation, responses, metadata))
    if errors:
        raise ImportError_(errors[:MAX_ERRORS])
    return lines


def parse_upload(data: bytes, filename: str) -> list[tuple[int, object]]:
    if not data.strip():
        raise ImportError_([_error(None, "file", EMPTY)])
    text = decode(data)
    if filename.lower().endswith(".csv"):
        return raw_lines_from_csv(text)
    if filename.lower().endswith(".json"):
        try:
            body = json_input.loads(text)
        except json_input.MalformedJSON as exc:
            raise ImportError_([_error(exc.lineno, "file", str(exc))]) from None
        return raw_lines_from_body(body)
    return raw_lines_from_jsonl(text)


def raw_lines_from_body(body) -> list[tuple[int, object]]:
    """A JSON body {"items": [...]} (or a bare list): line numbers are 1-based positions."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise ImportError_([_error(None, "items", 'must be a list: {"items": [...]}')])
    if not items:
        raise ImportError_([_error(None, "items", "is empty: no items to import")])
    return list(enumerate(items, start=1))
