"""The lead's dashboard shows agreement figures once a worker has computed the report."""

import random

import pytest

from annotation.models import AgreementReport
from annotation.services.annotations import annotation_submit
from annotation.services.assignments import assignment_next
from annotation.services.quality import agreement_run
from tests import factories

from .browser import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def answered_project(lead, annotator, annotator2):
    annotators = [annotator, annotator2, factories.user("ann3")]
    project = factories.project("pairwise", name="Agreement demo", annotations_per_item=3, criteria=["helpfulness"],
                                members={lead: "lead", **{a: "annotator" for a in annotators}})
    factories.items(project, 10)
    rng = random.Random(7)
    for user in annotators:
        while (assignment := assignment_next(project=project, user=user)) is not None:
            ids = assignment.response_ids
            chosen = ids[0] if rng.random() < 0.75 else ids[1]  # mostly agreeing, not always
            payload = {"chosen": chosen, "strength": rng.choice([1, 2, 3]), "criteria": {"helpfulness": {"tie": True}}}
            annotation_submit(assignment_id=assignment.pk, user=user, payload=payload)
    return project


def test_the_lead_sees_agreement_figures_once_the_worker_has_computed_them(live_server, new_page, answered_project, lead):
    watched = new_page()
    page = watched.page
    login(page, live_server.url, lead.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/projects/{answered_project.id}")
    panel = page.locator("[data-testid=agreement]")
    # No worker runs in this test: the report stays pending until the test computes it as the worker would.
    panel.locator("text=Computing agreement figures").wait_for()
    for report in AgreementReport.objects.filter(project=answered_project):
        agreement_run(report_id=report.pk)
    panel.locator("text=Fleiss κ").wait_for(timeout=20_000)
    assert panel.locator("text=10 items with overlapping answers").count() == 1
    heatmap = page.locator("[data-testid=kappa-heatmap]")
    assert heatmap.locator("rect").count() == 9  # three annotators
    assert page.locator("[data-testid=item-histogram] rect.bar").count() == 10
    contested = page.locator("[data-testid=contested-items] tbody tr")
    assert contested.count() >= 1  # some items split the annotators
    assert "Question number" in contested.first.locator("a").inner_text()  # named by its prompt, not "#5"
    fleiss = panel.locator("[data-testid=figure]", has_text="Fleiss κ")
    assert "Landis & Koch, 1977" in fleiss.inner_text() and "beyond what chance would give" in fleiss.inner_text()
    titles = page.locator("[data-testid=item-histogram] text.axis-title").all_text_contents()
    assert titles == ["Items", "Share of the item's answer pairs that agree"]
    page.set_viewport_size({"width": 1280, "height": 1300})
    panel.scroll_into_view_if_needed()
    shot(page, "07b-lead-agreement")
    assert watched.page_errors == []
