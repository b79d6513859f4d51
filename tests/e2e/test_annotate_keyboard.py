"""An annotator answers one item of each kind with the keyboard alone; the lead then sees the answers."""

import pytest

from annotation.models import Annotation, Assignment
from tests import factories

from .browser import login, shot, wait_for_new_item

pytestmark = pytest.mark.django_db(transaction=True)

GUIDELINES = "## How to judge\n\n- Prefer **correct** answers.\n- Use *both bad* when neither is acceptable."


@pytest.fixture
def projects(lead, annotator):
    members = {lead: "lead", annotator: "annotator"}
    made = {
        "pairwise": factories.project("pairwise", name="Helpfulness A/B", members=members, annotations_per_item=1,
                                      guidelines=GUIDELINES, criteria=["helpfulness", "honesty"]),
        "ranking": factories.project("ranking", name="Rank four answers", members=members, annotations_per_item=1),
        "demonstration": factories.project("demonstration", name="Write replies", members=members,
                                           annotations_per_item=1),
    }
    for project in made.values():
        factories.items(project, 3)
    return made


def open_annotation(page, base_url, project) -> str:
    """Open the project's annotation screen; a first visit shows the guidelines first, which Enter dismisses."""
    page.goto(f"{base_url}/projects/{project.id}/annotate")
    page.wait_for_selector("[data-testid=guidelines-intro], .task-wrap:not(.busy) [data-assignment]")
    if project.guidelines.strip() and page.locator("[data-testid=guidelines-intro]").count():
        page.keyboard.press("Enter")
    return wait_for_new_item(page, None)


def test_an_annotator_answers_every_kind_by_keyboard_and_the_lead_sees_the_answers(live_server, new_page, projects, annotator, lead):
    base = live_server.url
    watched = new_page()
    page = watched.page
    login(page, base, annotator.username, factories.PASSWORD)
    shot(page, "01-my-projects")

    # Pairwise: the guidelines come first on a first visit; then 2 = first shown response clearly better;
    # B = both bad; Enter submits.
    page.goto(f"{base}/projects/{projects['pairwise'].id}/annotate")
    page.wait_for_selector("[data-testid=guidelines-intro] >> text=How to judge")
    assert page.locator(".task").count() == 0
    first = open_annotation(page, base, projects["pairwise"])
    page.keyboard.press("g")
    page.wait_for_selector("aside.guidelines >> text=How to judge")
    shot(page, "03-pairwise-guidelines")
    page.keyboard.press("g")
    page.keyboard.press("2")
    page.keyboard.press("b")
    page.wait_for_selector(".decision-summary >> text=A clearly better")
    shot(page, "02-pairwise")
    page.keyboard.press("s")
    page.wait_for_selector("[role=dialog] >> text=Skip this item")
    shot(page, "04-skip-dialog")
    page.keyboard.press("Escape")  # cancels: the same item stays
    assert page.locator("[role=dialog]").count() == 0
    page.keyboard.press("Enter")
    second = wait_for_new_item(page, first)
    assert page.get_attribute("[data-assignment]", "data-assignment") == second

    pairwise_answer = Annotation.objects.get(annotator=annotator, project=projects["pairwise"])
    assignment = Assignment.objects.get(pk=int(first))
    shown_first = assignment.shown_order[0]
    stored_first = pairwise_answer.item.response_ids[0]
    assert pairwise_answer.preference == (-2 if shown_first == stored_first else 2)
    assert pairwise_answer.both_bad is True
    assert pairwise_answer.time_spent_ms is not None and pairwise_answer.time_spent_ms > 0

    # The next pairwise item: skip it with a reason, Enter confirms.
    page.keyboard.press("s")
    page.keyboard.type("needs a lawyer")
    page.keyboard.press("Enter")
    wait_for_new_item(page, second)
    assert Assignment.objects.get(pk=int(second)).status == "skipped"

    # Ranking: pick the third card, move it to the top, submit best first.
    first = open_annotation(page, base, projects["ranking"])
    shown = [int(x) for x in page.eval_on_selector_all(".rank-card", "cards => cards.map(c => c.dataset.response)")]
    page.keyboard.press("3")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("4")
    page.keyboard.press("ArrowUp")
    shot(page, "05-ranking")
    page.keyboard.press("Enter")
    wait_for_new_item(page, first)
    ranking_answer = Annotation.objects.get(annotator=annotator, project=projects["ranking"])
    assert ranking_answer.ranking == [shown[2], shown[0], shown[3], shown[1]]

    # Demonstration: the editor has focus; type markdown, Ctrl+Enter submits.
    first = open_annotation(page, base, projects["demonstration"])
    page.keyboard.type("Four.\n\n```python\nprint(2 + 2)\n```")
    page.wait_for_selector(".preview code.hljs")
    shot(page, "06-demonstration")
    page.keyboard.press("Control+Enter")
    wait_for_new_item(page, first)
    demo_answer = Annotation.objects.get(annotator=annotator, project=projects["demonstration"])
    assert demo_answer.text.startswith("Four.")
    assert watched.page_errors == []

    # The lead sees each answer on the item page, and the annotator on the dashboard.
    lead_page = new_page().page
    login(lead_page, base, lead.username, factories.PASSWORD)
    project = projects["pairwise"]
    lead_page.goto(f"{base}/projects/{project.id}")
    lead_page.wait_for_selector("[data-testid=annotator-table] >> text=" + annotator.username)
    shot(lead_page, "07-lead-dashboard")
    lead_page.goto(f"{base}/projects/{project.id}/items?status=complete")
    lead_page.wait_for_selector("[data-testid=items-table]")
    shot(lead_page, "08-lead-items")
    lead_page.click(f"[data-testid=items-table] >> text=#{pairwise_answer.item_id}")
    card = lead_page.locator("[data-testid=answer]")
    card.wait_for()
    side = "A" if pairwise_answer.preference < 0 else "B"
    assert annotator.username in card.inner_text()
    assert f"{side} clearly better · both bad" in card.inner_text()
    shot(lead_page, "09-lead-item-answers")

    lead_page.goto(f"{base}/projects/{projects['ranking'].id}/items/{ranking_answer.item_id}")
    letters = " > ".join("ABCD"[ranking_answer.item.response_ids.index(r)] for r in ranking_answer.ranking)
    lead_page.wait_for_selector(f"[data-testid=answer] >> text={letters}")

    lead_page.goto(f"{base}/projects/{projects['demonstration'].id}/items/{demo_answer.item_id}")
    lead_page.wait_for_selector("[data-testid=answer] >> text=Four.")
    assert lead_page.locator("[data-testid=answer] code.hljs").count() == 1


def test_a_ranking_card_dragged_with_the_mouse_lands_where_it_is_dropped(live_server, new_page, projects, annotator):
    page = new_page().page
    login(page, live_server.url, annotator.username, factories.PASSWORD)
    first = open_annotation(page, live_server.url, projects["ranking"])
    shown = [int(x) for x in page.eval_on_selector_all(".rank-card", "cards => cards.map(c => c.dataset.response)")]
    page.drag_and_drop(".rank-card:nth-child(4)", ".rank-card:nth-child(1)", source_position={"x": 20, "y": 20},
                       target_position={"x": 20, "y": 4})
    page.wait_for_selector(".decision-summary >> text=Order: D > A > B > C")
    page.click("button:text('Submit ranking')")
    wait_for_new_item(page, first)
    answer = Annotation.objects.get(annotator=annotator, project=projects["ranking"])
    assert answer.ranking == [shown[3], *shown[:3]]
