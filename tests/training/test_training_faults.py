"""Cancel, a worker killed mid-run, and the reconciler, for TRL's trainers (SFT) and ours (PPO): no job is ever left
running without a live worker."""

import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from annotation import artifacts as store
from training.models import TrainingJob, TrainingMetric
from training.services.jobs import jobs_reconcile
from training.services.registry import model_local_folder

from .. import factories
from ..conftest import wait_for
from .conftest import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.training]
LONG = {"per_device_train_batch_size": 4, "logging_steps": 1, "learning_rate": 1e-3, "max_length": 64,
        "num_sample_generations": 0, "seed": 7}


PPO = {"rollout_batch_size": 4, "per_device_train_batch_size": 4, "num_ppo_epochs": 1, "response_length": 6,
       "num_sample_generations": 0, "checkpoint_eval_prompts": 0, "logging_steps": 1, "seed": 7}


def launch(api, admin, snapshot, model, *, kind="sft", reward=None, **config) -> int:
    body = {"kind": kind, "snapshot": snapshot.pk, "base_model": model.pk,
            "config": {**(LONG if kind == "sft" else PPO), **config}}
    if reward is not None:
        body["reward_model"] = reward.pk
    response = api(admin).post("/api/training-jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def checkpoints_stored(job_id: int) -> list[int]:
    prefix = f"jobs/{job_id}/checkpoints"
    if not store.exists(prefix):
        return []
    return sorted(int(name.rsplit("-", 1)[1]) for name in store.store().listdir(prefix)[0])


def engine_processes(job_id: int, work_root) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"{work_root}/{job_id}/spec.json"], capture_output=True, text=True)
    return found.stdout.split()


@pytest.fixture(params=["sft", "ppo"])
def job_inputs(request, tiny_model, sft_snapshot, preference_snapshot):
    """(snapshot, launch options) of an SFT job (TRL's trainer) and of a PPO job (ours)."""
    if request.param == "sft":
        return sft_snapshot, {}
    return preference_snapshot, {"kind": "ppo", "reward": request.getfixturevalue("tiny_reward_model")}


def test_cancel_stops_a_running_job_within_a_step_and_keeps_its_checkpoint(api, admin, tiny_model, job_inputs,
                                                                           training_worker):
    snapshot, options = job_inputs
    worker = training_worker()
    job_id = launch(api, admin, snapshot, tiny_model, max_steps=100_000, save_steps=100_000, **options)
    running = wait_for_job(job_id, lambda j: j.status == "running" and j.step >= 3, worker=worker,
                           what="the job to take a few steps")
    assert running.first_step_at is not None
    detail = api(admin).get(f"/api/training-jobs/{job_id}/").json()
    assert detail["can_cancel"] and detail["progress"]["max_steps"] == 100_000
    assert detail["progress"]["eta_seconds"] is not None and detail["progress"]["eta_seconds"] > 0
    assert api(admin).post(f"/api/training-jobs/{job_id}/cancel/").json()["cancel_requested_at"]
    cancelled = wait_for_job(job_id, lambda j: j.is_finished, worker=worker, what="the cancel to take effect")
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == admin and cancelled.error == ""
    assert 3 <= cancelled.step < 100_000
    assert checkpoints_stored(job_id) == [cancelled.step]  # the step it stopped at is saved
    log = api(admin).get(f"/api/training-jobs/{job_id}/log/?lines=50").json()
    assert log["lines"] > 0
    assert engine_processes(job_id, worker_root(worker)) == []


def worker_root(worker):
    from django.conf import settings

    return settings.TRAINING_WORK_ROOT


