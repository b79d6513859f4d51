"""Browser tests: a real Chromium (Debian's) driven by Playwright against a real server.

Most tests use pytest-django's in-process `live_server`. The retry test needs to stop and
restart the server, so it runs `manage.py runserver` as a child process on its own SQLite
file (`server_process`).
"""

import os
from pathlib import Path

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, ROOT, VIEWPORT, ServerProcess


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install -y chromium (make test does this as root)"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI a skipped browser suite would hide a broken install
        pytest.skip(message)
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        pytest.fail("frontend/dist is not built: run `make frontend` (cd frontend && npm ci && npm run build)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, and Django's ORM then
    # refuses to run. The test code itself is synchronous, so the guard does not apply here.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watched:
    """A page with everything that would betray a broken or unsafe screen recorded, and what a failing test's
    report shows of it (`describe`): the answers of 400 and more, console errors, page errors."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        self.failed: list[str] = []  # "status METHOD url" of each answer of 400 or more
        self.console: list[str] = []  # the console's errors
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.request.method} {r.url}"))
        page.on("console", lambda m: m.type == "error" and self.console.append(m.text))

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def describe(self, screenshot: Path) -> str:
        """What a person would need to see of this page to tell why a test failed; a screenshot to `screenshot`."""
        lines = [f"page at {self.page.url}", *(f"  answered {f}" for f in self.failed),
                 *(f"  console: {c}" for c in self.console), *(f"  page error: {e}" for e in self.page_errors)]
        try:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            self.page.screenshot(path=str(screenshot), timeout=5_000)
            lines.append(f"  screenshot: {screenshot}")
            text = self.page.evaluate("document.body ? document.body.innerText.slice(0, 1500) : ''")
            lines.append("  text: " + " | ".join(line for line in text.splitlines() if line.strip()))
        except Exception as exc:  # noqa: BLE001 - a closed or hung page: say so, the failure itself matters more
            lines.append(f"  (could not read the page: {exc})")
        return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test's report says what each of its pages saw (`Watched.describe`)."""
    report = yield
    pages = getattr(item, "watched_pages", None)
    if report.when == "call" and report.failed and pages:
        name = item.name.replace("/", "-")[:80]
        report.sections.append(("what the browser saw", "\n".join(
            watched.describe(ROOT / "var" / "screenshots" / f"failed-{name}-{k}.png")
            for k, watched in enumerate(pages))))
    return report


@pytest.fixture
def new_page(browser, request):
    """new_page() -> Watched page in a fresh browser context (its own cookies and localStorage)."""
    contexts, pages = [], []
    request.node.watched_pages = pages  # for the report of a failure (`pytest_runtest_makereport`)

    def make(context=None):
        if context is None:
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
        pages.append(Watched(context.new_page()))
        return pages[-1]

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def server_process(tmp_path):
    server = ServerProcess(tmp_path)
    server.manage("migrate", "--no-input", "-v", "0")
    server.manage("load_demo")
    try:
        yield server
    finally:
        server.stop()
        server.log.close()
