"""A lead tunes the curation rules against the live preview, saves them, and freezes a snapshot a worker builds."""

import hashlib
import random
from pathlib import Path

import pytest

from tests import factories

from .browser import api_request, api_token, login, shot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

RULES_OFF = {"min_answers_per_item": None, "min_item_agreement": None, "min_annotator_reliability": None,
             "min_gold_accuracy": None, "exclude_flagged": False, "exclude_both_bad": False, "ties": "keep",
             "min_abs_strength": None, "consensus": "majority", "model_annotators": "include", "adjudication": "use"}


@pytest.fixture
def artifacts(settings, tmp_path, monkeypatch):
    """A private ARTIFACT_ROOT, for the in-process server and for the worker started after it."""
    root = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT = root
    monkeypatch.setenv("ARTIFACT_ROOT", str(root))
    return root


@pytest.fixture
def worker(artifacts, live_worker):
    """The real Celery worker, started once ARTIFACT_ROOT points at this test's folder."""
    return live_worker


@pytest.fixture
def answered_project(live_server, lead, annotator, annotator2):
    """Sixteen pairwise items, three answers each, given through the API: mostly agreeing, some ties, some flagged."""
    annotators = [annotator, annotator2, factories.user("ann3")]
    project = factories.project("pairwise", name="Curation demo", annotations_per_item=3,
                                members={lead: "lead", **{a: "annotator" for a in annotators}})
    factories.items(project, 16)
    rng = random.Random(11)
    for n, user in enumerate(annotators):
        token = api_token(live_server.url, user.username, factories.PASSWORD)
        while True:
            status, task = api_request(live_server.url, "POST", f"/api/projects/{project.id}/next/", token=token)
            if status == 204:
                break
            assert status == 200, task
            first, second = sorted(r["id"] for r in task["item"]["responses"])  # stored order: the first imported
            roll = rng.random()
            if roll < 0.15:
                payload = {"tie": True}
            else:
                chosen = first if roll < (0.85 if n < 2 else 0.55) else second
                payload = {"chosen": chosen, "strength": rng.choice([1, 2, 3])}
            if n == 2 and rng.random() < 0.35:
                payload["flags"] = ["off_topic"]
            status, body = api_request(live_server.url, "POST", f"/api/assignments/{task['assignment']}/submit/",
                                       token=token, body=payload)
            assert status == 201, body
    return project


def preview(base: str, token: str, project_id: int, rules: dict) -> dict:
    status, data = api_request(base, "POST", f"/api/projects/{project_id}/curation/preview/", token=token,
                               body={"rules": rules})
    assert status == 200, data
    return data


def shown_counts(page) -> dict:
    """What the preview table shows: per rule row, its removed and remaining figures."""
    return page.evaluate("""() => Object.fromEntries(
        [...document.querySelectorAll('[data-testid=curation-preview] tr[data-rule]')].map(tr => [
            tr.dataset.rule,
            Object.fromEntries([...tr.querySelectorAll('[data-count]')].map(td => [td.dataset.count, td.textContent])),
        ]))""")


def dismiss_notices(page) -> None:
    buttons = page.locator(".notices [aria-label=Dismiss]")
    while buttons.count():
        buttons.first.click()


def wait_for_remaining(page, answers: int, items: int) -> None:
    page.wait_for_function(
        """([answers, items]) => {
             const table = document.querySelector('[data-testid=curation-preview]');
             const row = table && table.querySelector('tr[data-rule=remaining]');
             return row && table.getAttribute('aria-busy') === 'false'
               && row.querySelector('[data-count=answers]').textContent === String(answers)
               && row.querySelector('[data-count=items]').textContent === String(items);
           }""",
        arg=[answers, items], timeout=15_000)


