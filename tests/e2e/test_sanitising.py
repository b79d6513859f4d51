"""Text from data is shown, never run: markup in prompts and responses stays text and loads nothing."""

import pytest

from annotation.importing import validate_lines
from annotation.services.imports import items_import
from tests import factories

from .browser import login, shot, wait_for_new_item

pytestmark = pytest.mark.django_db(transaction=True)

def pass_the_guidelines(page) -> str:
    """A first visit shows the project's guidelines before the first item (data too): read them, then Enter."""
    intro = page.locator("[data-testid=guidelines-intro]")
    intro.wait_for()
    text = intro.inner_text()
    assert intro.locator("script, img, iframe, svg").count() == 0
    page.keyboard.press("Enter")
    return text


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
    watched = guarded_page(new_page, live_server.url)
    page = watched.page
    login(page, live_server.url, annotator.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/projects/{hostile_project.id}/annotate")
    pass_the_guidelines(page)
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
    lead_watch = guarded_page(new_page, live_server.url)
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
        assert w.foreign == []  # nothing loaded from anywhere but our server
        assert not [url for url in w.requests if url.endswith("/x") or "pixel.png" in url]  # nor a relative src


# --- Every screen, every field a person can write -------------------------------------------------------------
# Each payload is tagged by where it was written, and would betray itself if it ever became markup: an element
# with `data-pwned`, a script setting `window.pwned`, a dialog, or a request to a host other than ours.
def evil(tag: str) -> str:
    return (f'{tag}: <img src=x data-pwned onerror="window.pwned=1;alert(1)"> <b data-pwned>bold</b> '
            f'<script>window.pwned=1</script> <img src="http://evil.invalid/{tag}.png" data-pwned>')


TEXT = "<img src=x data-pwned"  # how each payload reads when it is shown as text


@pytest.fixture
def hostile_world(settings, tmp_path, admin_user, lead, annotator):
    from annotation.models import Annotation
    from annotation.services.annotations import annotation_submit
    from annotation.services.assignments import assignment_next
    from annotation.services.snapshots import snapshot_build, snapshot_create
    from training.models import Model, TrainingJob

    settings.ARTIFACT_ROOT = tmp_path
    annotator.first_name, lead.last_name = evil("first-name")[:150], evil("last-name")[:150]
    annotator.save()
    lead.save()
    project = factories.project("pairwise", name=evil("project")[:200], members={lead: "lead", annotator: "annotator"},
                                annotations_per_item=1, guidelines=evil("guidelines") + "\n\n![pixel](http://evil.invalid/md.png)",
                                criteria=[evil("criterion")[:120]])
    lines = [{"external_id": f"x-{i}", "prompt": evil(f"prompt-{i}"),
              "responses": [{"text": evil(f"response-{i}a"), "model": evil("model-a")[:200]},
                            {"text": evil(f"response-{i}b"), "model": evil("model-b")[:200]}]} for i in range(2)]
    items_import(project=project, lines=validate_lines(list(enumerate(lines, 1)), kind="pairwise", responses_per_item=2))
    lease = assignment_next(project=project, user=annotator)
    annotation_submit(assignment_id=lease.pk, user=annotator, payload={
        "chosen": lease.response_ids[0], "strength": 2, "rationale": evil("rationale")})
    snapshot = snapshot_build(snapshot_id=snapshot_create(project=project, created_by=lead, enqueue=False,
                                                          test_fraction=0.0).pk)
    base = Model.objects.create(name=evil("base-model")[:200], kind="base", task="causal-lm", source="builtin",
                                storage_prefix="models/base")
    job = TrainingJob.objects.create(kind="reward", status=TrainingJob.Status.FAILED, snapshot=snapshot,
                                     base_model=base, created_by=admin_user, error=evil("job-error"),
                                     log_tail=evil("log"))
    trained = Model.objects.create(name=evil("trained-model")[:200], kind="reward", task="sequence-classification",
                                   source="trained", storage_prefix="models/trained", job=job, parent=base)
    item = Annotation.objects.get().item
    return {"project": project, "item": item, "job": job, "model": trained, "snapshot": snapshot}


def guarded_page(new_page, base_url: str):
    """A page that lets no request leave our server: any other host is refused and recorded."""
    watched = new_page()
    watched.foreign = []

    def route(route):
        if route.request.url.startswith(base_url) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            watched.foreign.append(route.request.url)
            route.abort()

    watched.page.context.route("**/*", route)
    return watched


def check_screen(watched, url: str, must_show: list[str]) -> None:
    """Open a screen, wait until the first field shows, and prove every field shows as text and nothing ran."""
    page = watched.page
    page.goto(url)
    page.wait_for_function("t => document.body.innerText.includes(t)", arg=must_show[0] + ": " + TEXT,
                           timeout=15_000)
    page.wait_for_load_state("networkidle")
    text = page.locator("body").inner_text()
    for tag in must_show:
        assert f"{tag}: {TEXT}" in text, f"{url}: {tag!r} is not shown as text"
    assert page.locator("[data-pwned]").count() == 0, f"{url}: markup from data became elements"
    assert page.evaluate("() => window.pwned") is None, f"{url}: a script from data ran"
    assert (watched.dialogs, watched.page_errors, watched.foreign) == ([], [], []), url


def test_markup_written_anywhere_is_text_on_every_screen(live_server, new_page, hostile_world, annotator, lead,
                                                          admin_user):
    base = live_server.url
    project, item, job, model = (hostile_world[k] for k in ("project", "item", "job", "model"))
    p = f"{base}/projects/{project.pk}"

    annotator_page = guarded_page(new_page, base)
    login(annotator_page.page, base, annotator.username, factories.PASSWORD)
    check_screen(annotator_page, f"{base}/", ["project"])
    check_screen(annotator_page, f"{p}/annotate", ["prompt-1", "response-1a", "response-1b"])
    annotator_page.page.locator("details.extras summary").click()
    annotator_page.page.keyboard.press("g")
    annotator_page.page.wait_for_selector("aside.guidelines")
    text = annotator_page.page.locator("body").inner_text()
    assert f"guidelines: {TEXT}" in text
    names = annotator_page.page.locator(".criterion-name").all_text_contents()  # the text, whatever CSS capitalises
    assert names == [evil("criterion")[:120]]
    assert "[image: pixel — http://evil.invalid/md.png]" in text
    assert annotator_page.page.locator("[data-pwned]").count() == 0
    check_screen(annotator_page, f"{p}/mine", ["project"])

    lead_page = guarded_page(new_page, base)
    login(lead_page.page, base, lead.username, factories.PASSWORD)
    check_screen(lead_page, p, ["project"])
    check_screen(lead_page, f"{p}/items", ["project"])
    check_screen(lead_page, f"{p}/items/{item.pk}", ["project", "prompt-0", "response-0a", "rationale"])
    check_screen(lead_page, f"{p}/members", ["project"])
    check_screen(lead_page, f"{p}/curation", ["project"])
    check_screen(lead_page, f"{p}/snapshots", ["project"])
    check_screen(lead_page, f"{p}/models", ["project", "trained-model", "model-a", "model-b"])
    check_screen(lead_page, f"{base}/training/{job.pk}", ["base-model", "trained-model", "job-error"])

    admin_page = guarded_page(new_page, base)
    login(admin_page.page, base, admin_user.username, factories.PASSWORD)
    check_screen(admin_page, f"{base}/manage/users", ["first-name", "last-name"])
    check_screen(admin_page, f"{base}/training", ["base-model"])
    check_screen(admin_page, f"{base}/models", ["trained-model", "base-model"])
    check_screen(admin_page, f"{base}/models?model={model.pk}", ["trained-model"])
    admin_page.page.goto(f"{p}/settings")
    admin_page.page.wait_for_function("t => [...document.querySelectorAll('input')].some(i => i.value.startsWith(t))",
                                      arg="project: " + TEXT)
    assert admin_page.page.locator("[data-pwned]").count() == 0
    shot(admin_page.page, "11-hostile-settings-as-text")
    for watched in (annotator_page, lead_page, admin_page):
        assert (watched.dialogs, watched.page_errors, watched.foreign) == ([], [], [])


def test_snapshot_files_keep_markup_as_data(hostile_world):
    """The export carries the text exactly as written, as JSON strings: nothing escaped away, nothing interpreted."""
    import json

    from annotation.selectors import snapshot_file_path

    snapshot = hostile_world["snapshot"]
    names = {f["name"] for f in snapshot.files}
    assert snapshot.state == "ready" and "raw-all.jsonl" in names, (snapshot.state, snapshot.error, names)
    raw = snapshot_file_path(snapshot=snapshot, name="raw-all.jsonl").read_text()
    rows = [json.loads(line) for line in raw.splitlines()]  # each line is valid JSON on its own

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict | list):
            for inner in value.values() if isinstance(value, dict) else value:
                yield from strings(inner)

    written = list(strings(rows))
    for tag in ("prompt-0", "response-0a", "response-0b", "model-a", "model-b", "rationale"):  # the answered item
        assert any(evil(tag)[:120] in text for text in written), tag
    assert "<script>" in raw and "\\u003c" not in raw  # kept as data, not HTML-escaped
    preference = [json.loads(line) for line in
                  snapshot_file_path(snapshot=snapshot, name="preference-train.jsonl").read_text().splitlines()]
    assert len(preference) == 1
    assert {evil("prompt-0"), evil("response-0a")} <= set(strings(preference))  # TRL reads exactly what was written
