"""The annotator's screens in Chromium: a ranking is an act, a held Enter saves one answer, a long item reads by
keyboard, drafts survive a reload, flags reach the answer, one's own answers and skips can be revisited, gold
feedback follows a stored answer, roles read right, and the screen works at phone width."""

import pytest

from annotation.models import Annotation, Assignment, Item, Response
from tests import factories

from .browser import login, shot, wait_for_new_item

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "\n\n".join(f"Paragraph {i}: " + "words that go on and on " * 12 for i in range(40))


def member_project(kind, lead, annotator, n_items=3, **fields):
    project = factories.project(kind, members={lead: "lead", annotator: "annotator"}, annotations_per_item=1,
                                **fields)
    factories.items(project, n_items)
    return project


def open_item(page, base, project) -> str:
    page.goto(f"{base}/projects/{project.id}/annotate")
    return wait_for_new_item(page, None)


def signed_in(new_page, base, user):
    watched = new_page()
    login(watched.page, base, user.username, factories.PASSWORD)
    return watched


def test_an_untouched_ranking_is_not_saved_by_enter_and_a_held_enter_saves_one(live_server, new_page, lead, annotator):
    project = member_project("ranking", lead, annotator)
    watched = signed_in(new_page, live_server.url, annotator)
    page = watched.page
    first = open_item(page, live_server.url, project)
    page.keyboard.press("Enter")
    page.wait_for_selector(".decision-summary >> text=press C if this order is right")
    assert Annotation.objects.filter(project=project).count() == 0

    page.keyboard.press("c")
    page.wait_for_selector("button[aria-pressed=true]:has-text('This order is right')")
    as_shown = [int(x) for x in page.eval_on_selector_all(".rank-card", "cards => cards.map(c => c.dataset.response)")]
    page.keyboard.down("Enter")  # held: Chromium repeats the keydown with repeat set
    page.keyboard.down("Enter")
    page.keyboard.down("Enter")
    second = wait_for_new_item(page, first)
    assert Annotation.objects.get(assignment_id=int(first)).ranking == as_shown  # confirmed as shown, saved once
    shown = [int(x) for x in page.eval_on_selector_all(".rank-card", "cards => cards.map(c => c.dataset.response)")]
    page.keyboard.press("2")
    page.keyboard.press("ArrowUp")  # a move: a fresh Enter would now save B > A > C > D
    page.wait_for_selector(".decision-summary >> text=Order: B > A > C > D")
    page.keyboard.down("Enter")  # still held since the first item: a repeat, not a press
    page.keyboard.up("Enter")
    page.keyboard.press("3")  # had the repeat saved, these keys would land on the next item
    page.keyboard.press("ArrowUp")
    page.wait_for_selector(".decision-summary >> text=Order: B > C > A > D")
    page.keyboard.press("Enter")
    wait_for_new_item(page, second)
    answer = Annotation.objects.get(assignment_id=int(second))
    assert answer.ranking == [shown[1], shown[2], shown[0], shown[3]]
    assert Annotation.objects.filter(project=project).count() == 2
    assert watched.page_errors == []


def test_a_long_item_reads_by_keyboard_and_a_picked_card_comes_out_from_under_the_bar(live_server, new_page, lead,
                                                                                     annotator):
    pairwise = member_project("pairwise", lead, annotator)
    ranking = member_project("ranking", lead, annotator)
    Response.objects.filter(prompt__project__in=[pairwise, ranking]).update(text=LONG)
    page = signed_in(new_page, live_server.url, annotator).page
    open_item(page, live_server.url, pairwise)
    top = "document.querySelector('[data-reading-panel]').scrollTop"
    assert page.evaluate(top) == 0
    page.keyboard.press("PageDown")
    page.wait_for_function(f"{top} > 300")
    page.keyboard.press("Space")
    after_space = page.evaluate(top)
    assert after_space > 600
    page.keyboard.press("ArrowUp")
    page.wait_for_function(f"{top} < {after_space}")
    page.keyboard.press("End")
    page.wait_for_function("(p => p.scrollTop + p.clientHeight >= p.scrollHeight - 2)"
                           "(document.querySelector('[data-reading-panel]'))")
    page.keyboard.press("Home")
    page.wait_for_function(f"{top} === 0")

    open_item(page, live_server.url, ranking)
    page.keyboard.press("4")  # the last card, below the fold
    page.wait_for_selector(".rank-card.selected[data-response]")
    page.wait_for_function("""() => {
        const card = document.querySelector('.rank-card.selected').getBoundingClientRect()
        const bar = document.querySelector('.decision-bar').getBoundingClientRect()
        return card.top < bar.top && card.top >= 0 }""")
    # The picked card's own text scrolls first, then the panel: every part of it can be read.
    body = "document.querySelector('.rank-card.selected .rank-body').scrollTop"
    page.keyboard.press("PageDown")
    page.wait_for_function(f"{body} > 0")
    shot(page, "annotate-long-ranking")


