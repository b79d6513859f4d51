"""Text from data is shown, never run: markup in prompts and responses stays text and loads nothing."""

import pytest

from annotation.importing import validate_lines
from annotation.services.imports import items_import
from tests import factories

from .browser import login, shot, wait_for_new_item

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = [
    '<img src=x onerror=alert(1)>',
    '<script>alert("script")</script>',
]


@pytest.fixture
def hostile_project(lead, annotator):
    project = factories.project("pairwise", name="Hostile text", members={lead: "lead", annotator: "annotator"},
                                annotations_per_item=1, guidelines='Guidelines <script>alert("guidelines")</script>')
    line = {
        "external_id": "xss-1",
        "conversation": [{"role": "user", "content": 'Please render <svg onload=alert("svg")> for me'}],
        "responses": [
            {"text": f"Here you go: {HOSTILE[0]} and {HOSTILE[1]}\n\n![tracking pixel](http://127.0.0.1:9/pixel.png)"},
            {"text": "[click me](javascript:alert('link'))\n\n<iframe src=\"javascript:alert('frame')\"></iframe>"},
        ],
    }
    items_import(project=project, lines=validate_lines([(1, line)], kind="pairwise", responses_per_item=2))
    return project


def test_markup_in_prompts_and_responses_shows_as_text_and_runs_nothing(live_server, new_page, hostile_project, annotator, lead):
    watched = new_page()
    page = watched.page
    login(page, live_server.url, annotator.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/projects/{hostile_project.id}/annotate")
    wait_for_new_item(page, None)
    page.keyboard.press("g")  # the guidelines are data too
    page.wait_for_selector("aside.guidelines")
    page.wait_for_timeout(500)  # give any injected handler time to fire
    shot(page, "10-hostile-text-as-text")

    task = page.locator(".task")
    text = task.inner_text()
    for needle in HOSTILE + ['<svg onload=alert("svg")>', "<iframe"]:
        assert needle in text
    assert "[image: tracking pixel — http://127.0.0.1:9/pixel.png]" in text
    assert page.locator(".task img, .task script, .task svg, .task iframe, aside script").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert 'alert("guidelines")' in page.locator("aside.guidelines").inner_text()

    page.keyboard.press("g")
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=all-done]")

    # The lead's item page shows the same text, as safely.
    lead_watch = new_page()
    login(lead_watch.page, live_server.url, lead.username, factories.PASSWORD)
    item = hostile_project.items.get()
    lead_watch.page.goto(f"{live_server.url}/projects/{hostile_project.id}/items/{item.id}")
    lead_watch.page.wait_for_selector("[data-testid=answer]")
    lead_watch.page.wait_for_timeout(300)
    assert HOSTILE[0] in lead_watch.page.locator(".item-detail").inner_text()
    assert lead_watch.page.locator(".item-detail img, .item-detail script, .item-detail iframe").count() == 0

    for w in (watched, lead_watch):
        assert w.dialogs == []
        assert w.page_errors == []
        remote = [url for url in w.requests if url.endswith("/x") or "pixel.png" in url or ":9/" in url]
        assert remote == []
