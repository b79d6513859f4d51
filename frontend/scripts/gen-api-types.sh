#!/bin/sh
# The API's TypeScript types, generated from the OpenAPI schema that drf-spectacular builds from the code:
# `npm run gen:api` rewrites src/lib/api-schema.d.ts; tests/test_api_types.py fails while it is out of date.
# The schema is built on the embedded defaults (DATABASE_URL empty: SQLite), because integer bounds follow the
# database and the file must not change with the machine that writes it.
set -eu
cd "$(dirname "$0")/.."
out="${1:-src/lib/api-schema.d.ts}"
schema="$(mktemp --suffix=.yaml)"
trap 'rm -f "$schema"' EXIT
DATABASE_URL= ${PYTHON:-../.venv/bin/python} ../manage.py spectacular --file "$schema"
node_modules/.bin/openapi-typescript "$schema" --output "$out" >/dev/null
