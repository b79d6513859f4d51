"""The two real pretrained models that ship inside PyPI packages: registered offline, and trained by jobs."""

from io import StringIO

import pytest
from django.core.management import call_command

from training.models import Model

from .conftest import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.training, pytest.mark.slow]
TWO_STEPS = {"max_steps": 2, "per_device_train_batch_size": 2, "max_length": 128, "save_steps": 2,
             "logging_steps": 1}


def test_smollm2_and_minilm_load_from_their_packages_and_train_two_steps(api, admin, sft_snapshot,
                                                                        preference_snapshot, training_worker):
    out = StringIO()
    call_command("import_builtin_models", stdout=out)
    smollm2, minilm = Model.objects.get(name="SmolLM2-135M-Instruct"), Model.objects.get(name="all-MiniLM-L6-v2")
    assert (smollm2.architecture, smollm2.task, smollm2.source) == ("LlamaForCausalLM", "causal-lm", "builtin")
    assert 130e6 < smollm2.parameter_count < 140e6
    assert (minilm.architecture, minilm.task) == ("BertModel", "encoder") and 20e6 < minilm.parameter_count < 25e6
    call_command("import_builtin_models", stdout=out)  # a second run registers nothing twice
    assert Model.objects.filter(source="builtin").count() == 2

    worker = training_worker()
    jobs = [
        api(admin).post("/api/training-jobs/", {"kind": "sft", "snapshot": sft_snapshot.pk, "base_model": smollm2.pk,
                                                "config": {**TWO_STEPS, "num_sample_generations": 1,
                                                           "max_new_tokens": 12}}, format="json").json(),
        api(admin).post("/api/training-jobs/", {"kind": "reward", "snapshot": preference_snapshot.pk,
                                                "base_model": minilm.pk, "config": TWO_STEPS}, format="json").json(),
    ]
    sft, reward = (wait_for_job(j["id"], lambda job: job.is_finished, worker=worker, timeout=600) for j in jobs)
    assert sft.status == "succeeded", sft.error
    assert sft.step == 2 and sft.latest_metrics["loss"] > 0
    assert sft.output_model.parameter_count == smollm2.parameter_count
    completion = sft.samples[0]["completion"]
    assert len(completion.split()) >= 2  # a pretrained chat model answers in words after two small steps
    assert reward.status == "succeeded", reward.error
    assert reward.output_model.architecture == "BertForSequenceClassification"
    assert reward.evaluation["reward_model"]["pairs"] > 0
