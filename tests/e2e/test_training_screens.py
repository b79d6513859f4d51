"""An admin launches training jobs from the web form and watches them on a real worker; a lead reads them.

The models, snapshots and worker are the training tests' own (tests/training/conftest.py): a tiny random
Llama-style model, a pairwise project answered so one reply always wins, and a Celery worker on a training
queue of this run's own.
"""

import pytest

from annotation.models import Prompt
from tests import factories
from tests.training import conftest as fixtures
from training.models import Model, TrainingJob

from .browser import login, shot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker, pytest.mark.training]

# The training tests' fixtures, found by name (assigned rather than imported, so the tests' arguments do not
# read as redefinitions of an import).
admin, artifacts, fast_passwords = fixtures.admin, fixtures.artifacts, fixtures.fast_passwords
preference_snapshot, tiny_folder, tiny_model = fixtures.preference_snapshot, fixtures.tiny_folder, fixtures.tiny_model
training_worker, wait_for_job = fixtures.training_worker, fixtures.wait_for_job

# Small enough for two shared CPU cores, long enough to draw a curve.
STEPS = 12
FAST = {"max_steps": str(STEPS), "per_device_train_batch_size": "4", "logging_steps": "1", "save_steps": "12",
        "max_length": "64", "num_sample_generations": "1", "max_new_tokens": "8"}
RUN = 240_000  # ms: the engine imports torch and TRL for each job


def launch_from_form(page, base_url: str, *, kind: str, snapshot_id: int, model_id: int, settings: dict,
                     reward_model_id: int | None = None) -> int:
    """Fill the new-job form as a person would and start the job; returns its id from the page it lands on."""
    page.goto(base_url + "/training")
    page.get_by_role("link", name="New job").click()
    page.wait_for_selector("h1:text('New training job')")
    page.get_by_label("Kind", exact=True).select_option(kind)
    # The snapshot and model pickers fill in once their lists have loaded.
    page.wait_for_selector(f"select[name=snapshot] option[value='{snapshot_id}']", state="attached")
    page.get_by_label("Snapshot", exact=True).select_option(str(snapshot_id))
    page.wait_for_selector(f"select[name=base_model] option[value='{model_id}']", state="attached")
    page.get_by_label("Base model", exact=True).select_option(str(model_id))
    if reward_model_id is not None:
        page.wait_for_selector(f"select[name=reward_model] option[value='{reward_model_id}']", state="attached")
        page.get_by_label("Reward model", exact=True).select_option(str(reward_model_id))
    for name, value in settings.items():
        page.fill(f"[data-testid=schema-form] input[name={name}]", value)
    shot(page, f"training-new-{kind}")
    page.get_by_role("button", name="Start training").click()
    page.wait_for_selector("[data-testid=job-page]")  # the client-side router moved there: no load event
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def test_an_admin_launches_a_job_from_the_form_and_watches_it_succeed(live_server, new_page, admin, tiny_model,
                                                                      preference_snapshot, training_worker):
    training_worker()
    watched = new_page()
    page = watched.page
    login(page, live_server.url, admin.username, factories.PASSWORD)
    page.get_by_role("link", name="Training", exact=True).click()
    page.wait_for_selector("h1:text('Training jobs')")

    job_id = launch_from_form(page, live_server.url, kind="dpo", snapshot_id=preference_snapshot.pk,
                              model_id=tiny_model.pk, settings={**FAST, "beta": "0.5"})
    job = TrainingJob.objects.get(pk=job_id)
    assert job.kind == "dpo" and job.snapshot_id == preference_snapshot.pk and job.base_model_id == tiny_model.pk
    assert job.config["max_steps"] == STEPS and job.config["beta"] == 0.5

    page.wait_for_selector("[data-testid=job-page][data-status=succeeded]", timeout=RUN)
    # Every step the trainer logged is on the loss chart, drawn by uPlot on a canvas.
    page.wait_for_selector(f"[data-metric=loss][data-points='{STEPS}']")
    charts = page.eval_on_selector_all("[data-metric]", "els => els.map(e => e.dataset.metric)")
    assert {"loss", "rewards/margins", "learning_rate"} <= set(charts), charts
    assert page.locator("[data-metric=loss] canvas").count() == 1
    assert page.get_by_test_id("job-status-line").inner_text().startswith("Succeeded")
    page.wait_for_selector("[data-testid=job-log]")
    assert page.get_by_test_id("job-evaluation").count() == 1
    output = Model.objects.get(job_id=job_id)
    assert output.name in page.get_by_test_id("output-model").inner_text()
    assert page.get_by_role("button", name="Retry").count() == 0
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "training-job")

    # The jobs list shows it finished, and the models page traces the model back to the project.
    page.get_by_role("link", name="Training", exact=True).click()
    page.wait_for_selector(f"[data-job='{job_id}'][data-status=succeeded]")
    page.get_by_role("link", name="Models", exact=True).click()
    row = page.locator(f"[data-model='{output.pk}']")
    row.wait_for()
    assert f"job #{job_id}" in row.inner_text() and preference_snapshot.project.name in row.inner_text()

    # A lead of the project reads the job from the project's Models tab, without the admin's buttons.
    lead_page = new_page().page
    login(lead_page, live_server.url, preference_snapshot.lead.username, factories.PASSWORD)
    lead_page.goto(f"{live_server.url}/projects/{preference_snapshot.project_id}/models")
    lead_page.locator(f"[data-testid=project-models] [data-model='{output.pk}']").wait_for()
    lead_page.locator("[data-testid=project-jobs]").get_by_role("link", name=f"#{job_id}", exact=True).click()
    lead_page.wait_for_selector(f"[data-metric=loss][data-points='{STEPS}']")
    assert lead_page.get_by_role("button", name="Retry").count() == 0
    assert lead_page.get_by_role("button", name="Cancel job").count() == 0
    assert lead_page.get_by_role("link", name="Training", exact=True).count() == 0
    assert watched.page_errors == [] and watched.dialogs == []


