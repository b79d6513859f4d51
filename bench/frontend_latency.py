"""Annotator latency: from the submit keypress to the next item on screen, in a real Chromium.

    .venv/bin/python bench/frontend_latency.py --items 200

Starts its own server (gunicorn, as `make run`, on a throwaway SQLite file), loads the demo
users, creates a pairwise project with markdown-and-code responses, and has alice answer
--items items with the keyboard (key 2, then Enter). For each item it records, inside the
page, the time from the Enter keydown to (a) the next item's DOM being committed and (b) the
frame after it being painted, plus the submit and next request times from Resource Timing.
Needs frontend/dist (make frontend) and /usr/bin/chromium.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, ServerProcess, login, wait_for_new_item  # noqa: E402

PASSWORD = "rlhf-demo-2026"  # load_demo's password

# Runs in the page before the app: stamps the Enter keydown, then the commit and the paint of the next item.
PROBE = """
performance.setResourceTimingBufferSize(100000);
window.__lat = [];
let pending = null;
window.addEventListener('keydown', e => {
  if (e.key !== 'Enter') return;
  const task = document.querySelector('[data-assignment]');
  pending = { t0: performance.now(), from: task && task.dataset.assignment };
}, true);
new MutationObserver(() => {
  if (!pending) return;
  const task = document.querySelector('.task-wrap:not(.busy) [data-assignment]');
  if (!task || task.dataset.assignment === pending.from) return;
  const sample = pending; pending = null;
  sample.dom = performance.now() - sample.t0;
  requestAnimationFrame(() => setTimeout(() => {
    sample.paint = performance.now() - sample.t0;
    const since = e => e.startTime >= sample.t0;
    const res = performance.getEntriesByType('resource').filter(since);
    const dur = re => { const r = res.find(e => re.test(e.name)); return r ? r.responseEnd - r.startTime : null; };
    sample.submit = dur(/\\/submit\\/$/); sample.next = dur(/\\/next\\/$/);
    const at = (re, k) => { const r = res.find(e => re.test(e.name)); return r ? r[k] - sample.t0 : null; };
    sample.submit_start = at(/\\/submit\\/$/, 'startTime'); sample.next_start = at(/\\/next\\/$/, 'startTime');
    sample.next_end = at(/\\/next\\/$/, 'responseEnd');
    window.__lat.push(sample);
  }, 0));
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-assignment', 'class'] });
"""

RESPONSE_A = """Here is a version that handles empty input:

```python
def mean(values: list[float]) -> float:
    if not values:
        raise ValueError("mean of an empty list")
    return sum(values) / len(values)
```

It raises instead of returning `0`, because a silent zero hides bugs. Item {i}."""
RESPONSE_B = "Use `sum(values) / len(values)`. It works for any list, item {i}, and is **fast**:\n\n- one pass\n- no imports"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def set_up(server: ServerProcess, n_items: int) -> int:
    admin = server.token("admin", PASSWORD)
    status, project = server.api("POST", "/api/projects/", token=admin, body={
        "name": "Latency bench", "kind": "pairwise", "annotations_per_item": 1, "gold_ratio": 0,
        "criteria": [], "guidelines": "Pick the better answer."})
    assert status == 201, project
    status, body = server.api("POST", f"/api/projects/{project['id']}/members/", token=admin,
                              body={"user": "alice", "role": "annotator"})
    assert status == 201, body
    items = [{"external_id": f"lat-{i}",
              "conversation": [{"role": "user", "content": f"Write a mean() for a list of floats (case {i})."}],
              "responses": [{"text": RESPONSE_A.format(i=i)}, {"text": RESPONSE_B.format(i=i)}]}
             for i in range(n_items + 10)]
    status, body = server.api("POST", f"/api/projects/{project['id']}/import/", token=admin, body={"items": items})
    assert status == 201, body
    return project["id"]


def run(n_items: int, use_gunicorn: bool) -> list[dict]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as var_dir:
        server = ServerProcess(Path(var_dir), gunicorn=use_gunicorn)
        server.manage("migrate", "--no-input", "-v", "0")
        server.manage("load_demo")
        server.start()
        try:
            project_id = set_up(server, n_items)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.add_init_script(PROBE)
                login(page, server.url, "alice", PASSWORD)
                page.goto(f"{server.url}/projects/{project_id}/annotate")
                page.wait_for_selector("[data-testid=guidelines-intro]")  # a first visit: the guidelines first
                page.keyboard.press("Enter")
                current = wait_for_new_item(page, None)
                for i in range(n_items):
                    page.keyboard.press("2")
                    page.keyboard.press("Enter")
                    page.wait_for_function("n => window.__lat.length >= n", arg=i + 1, timeout=15_000)
                    current = wait_for_new_item(page, current)
                samples = page.evaluate("window.__lat")
                browser.close()
        finally:
            server.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--runserver", action="store_true", help="Django's runserver instead of gunicorn")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"no Chromium at {CHROMIUM}")
    started = time.monotonic()
    samples = run(args.items, use_gunicorn=not args.runserver)
    print(f"{len(samples)} items in {time.monotonic() - started:.0f} s "
          f"({'runserver' if args.runserver else 'gunicorn 2x4'}, SQLite, headless Chromium)")
    print(f"{'ms from Enter to':<28}{'p50':>8}{'p95':>8}{'max':>8}")
    for key, label in (("dom", "next item in the DOM"), ("paint", "next item painted"),
                       ("submit", "  submit request"), ("next", "  next request"),
                       ("submit_start", "  submit request starts"), ("next_start", "  next request starts"),
                       ("next_end", "  next response ends")):
        values = [s[key] for s in samples if s.get(key) is not None]
        if values:
            print(f"{label:<28}{percentile(values, 50):>8.1f}{percentile(values, 95):>8.1f}{max(values):>8.1f}")
    # The page's own share, without the server's: from the submit's answer to asking for the next item, and from
    # the next item's answer to it being in the DOM. Less noisy than the totals on a shared machine.
    for label, share in (("app: submit done → next asked", lambda s: s["next_start"] - s["submit_start"] - s["submit"]),
                         ("app: next done → item in DOM", lambda s: s["dom"] - s["next_end"])):
        values = [share(s) for s in samples if None not in (s.get("next_start"), s.get("submit"), s.get("next_end"))]
        if values:
            print(f"{label:<28}{percentile(values, 50):>8.1f}{percentile(values, 95):>8.1f}{max(values):>8.1f}")
    print(f"mean paint: {statistics.fmean(s['paint'] for s in samples):.1f} ms")


if __name__ == "__main__":
    main()