def test_a_demonstration_draft_survives_a_reload_and_a_short_one_is_refused(live_server, new_page, lead, annotator):
    project = member_project("demonstration", lead, annotator, min_demonstration_chars=30)
    page = signed_in(new_page, live_server.url, annotator).page
    first = open_item(page, live_server.url, project)
    page.keyboard.type("Too short.")
    page.wait_for_selector("[data-testid=demo-hint] >> text=10 / 30 characters at least")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("[data-testid=demo-hint] >> text=Write at least 30 characters")
    assert Annotation.objects.filter(project=project).count() == 0
    page.reload()
    assert wait_for_new_item(page, None) == first
    page.wait_for_function("document.querySelector('textarea').value === 'Too short.'")
    page.keyboard.press("End")
    page.keyboard.type(" Now it says enough to be kept.")
    page.keyboard.press("Control+Enter")
    wait_for_new_item(page, first)
    assert Annotation.objects.get(project=project).text == "Too short. Now it says enough to be kept."
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('rlhf.draft')).length") == 0


def test_flags_reach_the_answer_and_a_broken_item_is_flagged_by_a_skip(live_server, new_page, lead, annotator):
    project = member_project("pairwise", lead, annotator)
    page = signed_in(new_page, live_server.url, annotator).page
    first = open_item(page, live_server.url, project)
    page.keyboard.press("f")
    page.check("[data-flag=unsafe]")
    page.fill("[role=dialog] textarea", "tells how to pick a lock")
    page.click("button:text('Flag my answer')")
    page.wait_for_selector("[data-testid=flag-button] >> text=Flagged: unsafe")
    page.keyboard.press("5")
    page.keyboard.press("Enter")
    second = wait_for_new_item(page, first)
    answer = Annotation.objects.get(project=project)
    assert answer.flags == ["unsafe"] and answer.rationale == "Flag note: tells how to pick a lock"

    page.keyboard.press("f")
    page.check("[data-flag=broken]")
    page.click("button:text('Flag and skip')")
    wait_for_new_item(page, second)
    skipped = Assignment.objects.get(pk=int(second))
    assert (skipped.status, skipped.skip_reason) == ("skipped", "Flagged broken")


def test_my_answers_change_an_answer_and_take_a_skipped_item_back(live_server, new_page, lead, annotator):
    project = member_project("pairwise", lead, annotator, n_items=3)
    project.annotations_per_item = 2  # items stay incomplete, so answers can change
    project.save()
    page = signed_in(new_page, live_server.url, annotator).page
    first = open_item(page, live_server.url, project)
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    second = wait_for_new_item(page, first)
    page.keyboard.press("s")
    page.keyboard.press("Enter")
    wait_for_new_item(page, second)

    page.click("text=My answers")
    page.wait_for_selector("[data-testid=answer-list] >> text=A much better")
    shot(page, "annotate-my-answers")
    page.click("[data-testid=answer-list] button:text('Change')")
    page.wait_for_selector("[data-testid=stored-answer] >> text=A much better")
    page.keyboard.press("7")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=answer-list] >> text=B much better")
    answer = Annotation.objects.get(project=project)
    shown_b = Assignment.objects.get(pk=int(first)).shown_order[1]
    assert answer.preference == (3 if shown_b == answer.item.response_ids[1] else -3)

    page.click("[data-testid=skipped-list] button:text('Answer it now')")
    assert wait_for_new_item(page, None) == second
    assert Assignment.objects.get(pk=int(second)).status == "leased"


