"""A lead filters the items, walks them with next/previous, sees who saw what order, and settles a contested one."""

import pytest

from annotation.models import Adjudication, Prompt, Response
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next, assignment_skip
from tests import factories

from .browser import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(lead, annotator, annotator2):
    """Six items, overlap 3 but two annotators; the first item contested (A vs B), the second skipped by one."""
    project = factories.project("pairwise", name="Lead screens", annotations_per_item=3,
                                members={lead: "lead", annotator: "annotator", annotator2: "annotator"})
    factories.items(project, 6)
    items = list(project.items.order_by("id"))
    for item in items[::2]:
        Prompt.objects.filter(pk=item.prompt_id).update(metadata={"source": "forum"})
    Response.objects.filter(pk=items[4].response_ids[1]).update(text="Kangaroos carry their young.")
    for user, side in ((annotator, 0), (annotator2, 1)):
        lease = assignment_next(project=project, user=user)
        annotation_submit(assignment_id=lease.pk, user=user, payload={"chosen": lease.response_ids[side], "strength": 2})
    lease = assignment_next(project=project, user=annotator)
    assignment_skip(assignment_id=lease.pk, user=annotator)
    lease = assignment_next(project=project, user=annotator2)
    annotation_submit(assignment_id=lease.pk, user=annotator2, payload={"chosen": lease.response_ids[0], "strength": 1})
    return project


def test_a_lead_filters_walks_and_settles_items(live_server, new_page, project, lead, annotator2):
    items = [i.id for i in project.items.order_by("id")]
    watched = new_page()
    page = watched.page
    login(page, live_server.url, lead.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.id}/items")
    table = page.locator("[data-testid=items-table]")
    table.wait_for()

    page.fill("input[name=q]", "kangaroo")
    page.keyboard.press("Enter")
    page.locator("[data-testid=items-count]:text('1 item')").wait_for()
    assert table.locator("tbody tr").count() == 1 and f"#{items[4]}" in table.inner_text()

    page.click("button:text('Clear')")
    page.fill("input[name=metadata]", "source=forum")
    page.click("button:text('Apply')")
    page.locator("[data-testid=items-count]:text('3 items')").wait_for()
    assert "metadata=source%3Dforum" in page.url
    shot(page, "08a-lead-items-filtered")

    page.fill("input[name=min_agreement]", "2")
    page.click("button:text('Apply')")
    page.locator("[role=alert]:has-text('min_agreement')").wait_for()
    page.fill("input[name=min_agreement]", "")
    page.click("button:text('Apply')")
    page.locator("[data-testid=items-count]:text('3 items')").wait_for()

    table.locator(f"a:text('#{items[0]}')").click()
    page.locator(f"h2:has-text('Item #{items[0]}')").wait_for()
    assert page.locator("[data-testid=stored-order-label]").count() == 1
    assert page.locator("[data-testid=shown-order]").count() == 2  # each answer says what its annotator saw
    page.locator("[data-testid=next-item]").click()
    page.locator(f"h2:has-text('Item #{items[2]}')").wait_for()  # the next item *of the filter*, not items[1]
    page.locator("[data-testid=previous-item]").click()
    page.locator(f"h2:has-text('Item #{items[0]}')").wait_for()

    form = page.locator("[data-testid=adjudication]")
    form.locator("label.radio", has_text=annotator2.username).locator("input").check()
    form.locator("textarea[name=note]").fill("B answers the question asked")
    form.locator("button:text('Settle item')").click()
    form.locator("[data-testid=ruling]:has-text('B answers the question asked')").wait_for()
    ruling = Adjudication.objects.get(item_id=items[0])
    assert ruling.preference == 2 and ruling.decided_by == lead
    shot(page, "08b-lead-settles-item")
    form.locator("button:text('Withdraw ruling')").click()
    form.locator("button:text('Settle item')").wait_for()
    assert not Adjudication.objects.exists()

    # Overlap 3 with two annotators: every item both have answered or skipped can never be finished.
    page.goto(f"{live_server.url}/projects/{project.id}/items?status=needs_annotators")
    page.locator("[data-testid=items-count]:text('2 items')").wait_for()
    assert table.locator(".tag-status-needs_annotators").count() == 2
    page.goto(f"{live_server.url}/projects/{project.id}")
    page.locator("[data-testid='stat-Need more annotators'] a:text('2')").wait_for()
    assert watched.page_errors == []