def test_an_admin_cancels_a_running_job(live_server, new_page, admin, tiny_model, preference_snapshot,
                                        training_worker):
    training_worker()
    watched = new_page()
    page = watched.page
    login(page, live_server.url, admin.username, factories.PASSWORD)
    job_id = launch_from_form(page, live_server.url, kind="reward", snapshot_id=preference_snapshot.pk,
                              model_id=tiny_model.pk,
                              settings={"max_steps": "100000", "per_device_train_batch_size": "2", "logging_steps": "1",
                                        "save_steps": "100000", "max_length": "64"})
    # Running, and its curves growing, before it is cancelled.
    page.wait_for_function("""() => document.querySelector('[data-metric=loss]')
        || ['failed', 'succeeded'].includes(document.querySelector('[data-testid=job-page]').dataset.status)""",
                           timeout=RUN)
    assert page.get_attribute("[data-testid=job-page]", "data-status") == "running", \
        TrainingJob.objects.get(pk=job_id).log_tail[-2000:]
    page.get_by_role("button", name="Cancel job").click()
    page.wait_for_selector("[data-testid=job-page][data-status=cancelled]", timeout=60_000)
    job = TrainingJob.objects.get(pk=job_id)
    assert job.status == "cancelled" and job.cancelled_by == admin and 0 < job.step < 100000
    assert not Model.objects.filter(job=job).exists()
    assert page.get_by_role("button", name="Retry").is_visible()
    assert page.get_by_role("button", name="Cancel job").count() == 0
    assert "Cancelled" in page.get_by_test_id("job-status-line").inner_text()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "training-job-cancelled")
    assert watched.page_errors == [] and watched.dialogs == []


# Six PPO steps with a checkpoint (and so a point of reward against KL) every three.
PPO_FAST = {"max_steps": "6", "rollout_batch_size": "8", "per_device_train_batch_size": "4", "num_ppo_epochs": "2",
            "response_length": "8", "learning_rate": "0.001", "save_steps": "3", "num_sample_generations": "2",
            "max_new_tokens": "8"}


