"""OpenAPI postprocessing: every operation documents the errors it can answer, in the one error shape.

drf-spectacular documents the success responses a view declares; the errors come from the exception handler
(annotation/api/errors.py), the same for every route, so they are added here once: which statuses, and the body.
"""

ERROR_SCHEMA = {
    "type": "object",
    "description": 'The API\'s one error shape: {"errors": [{"field": ..., "message": ...}]}.',
    "properties": {
        "detail": {"type": "string", "description": "The first message (errors that concern no one field)."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "nullable": True, "description": "The field, header or line at fault"},
                    "message": {"type": "string"},
                },
                "required": ["field", "message"],
            },
        },
    },
    "required": ["errors"],
}
ERRORS = {
    "400": "Invalid input: each error names its field (or file line).",
    "401": "Not signed in (or a bad token).",
    "403": "Signed in, but not allowed.",
    "404": "No such object, or not one the caller may see.",
    "409": "Conflicts with the current state (an answered assignment, a key reused for another answer...).",
    "413": "The request body is over the size limit.",
    "429": "Too many requests (sign-in attempts, queued work).",
    "503": "The database is unavailable for a moment; the response carries Retry-After.",
}
METHODS = ("get", "put", "post", "patch", "delete")


def document_errors(result, generator, request, public):
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in ERRORS.items():
                responses.setdefault(code, {"description": description, "content": body})
    return result
