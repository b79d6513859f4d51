"""A lead previews an import (pasted JSONL, then a file), sees every problem at once, fixes it and imports."""

import json

import pytest

from annotation.models import Item, Prompt
from tests import factories

from .browser import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def line(i: int, **fields) -> dict:
    return {"external_id": f"q-{i}", "prompt": f"Question {i}: say it kindly.", "responses": [
        {"text": f"Kind answer {i}.", "model": "sft"}, {"text": f"Blunt answer {i}.", "model": "base"}], **fields}


def test_a_lead_previews_pasted_jsonl_sees_every_problem_then_imports_a_file(live_server, new_page, lead):
    project = factories.project("pairwise", members={lead: "lead"})
    factories.items(project, 1)  # p-0, already there
    watched = new_page()
    page = watched.page
    login(page, live_server.url, lead.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.id}/import")

    bad = [line(1), line(2, responses=[{"text": "only one"}]), line(1), line(4, prompt=""), "{broken"]
    page.fill("[data-testid=import-paste]", "\n".join(x if isinstance(x, str) else json.dumps(x) for x in bad))
    page.click("button:text('Preview')")
    table = page.locator("[data-testid=import-errors]")
    table.wait_for()
    rows = [tuple(row.locator("td").all_inner_texts()[:2]) for row in table.locator("tbody tr").all()]
    assert rows == [("2", "responses"), ("3", "external_id"), ("4", "prompt"), ("5", "line")]
    assert "4 problems" in page.inner_text("[data-testid=import-preview]")
    assert page.is_disabled("button:text('Import')")
    shot(page, "18-import-preview-errors")

    good = [line(i) for i in range(1, 13)] + [{**line(0), "external_id": "p-0"}]
    page.set_input_files("input[type=file]", files=[{"name": "items.jsonl", "mimeType": "application/json",
                                                     "buffer": "\n".join(json.dumps(x) for x in good).encode()}])
    assert page.input_value("[data-testid=import-paste]") == ""  # the file replaces the pasted text
    page.click("button:text('Preview')")
    page.wait_for_selector("[data-testid=import-preview] >> text=Ready: 12 new items to import; 1 item is already there")
    ids = page.locator("[data-testid=import-preview-rows] tbody tr td:nth-child(2)").all_inner_texts()
    assert ids == [f"q-{i}" for i in range(1, 11)]
    assert Prompt.objects.filter(project=project).count() == 1  # the preview wrote nothing
    shot(page, "19-import-preview")

    page.click("button:text('Import')")
    page.wait_for_selector("[data-testid=import-result] >> text=Imported 12 new items")
    assert Item.objects.filter(project=project).count() == 13
    assert watched.page_errors == [] and watched.dialogs == []
