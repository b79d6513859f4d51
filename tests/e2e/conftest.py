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
    """A page with everything that would betray a broken or unsafe screen recorded."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.page_errors: list[str] = []
        self.requests: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def _on_dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()


@pytest.fixture
def new_page(browser):
    """new_page() -> Watched page in a fresh browser context (its own cookies and localStorage)."""
    contexts = []

    def make(context=None):
        if context is None:
            context = browser.new_context(viewport=VIEWPORT)
            contexts.append(context)
        return Watched(context.new_page())

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
