"""Answers given while the server is down are kept, retried with their idempotency key, and stored once."""

from annotation.management.commands.load_demo import DEMO_PASSWORD

from .browser import login, shot, wait_for_new_item

PENDING = "JSON.parse(localStorage.getItem('rlhf.pendingAnswers.v1') || '[]')"


def rows(data):
    return data["results"] if isinstance(data, dict) else data


def submit_while_down(page, server, key: str):
    """Choose on the scale, stop the server, submit: the answer must wait on this device."""
    page.keyboard.press(key)
    server.stop()
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-testid=network-banner]")
    pending = page.evaluate(PENDING)
    assert len(pending) == 1
    return pending[0]


def test_a_submit_while_the_server_is_down_is_retried_and_stored_once(server_process, new_page):
    server = server_process
    server.start()
    token = server.token("alice", DEMO_PASSWORD)
    project = next(p for p in rows(server.api("GET", "/api/projects/", token=token)[1]) if p["kind"] == "pairwise")
    annotate = f"{server.url}/projects/{project['id']}/annotate"

    watched = new_page()
    page = watched.page
    login(page, server.url, "alice", DEMO_PASSWORD)
    page.goto(annotate)
    page.wait_for_selector("[data-testid=guidelines-intro]")  # a first visit shows the guidelines first
    page.keyboard.press("Enter")
    first = wait_for_new_item(page, None)

    # 1. In-page retry: the answer waits, the banner says so, and it lands once the server is back.
    pending = submit_while_down(page, server, "2")
    assert pending["assignment"] == int(first)
    page.wait_for_function("() => /next try in/.test(document.querySelector('[data-testid=network-banner]').textContent)")
    page.wait_for_timeout(1500)  # at least one more failed try, on the same key
    shot(page, "11-offline-banner")
    assert page.evaluate(PENDING)[0]["key"] == pending["key"]
    server.start()
    second = wait_for_new_item(page, first, timeout=30_000)
    assert page.locator("[data-testid=network-banner]").count() == 0
    assert page.evaluate(PENDING) == []

    # The stored answer is the one sent under that key: repeating the key answers 200, not a second 201.
    status, again = server.api("POST", f"/api/assignments/{first}/submit/", token=token, body=pending["body"],
                               headers={"Idempotency-Key": pending["key"]})
    assert status == 200, again

    # 2. Reload path: the page is closed while the answer waits; the next visit sends it before anything else.
    pending = submit_while_down(page, server, "6")
    assert pending["assignment"] == int(second)
    context = page.context
    page.close()
    server.start()
    page = new_page(context).page
    page.goto(annotate)
    third = wait_for_new_item(page, None, timeout=30_000)
    assert third not in (first, second)
    assert page.evaluate(PENDING) == []

    mine = rows(server.api("GET", f"/api/me/annotations/?project={project['id']}", token=token)[1])
    assert len(mine) == 2
    assert len({answer["item"] for answer in mine}) == 2
    assert sorted(abs(answer["preference"]) for answer in mine) == [2, 2]
    assert watched.dialogs == [] and watched.page_errors == []