def test_a_ppo_job_from_the_form_shows_reward_against_kl_its_warnings_and_an_evaluate_job_compares(
        live_server, new_page, api, admin, tiny_model, preference_snapshot, training_worker):
    worker = training_worker()
    # The reward model that scores the policy, trained through the API (the form is the first test's business).
    reward = api(admin).post("/api/training-jobs/", {
        "kind": "reward", "snapshot": preference_snapshot.pk, "base_model": tiny_model.pk,
        "config": {"max_steps": STEPS, "per_device_train_batch_size": 4, "logging_steps": 1, "save_steps": STEPS,
                   "learning_rate": 3e-3, "max_length": 64}}, format="json")
    assert reward.status_code == 201, reward.json()
    reward_job = wait_for_job(reward.json()["id"], lambda j: j.is_finished, worker=worker)
    assert reward_job.status == "succeeded", reward_job.error
    reward_model = reward_job.output_model

    watched = new_page()
    page = watched.page
    login(page, live_server.url, admin.username, factories.PASSWORD)
    job_id = launch_from_form(page, live_server.url, kind="ppo", snapshot_id=preference_snapshot.pk,
                              model_id=tiny_model.pk, settings=PPO_FAST, reward_model_id=reward_model.pk)
    job = TrainingJob.objects.get(pk=job_id)
    assert job.kind == "ppo" and job.reward_model_id == reward_model.pk and job.config["save_steps"] == 3

    # The chart is on the page from the start and gains a point at each checkpoint (steps 3 and 6).
    page.wait_for_selector("[data-testid=reward-kl]")
    page.wait_for_selector("[data-testid=job-page][data-status=succeeded]", timeout=RUN)
    page.wait_for_selector("[data-testid=reward-kl][data-points='2']")
    assert page.locator("[data-testid=reward-kl] canvas").count() == 1
    job = TrainingJob.objects.get(pk=job_id)
    table = page.get_by_test_id("checkpoint-evals").inner_text()
    assert "3" in table and "6" in table

    # The warnings, with the numbers the job wrote, or the note that there are none.
    warnings = job.evaluation["warnings"]
    section = page.get_by_test_id("hacking-warnings")
    assert section.get_attribute("data-count") == str(len(warnings))
    text = section.inner_text()
    if warnings:
        assert all(w["message"] in text for w in warnings), (warnings, text)
    else:
        assert text.startswith("No warnings")
    summary = page.get_by_test_id("policy-vs-reference").inner_text()
    assert f"{job.evaluation['policy_vs_reference']['prompts']} held-out prompts" in summary
    assert page.locator("[data-testid=side-by-side] [data-sample]").count() == len(job.samples) == 2
    assert page.locator("[data-testid=side-by-side] [data-side=reference]").count() == 2
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "training-job-ppo")

    # An evaluate job of the PPO policy: the summary with its best-of-n baseline, rewards on each sample, no model.
    evaluate = api(admin).post("/api/training-jobs/", {
        "kind": "evaluate", "snapshot": preference_snapshot.pk, "base_model": job.output_model.pk,
        "reward_model": reward_model.pk, "config": {"num_prompts": 4, "max_new_tokens": 6, "best_of_n": 2}},
        format="json")
    assert evaluate.status_code == 201, evaluate.json()
    evaluate_job = wait_for_job(evaluate.json()["id"], lambda j: j.is_finished, worker=worker)
    assert evaluate_job.status == "succeeded", evaluate_job.error
    page.goto(f"{live_server.url}/training/{evaluate_job.pk}")
    summary = page.get_by_test_id("policy-vs-reference")
    summary.wait_for()
    assert "Best-of-2 baseline" in summary.inner_text()
    assert page.locator("[data-testid=side-by-side] [data-sample]").count() == 4
    assert "reward" in page.locator("[data-testid=side-by-side] [data-side=policy]").first.inner_text()
    assert page.get_by_test_id("output-model").count() == 0
    assert page.get_by_test_id("reward-kl").count() == 0
    shot(page, "training-job-evaluate")

    # The project's Models tab draws the lineage: snapshot → reward and PPO jobs → their models, each a link.
    page.goto(f"{live_server.url}/projects/{preference_snapshot.project_id}/models")
    graph = page.get_by_test_id("lineage-graph")
    graph.wait_for()
    for node, href in ((f"job:{job.pk}", f"/training/{job.pk}"), (f"model:{job.output_model.pk}", None),
                       (f"snapshot:{preference_snapshot.pk}", None), (f"model:{reward_model.pk}", None)):
        assert graph.locator(f"a[data-node='{node}']").count() == 1, node
        assert href is None or graph.locator(f"a[data-node='{node}']").get_attribute("href") == href
    assert page.get_by_test_id("model-strengths").count() == 1
    assert page.get_by_test_id("not-deployed").count() == 0
    graph.scroll_into_view_if_needed()
    shot(page, "project-models-lineage")

    # Its Rounds tab previews a round from the PPO policy: what the server says it would create, nothing launched.
    page.get_by_role("link", name="Rounds", exact=True).click()
    new_round = page.get_by_test_id("new-round")
    new_round.locator(f"select[name=policy] option[value='{job.output_model.pk}']").wait_for(state="attached")
    new_round.get_by_label("Policy", exact=True).select_option(str(job.output_model.pk))
    page.wait_for_selector("[data-testid=round-preview][data-state=ready]")
    prompts = Prompt.objects.filter(project=preference_snapshot.project).count()
    figure = page.locator("[data-testid=round-preview] [data-figure=prompts] .figure-value").inner_text()
    assert figure == str(min(prompts, 200)), (figure, prompts)
    assert TrainingJob.objects.filter(kind="generate").count() == 0
    shot(page, "project-rounds")
    assert watched.page_errors == [] and watched.dialogs == []
