"""Limits on untrusted JSON: how deep it nests and the NUL character. Pure: no Django.

PostgreSQL stores no NUL (U+0000) in text or jsonb, and deeply nested values break the recursive
encoders and decoders on the way (the standard json module raises RecursionError; orjson refuses to
read past 1024 levels and to write past 255). So request bodies and import files are read with
orjson and walked once, without recursion, before anything else sees them.
"""

import json

import orjson

MAX_DEPTH = 64  # far more than any real prompt, answer or metadata needs
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (\\u0000)"
DEPTH_MESSAGE = f"nests deeper than {MAX_DEPTH} levels"


class MalformedJSON(ValueError):
    """Not JSON (or beyond orjson's own depth limit); ``lineno`` and ``colno`` where the parser stopped."""

    def __init__(self, message: str, lineno: int = 1, colno: int = 1):
        super().__init__(message)
        self.lineno, self.colno = lineno, colno


def loads(data: bytes | str):
    """Parse one JSON document with orjson, or raise MalformedJSON with a readable message."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in exc.msg:
            raise MalformedJSON(DEPTH_MESSAGE, exc.lineno, exc.colno) from None
        try:  # orjson's messages are terse; the standard parser names the column
            json.loads(data)
        except json.JSONDecodeError as std:
            raise MalformedJSON(f"malformed JSON: {std.msg}", std.lineno, std.colno) from None
        except (RecursionError, ValueError):
            raise MalformedJSON(f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None
        # Accepted by json but not by orjson: refuse it, it would not round-trip.
        raise MalformedJSON("malformed JSON: non-standard value (NaN, Infinity or a lone surrogate)",
                            exc.lineno, exc.colno) from None


def _path(parts: tuple) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _first_problem(value, max_depth: int, text: bool) -> tuple[tuple, str] | None:
    # Depth first, in document order, without recursion; a path is built only for a container.
    stack = [(value, (), 0)]
    while stack:
        node, parts, depth = stack.pop()
        if isinstance(node, dict):
            children = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        else:
            continue
        if depth >= max_depth:
            return parts[:1], DEPTH_MESSAGE
        pending = []
        for key, child in children:
            if text and isinstance(key, str) and NUL in key:
                return parts + (key,), NUL_MESSAGE
            if isinstance(child, str):
                if text and NUL in child:
                    return parts + (key,), NUL_MESSAGE
            elif isinstance(child, (dict, list)):
                pending.append((child, parts + (key,), depth + 1))
        stack.extend(reversed(pending))
    return None


def first_problem(value, *, max_depth: int = MAX_DEPTH, text: bool = True) -> tuple[str, str] | None:
    """(field path, message) of the first value that nests too deep or, with ``text``, holds a NUL; else None.

    A path reads like the API's error fields: ``items[3].responses[0].text``; for nesting, the top-level field.
    """
    if isinstance(value, str):
        return ("", NUL_MESSAGE) if text and NUL in value else None
    found = _first_problem(value, max_depth, text)
    return None if found is None else (_path(found[0]), found[1])