def test_a_lead_curates_with_a_live_preview_then_builds_and_downloads_a_snapshot(live_server, worker, new_page,
                                                                                 answered_project, lead):
    base, project = live_server.url, answered_project
    token = api_token(base, lead.username, factories.PASSWORD)
    watched = new_page()
    page = watched.page
    login(page, base, lead.username, factories.PASSWORD)

    # Nothing saved yet: every rule is off and the preview keeps every answer.
    page.goto(f"{base}/projects/{project.id}/curation")
    everything = preview(base, token, project.id, RULES_OFF)
    assert everything["initial"] == {"answers": 48, "items": 16}
    wait_for_remaining(page, 48, 16)
    assert shown_counts(page)["initial"] == {"answers": "48", "items": "16"}
    assert page.input_value("#rule-min_item_agreement") == ""

    # An input that is not a valid value is named next to its box and cannot be saved.
    page.fill("#rule-min_answers_per_item", "1.5")
    page.wait_for_selector("#rule-min_answers_per_item-error:text('Enter a whole number.')")
    assert page.locator("button:text('Save rules')").is_disabled()
    page.fill("#rule-min_answers_per_item", "")
    page.wait_for_selector("#rule-min_answers_per_item-error", state="detached")

    # Change three rules: the table shows what the API's preview says for the same rules, rule by rule.
    rules = {**RULES_OFF, "exclude_flagged": True, "min_item_agreement": 0.3, "ties": "drop"}
    expected = preview(base, token, project.id, rules)
    assert expected["remaining"]["answers"] < 48, "the rules must remove something for this test to mean anything"
    assert expected["remaining"]["answers"] > 0
    page.check("#rule-exclude_flagged")
    page.fill("#rule-min_item_agreement", "0.3")
    page.select_option("#rule-ties", "drop")
    wait_for_remaining(page, expected["remaining"]["answers"], expected["remaining"]["items"])
    shown = shown_counts(page)
    for step in expected["preview"]:
        row = shown[step["rule"]]
        assert row["answers"] == str(step["remaining_answers"]) and row["items"] == str(step["remaining_items"]), step
        if step["active"]:
            assert row["removed_answers"].replace("−", "") == str(step["removed_answers"]), step
        else:
            assert row["removed_answers"] == "off", step
    for side, n in expected["remaining"]["consensus"].items():
        assert page.inner_text(f"[data-consensus={side}]") == str(n)
    page.locator("form.curation").evaluate("form => form.scrollIntoView()")  # the whole table in 1280x720
    shot(page, "19-curation")

    page.click("button:text('Save rules')")
    page.wait_for_selector("text=Curation rules saved")
    status, saved = api_request(base, "GET", f"/api/projects/{project.id}/curation/", token=token)
    assert status == 200 and saved["rules"] == rules
    assert page.locator("button:text('Save rules')").is_disabled()  # nothing left unsaved

    # The snapshot form shows the saved rules read-only; the new snapshot is followed until the worker is done.
    page.click(".tabs >> text=Snapshots")
    page.wait_for_url(f"**/projects/{project.id}/snapshots")
    summary = page.locator("[data-testid=snapshot-rules]")
    for words in ("flagged answers left out", "item agreement ≥ 30%", "tied items dropped"):
        summary.locator(f"text={words}").wait_for()
    page.wait_for_selector("text=No snapshots yet")
    page.fill("text=Test fraction >> xpath=following-sibling::input", "0.25")
    page.fill("text=Seed >> xpath=following-sibling::input", "7")
    page.click("button:text('Create snapshot')")
    card = page.locator("[data-testid=snapshot]").first
    card.locator("[data-testid=snapshot-state]").wait_for()
    page.wait_for_selector("[data-testid=snapshot][data-state=ready], [data-testid=snapshot][data-state=failed]",
                           timeout=90_000)
    status, listed = api_request(base, "GET", f"/api/projects/{project.id}/snapshots/", token=token)
    assert status == 200 and len(listed) == 1
    snapshot = listed[0]
    assert snapshot["state"] == "ready", f"{snapshot['error']}\n{Path(worker.log_path).read_text()[-3000:]}"
    assert card.get_attribute("data-state") == "ready"
    assert snapshot["rules"] == rules and snapshot["test_fraction"] == 0.25 and snapshot["seed"] == 7
    # Same rules, same counts as the preview the lead saw.
    assert snapshot["counts"]["curation"]["remaining"] == expected["remaining"]
    for label, key in (("items", "items"), ("answers", "answers"), ("pairs", "pairs"), ("prompts", "prompts")):
        assert card.locator(f"[data-count='{label}'] strong").inner_text() == str(snapshot["counts"][key])
    for split in ("train", "test"):
        cells = card.locator(f"[data-testid=snapshot-splits] tr[data-split={split}] td").all_inner_texts()
        c = snapshot["counts"]["splits"][split]
        assert cells == [split, str(c["prompts"]), str(c["items"]), str(c["answers"]), str(c["pairs"])]
    assert card.locator("[data-testid=fingerprint] code").get_attribute("title") == snapshot["fingerprint"]

    # Every listed file, with its full sha256 on hover; the downloaded bytes hash to it.
    files = {f["name"]: f for f in snapshot["files"]}
    assert sorted(card.locator("[data-testid=snapshot-files] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.file)")) == sorted(files)
    row = card.locator("tr[data-file='preference-train.jsonl']")
    listed_sha = row.locator("code").get_attribute("title")
    assert listed_sha == files["preference-train.jsonl"]["sha256"]
    assert row.locator("td").nth(1).inner_text() == str(files["preference-train.jsonl"]["rows"])
    with page.expect_download() as download:
        row.locator("a").click()
    body = Path(download.value.path()).read_bytes()
    assert len(body) == files["preference-train.jsonl"]["bytes"]
    assert hashlib.sha256(body).hexdigest() == listed_sha
    dismiss_notices(page)
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "20-snapshots")
    assert watched.page_errors == [] and watched.dialogs == []