def test_a_worker_killed_mid_run_is_requeued_and_the_job_resumes_to_the_same_result(
        api, admin, tiny_model, job_inputs, training_worker, settings):
    import torch
    from transformers import AutoModelForCausalLM

    snapshot, options = job_inputs
    # Long enough that a quiet machine is still running it when the test looks (a tiny PPO step takes ~0.1 s).
    steps = {"max_steps": 160, "save_steps": 10} if options else {"max_steps": 160, "save_steps": 20}
    total = steps["max_steps"]
    first = training_worker("first")
    job_id = launch(api, admin, snapshot, tiny_model, **steps, **options)
    wait_for(lambda: checkpoints_stored(job_id) and TrainingJob.objects.get(pk=job_id).step
             > checkpoints_stored(job_id)[-1], timeout=240, what="a checkpoint and a step beyond it",
             log_path=first.log_path)
    first.kill()
    wait_for(lambda: not engine_processes(job_id, settings.TRAINING_WORK_ROOT), timeout=20,
             what="the engine to die with its worker")
    killed_at = TrainingJob.objects.get(pk=job_id)
    assert killed_at.status == "running" and killed_at.step < total  # the database still believes it runs

    assert jobs_reconcile() == {"requeued": [], "failed": [], "cancelled": [], "woken": []}  # not stale yet
    later = timezone.now() + timedelta(seconds=settings.TRAINING_STALE_SECONDS + 1)
    assert jobs_reconcile(now=later)["requeued"] == [job_id]
    requeued = TrainingJob.objects.get(pk=job_id)
    assert requeued.status == "queued" and "stopped sending heartbeats" in requeued.error
    resume_from = checkpoints_stored(job_id)[-1]

    second = training_worker("second")
    resumed = wait_for_job(job_id, lambda j: j.is_finished, worker=second, what="the requeued job to finish")
    assert resumed.status == "succeeded", resumed.error
    assert (resumed.attempts, resumed.step) == (2, total)
    assert resumed.resumed_from_step == resume_from
    steps_logged = TrainingMetric.objects.filter(job_id=job_id).values_list("step", flat=True)
    assert list(steps_logged) == list(range(1, total + 1))
    assert resume_from < total

    # The same job never interrupted ends with the same weights: same steps, same data order.
    straight_id = launch(api, admin, snapshot, tiny_model, **steps, **options)
    straight = wait_for_job(straight_id, lambda j: j.is_finished, worker=second, what="the uninterrupted run")
    assert straight.status == "succeeded" and straight.attempts == 1
    resumed_weights = AutoModelForCausalLM.from_pretrained(model_local_folder(resumed.output_model)).state_dict()
    straight_weights = AutoModelForCausalLM.from_pretrained(model_local_folder(straight.output_model)).state_dict()
    for name, tensor in straight_weights.items():
        assert torch.allclose(resumed_weights[name], tensor, atol=1e-5), name


@pytest.mark.django_db
def test_the_reconciler_fails_a_job_out_of_attempts_with_the_reason(tiny_model, sft_snapshot, admin, settings,
                                                                    django_capture_on_commit_callbacks):
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_STALE_SECONDS + 5)
    common = dict(kind="sft", snapshot=sft_snapshot, base_model=tiny_model, config={}, created_by=admin,
                  status="running", heartbeat_at=stale, started_at=stale, worker_host="gpu-7", max_attempts=3)
    spent = TrainingJob.objects.create(attempts=3, **common)
    again = TrainingJob.objects.create(attempts=1, **common)
    cancelling = TrainingJob.objects.create(attempts=1, cancel_requested_at=stale, **common)
    alive = TrainingJob.objects.create(**{**common, "attempts": 1, "heartbeat_at": timezone.now()})
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = jobs_reconcile()
    assert outcome == {"requeued": [again.pk], "failed": [spent.pk], "cancelled": [cancelling.pk], "woken": []}
    assert len(callbacks) == 1  # the requeued job's wake-up, sent once the change is committed
    spent.refresh_from_db()
    assert spent.status == "failed" and "Gave up after 3 of 3 attempts" in spent.error and "gpu-7" in spent.error
    again.refresh_from_db()
    assert again.status == "queued" and "requeued" in again.error
    assert TrainingJob.objects.get(pk=alive.pk).status == "running"
    assert jobs_reconcile() == {"requeued": [], "failed": [], "cancelled": [], "woken": []}  # safe to run twice


@pytest.mark.django_db
def test_a_queued_job_whose_wake_up_was_lost_is_woken_again(tiny_model, sft_snapshot, admin, settings,
                                                            django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(seconds=settings.TRAINING_REQUEUE_SECONDS + 1)
    job = TrainingJob.objects.create(kind="sft", snapshot=sft_snapshot, base_model=tiny_model, config={},
                                     created_by=admin)
    TrainingJob.objects.filter(pk=job.pk).update(queued_at=old)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert jobs_reconcile()["woken"] == [job.pk]
    assert len(callbacks) == 1
    assert jobs_reconcile()["woken"] == []  # its clock was reset


@pytest.mark.django_db
def test_the_per_admin_limit_on_active_jobs(api, admin, tiny_model, sft_snapshot, settings,
                                            django_capture_on_commit_callbacks):
    settings.TRAINING_MAX_ACTIVE_JOBS_PER_USER = 1
    body = {"kind": "sft", "snapshot": sft_snapshot.pk, "base_model": tiny_model.pk}
    with django_capture_on_commit_callbacks(execute=False):
        assert api(admin).post("/api/training-jobs/", body, format="json").status_code == 201
        refused = api(admin).post("/api/training-jobs/", body, format="json")
    assert refused.status_code == 429 and "limit is 1" in refused.json()["errors"][0]["message"]
    other = factories.user("admin2", staff=True)
    with django_capture_on_commit_callbacks(execute=False):
        assert api(other).post("/api/training-jobs/", body, format="json").status_code == 201
