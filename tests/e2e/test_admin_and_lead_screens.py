"""An admin sets a project up from the web app; its lead imports items and marks one gold."""

import json

import pytest

from annotation.models import Item, Membership, Project
from tests import factories

from .browser import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def jsonl(*lines) -> bytes:
    return "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines).encode()


def test_an_admin_creates_a_user_and_a_project_and_the_lead_imports_and_marks_gold(live_server, new_page, admin_user, lead):
    base = live_server.url
    watched = new_page()
    page = watched.page
    login(page, base, admin_user.username, factories.PASSWORD)

    page.goto(f"{base}/manage/users")
    page.fill("text=Username >> xpath=following-sibling::input", "newbie")
    page.fill("input[type=password]", "a-long-password-1")
    page.fill("input[type=email]", "newbie@example.org")
    page.click("button:text('Create user')")
    page.wait_for_selector("[data-testid=users-table] >> text=newbie")
    shot(page, "12-admin-users")

    page.goto(f"{base}/manage/projects/new")
    page.fill("text=Name >> xpath=following-sibling::input", "Tone A/B")
    page.fill("text=Criteria (comma separated, optional) >> xpath=following-sibling::input", "helpfulness, tone")
    page.fill("textarea", "## Tone\n\nPrefer the **kinder** reply.")
    page.wait_for_selector(".preview strong:text('kinder')")
    shot(page, "13-admin-new-project")
    page.click("button:text('Create project')")
    page.wait_for_url("**/members")
    project = Project.objects.get(name="Tone A/B")
    assert project.criteria == ["helpfulness", "tone"]

    page.fill("input[placeholder=username]", lead.username)
    page.select_option("select", "lead")
    page.click("button:text('Add member')")
    page.wait_for_selector(f"[data-testid=members-table] >> text={lead.username}")
    page.fill("input[placeholder=username]", "newbie")
    page.click("button:text('Add member')")
    page.wait_for_selector("[data-testid=members-table] >> text=newbie")
    shot(page, "14-members")
    assert Membership.objects.get(project=project, user=lead).role == "lead"
    assert Membership.objects.get(project=project, user__username="newbie").role == "annotator"

    lead_page = new_page().page
    login(lead_page, base, lead.username, factories.PASSWORD)
    lead_page.goto(f"{base}/projects/{project.id}/import")
    good = {"external_id": "t-1", "prompt": "Say no politely.", "responses": [{"text": "No."}, {"text": "Sorry, I can't."}]}
    def upload(*lines):  # preview, then import when the preview finds no problem
        lead_page.set_input_files("input[type=file]", files=[{"name": "items.jsonl", "mimeType": "application/json",
                                                               "buffer": jsonl(*lines)}])
        lead_page.click("button:text('Preview')")
        lead_page.wait_for_selector("[data-testid=import-preview]")
        if lead_page.is_enabled("button:text('Import')"):
            lead_page.click("button:text('Import')")

    def error_rows():
        table = lead_page.locator("[data-testid=import-errors]")
        table.wait_for()
        return [tuple(row.locator("td").all_inner_texts()[:2]) for row in table.locator("tbody tr").all()]

    upload(good, "{not json")
    assert error_rows() == [("2", "line")]
    upload(good, {"external_id": "t-2", "responses": [{"text": "only one"}]})
    lead_page.wait_for_selector("[data-testid=import-errors] >> text=conversation")
    rows = error_rows()
    assert rows and all(line == "2" for line, _ in rows)
    shot(lead_page, "15-import-errors")
    assert Item.objects.filter(project=project).count() == 0

    upload(good, {**good, "external_id": "t-2", "prompt": "Decline a refund."})
    lead_page.wait_for_selector("[data-testid=import-result] >> text=Imported 2 new items")
    shot(lead_page, "16-import-done")

    item = Item.objects.filter(project=project).order_by("id").first()
    lead_page.goto(f"{base}/projects/{project.id}/items/{item.id}")
    gold = lead_page.locator("[data-testid=gold-form]")
    gold.locator("button[role=radio][aria-label='B clearly better']").click()
    gold.locator("button:text('Mark as gold')").click()
    lead_page.wait_for_selector(".item-detail .tag-gold")
    shot(lead_page, "17-gold")
    item.refresh_from_db()
    assert item.is_gold and item.gold_answer == 2  # B = second stored response, clearly better

    lead_page.goto(f"{base}/projects/{project.id}/items?is_gold=true")
    lead_page.wait_for_selector(f"[data-testid=items-table] >> text=#{item.id}")
    assert lead_page.locator("[data-testid=items-table] tbody tr").count() == 1
    assert watched.page_errors == [] and watched.dialogs == []