def test_a_missed_gold_item_is_told_after_the_answer_is_stored(live_server, new_page, lead, annotator):
    project = member_project("pairwise", lead, annotator, gold_ratio=1.0, gold_feedback=True)
    gold = Item.objects.filter(project=project).order_by("id").first()
    gold.is_gold, gold.gold_answer = True, -2  # the first stored response clearly better
    gold.save()
    page = signed_in(new_page, live_server.url, annotator).page
    first = open_item(page, live_server.url, project)
    assert int(page.get_attribute("[data-item]", "data-item")) == gold.id
    assert "gold" not in page.inner_text("main").lower()  # nothing tells it apart before the answer
    shown = Assignment.objects.get(pk=int(first)).shown_order
    page.keyboard.press("1" if shown[0] == gold.response_ids[1] else "7")  # the wrong side, clearly
    page.keyboard.press("Enter")
    wait_for_new_item(page, first)
    page.wait_for_selector("text=did not match it")
    assert Annotation.objects.get(item=gold).preference > 0


def test_an_admin_reads_their_role_and_can_start_annotating(live_server, new_page, lead, annotator, admin_user):
    project = member_project("pairwise", lead, annotator)
    page = signed_in(new_page, live_server.url, admin_user).page
    card = page.locator(f"[data-testid=project-{project.id}]")
    card.locator("[data-testid=role] >> text=You are an admin").wait_for()
    card.locator(f"a[aria-label='Annotate {project.name}']").click()
    wait_for_new_item(page, None)


def test_an_annotator_following_a_link_to_a_lead_screen_gets_no_tabs_or_forms(live_server, new_page, lead, annotator):
    project = member_project("pairwise", lead, annotator)
    page = signed_in(new_page, live_server.url, annotator).page
    for screen in ("settings", "members", "items", ""):
        page.goto(f"{live_server.url}/projects/{project.id}/{screen}")
        page.wait_for_selector("[data-testid=lead-only]")
        assert page.locator("nav[aria-label='Project sections'], form, input").count() == 0
    page.click("text=Back to annotating")
    wait_for_new_item(page, None)


def test_the_annotation_screen_works_on_a_phone(live_server, browser, lead, annotator):
    project = member_project("pairwise", lead, annotator)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        login(page, live_server.url, annotator.username, factories.PASSWORD)
        first = open_item(page, live_server.url, project)
        skip = page.locator("button:has-text('Skip')").bounding_box()
        assert skip and skip["x"] >= 0 and skip["x"] + skip["width"] <= 390 and skip["y"] + skip["height"] <= 844
        back = page.locator("a:text('← Projects')").bounding_box()
        bar = page.locator(".toolbar-progress").bounding_box()
        overlap = not (bar["x"] >= back["x"] + back["width"] or back["x"] >= bar["x"] + bar["width"]
                       or bar["y"] >= back["y"] + back["height"] or back["y"] >= bar["y"] + bar["height"])
        assert not overlap, (back, bar)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing pushed off to the side
        for box in page.locator(".decision-bar .scale-btn").evaluate_all("bs => bs.map(b => b.getBoundingClientRect())"):
            assert box["height"] >= 44 and box["width"] >= 40, box
        assert page.locator(".decision-bar .scale-btn .scale-short").first.is_visible()
        assert not page.locator(".key-hints").is_visible()
        shot(page, "annotate-phone")
        page.locator(".decision-bar .scale-btn").nth(5).tap()
        page.locator("button:has-text('Submit')").tap()
        wait_for_new_item(page, first)
        assert Annotation.objects.filter(project=project).count() == 1
    finally:
        context.close()


def test_a_lead_sets_the_minimum_length_and_gold_feedback_in_the_project_settings(live_server, new_page, lead,
                                                                                 annotator):
    demo = member_project("demonstration", lead, annotator)
    pairwise = member_project("pairwise", lead, annotator)
    page = signed_in(new_page, live_server.url, lead).page
    page.goto(f"{live_server.url}/projects/{demo.id}/settings")
    page.fill("label:has-text('Minimum demonstration length') input", "25")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Project saved.")
    demo.refresh_from_db()
    assert demo.min_demonstration_chars == 25
    page.goto(f"{live_server.url}/projects/{pairwise.id}/settings")
    page.check("label:has-text('whether they matched it') input")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Project saved.")
    pairwise.refresh_from_db()
    assert pairwise.gold_feedback is True
