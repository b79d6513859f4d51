"""Every kind end to end: through the API and a real Celery worker, to a registered model that loads back."""

import math

import pytest

from training.models import Model, TrainingJob, TrainingMetric
from training.services.registry import model_local_folder

from .conftest import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.training]
FAST = {"max_steps": 24, "per_device_train_batch_size": 4, "logging_steps": 1, "save_steps": 12,
        "learning_rate": 3e-3, "max_length": 64}


def launch(api, admin, **body) -> dict:
    response = api(admin).post("/api/training-jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def run_to_the_end(api, admin, worker, **body) -> tuple[TrainingJob, list[dict]]:
    """Launch, see metrics arrive while it runs, wait for success; returns the job and its metric rows."""
    job = launch(api, admin, **body)
    wait_for_job(job["id"], lambda j: j.status != "queued", worker=worker, what="a worker to pick the job up")
    seen_running = []

    def progressed(j):
        if j.status == "running" and TrainingMetric.objects.filter(job=j).exists():
            seen_running.append(j.step)
        return j.is_finished

    finished = wait_for_job(job["id"], progressed, worker=worker, what="the job to finish")
    assert finished.status == "succeeded", (finished.error, finished.log_tail[-2000:])
    assert seen_running, "no metrics reached the job row while it was running"
    metrics = api(admin).get(f"/api/training-jobs/{job['id']}/metrics/").json()["results"]
    later = api(admin).get(f"/api/training-jobs/{job['id']}/metrics/?after={metrics[2]['step']}").json()
    assert [m["step"] for m in later["results"]] == [m["step"] for m in metrics[3:]]
    return finished, metrics


def losses(metrics: list[dict], key: str = "loss") -> list[float]:
    return [m["values"][key] for m in metrics if key in m["values"]]


def load_back(model: Model, *, task: str):
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    loader = AutoModelForCausalLM if task == "causal-lm" else AutoModelForSequenceClassification
    return loader.from_pretrained(model_local_folder(model))


def test_sft_then_dpo_on_the_sft_model(api, admin, tiny_model, sft_snapshot, preference_snapshot,
                                       training_worker):
    worker = training_worker()
    sft, metrics = run_to_the_end(api, admin, worker, kind="sft", snapshot=sft_snapshot.pk,
                                  base_model=tiny_model.pk, config={**FAST, "num_sample_generations": 2,
                                                                    "max_new_tokens": 8})
    loss = losses(metrics)
    assert len(loss) == 24 and loss[-1] < loss[0] * 0.8, loss
    assert sft.step == 24 and sft.attempts == 1 and sft.worker_host
    assert sft.evaluation["eval_loss"] < loss[0]
    assert len(sft.samples) == 2 and all("completion" in s for s in sft.samples)
    names = {a["name"] for a in sft.artifacts}
    assert {"metrics.jsonl", "train.log", "evaluation.json", "samples.jsonl", "versions.json",
            "job_config.json", "lineage.json", "model/config.json"} <= names
    policy = sft.output_model
    assert (policy.kind, policy.task, policy.parent_id, policy.source) == ("policy", "causal-lm", tiny_model.pk,
                                                                           "trained")
    assert load_back(policy, task="causal-lm").num_parameters() == policy.parameter_count
    detail = api(admin).get(f"/api/models/{policy.pk}/").json()
    assert detail["lineage"]["project"]["id"] == sft_snapshot.project_id
    assert detail["lineage"]["snapshot"]["fingerprint"]
    assert [m["id"] for m in api(admin).get(f"/api/projects/{sft_snapshot.project_id}/models/").json()["results"]] \
        == [policy.pk]

    dpo, metrics = run_to_the_end(api, admin, worker, kind="dpo", snapshot=preference_snapshot.pk,
                                  base_model=policy.pk, config={**FAST, "beta": 0.5, "num_sample_generations": 1})
    loss = losses(metrics)
    assert loss[0] == pytest.approx(0.6931, abs=1e-3)  # policy = reference at step 0: -log sigmoid(0)
    assert loss[-1] < loss[0] and losses(metrics, "rewards/margins")[-1] > 0
    assert dpo.evaluation["eval_rewards/accuracies"] > 0.5
    assert dpo.output_model.parent_id == policy.pk
    load_back(dpo.output_model, task="causal-lm")
    listed = api(admin).get(f"/api/training-jobs/?model={policy.pk}").json()["results"]
    assert {j["id"] for j in listed} == {sft.pk, dpo.pk}


def test_a_reward_model_learns_the_preference_and_reports_held_out_accuracy(api, admin, tiny_model,
                                                                             preference_snapshot, training_worker):
    worker = training_worker()
    job, metrics = run_to_the_end(api, admin, worker, kind="reward", snapshot=preference_snapshot.pk,
                                  base_model=tiny_model.pk, config={**FAST, "use_margin": True})
    loss, accuracy = losses(metrics), losses(metrics, "accuracy")
    assert loss[-1] < loss[0] and accuracy[-1] == 1.0
    held_out = job.evaluation["reward_model"]
    assert held_out["pairs"] == len([1 for _ in range(held_out["pairs"])]) > 0
    assert held_out["accuracy"] == 1.0 and held_out["accuracy_high_agreement"] == 1.0
    model = job.output_model
    assert (model.kind, model.task) == ("reward", "sequence-classification")
    assert load_back(model, task="sequence-classification").config.num_labels == 1


def test_kto_trains_on_the_unpaired_rows(api, admin, tiny_model, preference_snapshot, training_worker):
    worker = training_worker()
    job, metrics = run_to_the_end(api, admin, worker, kind="kto", snapshot=preference_snapshot.pk,
                                  base_model=tiny_model.pk, config={**FAST, "beta": 0.5, "num_sample_generations": 0})
    loss = losses(metrics)
    assert loss[-1] < loss[0] and "rewards/chosen" in metrics[-2]["values"] or "rewards/chosen" in job.latest_metrics
    assert job.output_model.kind == "policy"


def test_reward_then_ppo_against_it_through_the_worker(api, admin, tiny_model, preference_snapshot, training_worker):
    worker = training_worker()
    reward, _ = run_to_the_end(api, admin, worker, kind="reward", snapshot=preference_snapshot.pk,
                               base_model=tiny_model.pk, config=FAST)
    refused = api(admin).post("/api/training-jobs/", {"kind": "ppo", "snapshot": preference_snapshot.pk,
                                                      "base_model": tiny_model.pk}, format="json")
    assert refused.json()["errors"][0]["field"] == "reward_model"
    ppo_job, metrics = run_to_the_end(
        api, admin, worker, kind="ppo", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
        reward_model=reward.output_model.pk,
        config={"max_steps": 6, "rollout_batch_size": 8, "per_device_train_batch_size": 4, "num_ppo_epochs": 2,
                "response_length": 8, "learning_rate": 1e-3, "save_steps": 3, "num_sample_generations": 2,
                "max_new_tokens": 8})
    assert ppo_job.step == 6 and [m["step"] for m in metrics] == [1, 2, 3, 4, 5, 6]
    at_checkpoints = [m["step"] for m in metrics if "eval/mean_reward" in m["values"]]
    assert at_checkpoints == [3, 6] and all("eval/mean_kl" in m["values"] for m in metrics if m["step"] in (3, 6))
    assert {"objective/scores", "objective/kl", "objective/beta", "loss/policy_avg", "no_eos_fraction"} <= \
        set(metrics[-1]["values"])
    evaluation = ppo_job.evaluation
    assert 0 <= evaluation["policy_vs_reference"]["win_rate"] <= 1 and "warnings" in evaluation
    assert len(ppo_job.samples) == 2 and {"completion", "reference"} <= set(ppo_job.samples[0])
    assert ppo_job.output_model.kind == "policy" and ppo_job.output_model.parent_id == tiny_model.pk
    load_back(ppo_job.output_model, task="causal-lm")
    detail = api(admin).get(f"/api/training-jobs/{ppo_job.pk}/").json()
    assert detail["reward_model"]["id"] == reward.output_model.pk

    launched = launch(api, admin, kind="evaluate", snapshot=preference_snapshot.pk, base_model=ppo_job.output_model.pk,
                      reward_model=reward.output_model.pk, config={"num_prompts": 6, "max_new_tokens": 6,
                                                                   "best_of_n": 3})
    evaluation_job = wait_for_job(launched["id"], lambda j: j.is_finished, worker=worker)
    assert evaluation_job.status == "succeeded", evaluation_job.error
    result = evaluation_job.evaluation
    assert evaluation_job.reference_model_id == tiny_model.pk  # the policy's parent, by default
    assert result["prompts"] == 6 and 0 <= result["win_rate"] <= 1 and result["mean_kl"] == result["mean_kl"]
    assert result["best_of_n"]["n"] == 3 and result["best_of_n"]["kl"] == pytest.approx(math.log(3) - 2 / 3)
    assert len(evaluation_job.samples) == 6 and not Model.objects.filter(job=evaluation_job).exists()

    for kind in ("rloo", "grpo"):  # TRL's online trainers, scored by the same reward model, with a KL term
        job, metrics = run_to_the_end(
            api, admin, worker, kind=kind, snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
            reward_model=reward.output_model.pk,
            config={"max_steps": 3, "per_device_train_batch_size": 4, "num_generations": 4,
                    "max_completion_length": 8, "learning_rate": 1e-3, "num_sample_generations": 1,
                    "max_new_tokens": 4})
        assert job.config["beta"] == 0.05 and ("kl" in metrics[-1]["values"] or "kl" in job.latest_metrics)
        assert job.output_model.kind == "policy"
        assert isinstance(job.evaluation["warnings"], list)  # the same reward-hacking checks as PPO's
