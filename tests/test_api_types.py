"""The web app's API types are generated from the OpenAPI schema, and the checked-in file is the current one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"


@pytest.mark.skipif(not GENERATOR.exists(), reason="needs the frontend's packages (cd frontend && npm ci)")
def test_the_checked_in_api_types_are_generated_from_the_current_schema(tmp_path):
    out = tmp_path / "api-schema.d.ts"
    subprocess.run(["sh", "scripts/gen-api-types.sh", str(out)], cwd=FRONTEND,
                   env={**os.environ, "PYTHON": sys.executable}, check=True, timeout=300)
    checked_in = (FRONTEND / "src" / "lib" / "api-schema.d.ts").read_text()
    assert '"/api/projects/"' in out.read_text()
    assert out.read_text() == checked_in, "frontend/src/lib/api-schema.d.ts is stale: cd frontend && npm run gen:api"
