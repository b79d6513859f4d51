"""The README's shell examples, run as a reader would run them, against a live server with the demo loaded."""

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation.models import Annotation

ROOT = Path(__file__).resolve().parent.parent

# Each curl also writes its HTTP status to stderr, so the test sees every answer's status while the
# commands' own stdout (piped into python3 in the README) is left as a reader gets it.
CURL_STATUS_TO_STDERR = "curl() { command curl -w '%{stderr}%{http_code}\\n' \"$@\"; }\n"


def readme_shell_block(section: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", body, re.S)
    assert blocks, f"no bash block under '## {section}'"
    return blocks[0]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("python3")), reason="needs curl and python3")
# Fresh sequences, as on a first `make run`: the README's project 1 is then the demo's pairwise project.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_the_using_the_api_example_submits_an_answer_to_the_item_next_handed_out(live_server):
    call_command("load_demo", stdout=io.StringIO())
    script = readme_shell_block("Using the API").replace("localhost:8000", live_server.url.removeprefix("http://"))
    assert "localhost:8000" not in script

    run = subprocess.run(["bash", "-euo", "pipefail", "-c", CURL_STATUS_TO_STDERR + script],
                         capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stderr
    statuses = run.stderr.split()
    assert statuses == ["200", "200", "201"], run.stderr  # token, next, submit
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    recorded = Annotation.objects.get(pk=answer["id"])
    assert recorded.annotator.username == "alice"
    assert recorded.project.name == "Demo: pairwise preferences"
    assert abs(recorded.preference) == 2  # "strength": 2, for one response or the other
