"""Engine options that every kind shares: LoRA (merged into the saved model), and registering a local folder."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from training.engine.config import resolve
from training.engine.files import JobFiles
from training.models import Model

pytestmark = pytest.mark.training
ROOT = Path(__file__).resolve().parents[2]


def test_lora_sft_trains_adapters_and_saves_a_plain_merged_model(tiny_folder, sft_snapshot, tmp_path):
    from annotation.artifacts import snapshot_folder

    files = JobFiles(tmp_path / "work")
    files.root.mkdir()
    config = resolve("sft", {"max_steps": 3, "per_device_train_batch_size": 4, "max_length": 64, "use_peft": True,
                             "lora_r": 4, "learning_rate": 1e-2, "num_sample_generations": 0, "save_steps": 3})
    files.spec.write_text(json.dumps({"job_id": 1, "kind": "sft", "config": config, "work_dir": str(files.root),
                                      "snapshot_dir": str(snapshot_folder(sft_snapshot)), "fingerprint": "f",
                                      "base_model_dir": str(tiny_folder), "base_model_name": "tiny"}))
    done = subprocess.run([sys.executable, "-m", "training.engine", "run", str(files.spec)], cwd=ROOT,
                          capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(files.result.read_text())
    assert result["status"] == "succeeded" and result["model"]["peft_merged"] is True
    import torch
    from transformers import AutoModelForCausalLM

    trained = AutoModelForCausalLM.from_pretrained(files.output / "model")  # no peft needed to load it
    base = AutoModelForCausalLM.from_pretrained(tiny_folder)
    assert not any("lora" in name for name in trained.state_dict())
    changed = [n for n, t in base.state_dict().items() if not torch.allclose(t, trained.state_dict()[n])]
    assert changed and all("proj" in n for n in changed)  # only the adapted linear layers moved


def test_lora_ppo_uses_the_policy_with_its_adapter_off_as_the_reference(tiny_folder):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from training.engine import ppo

    tokenizer = AutoTokenizer.from_pretrained(tiny_folder)
    policy = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_folder),
                            LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"))
    classifier = AutoModelForSequenceClassification.from_pretrained(tiny_folder, num_labels=1)
    classifier.config.pad_token_id = tokenizer.pad_token_id
    prompts = [[{"role": "user", "content": f"Question number {i}"}] for i in range(8)]
    config = resolve("ppo", {"max_steps": 3, "rollout_batch_size": 8, "per_device_train_batch_size": 8,
                             "response_length": 6, "learning_rate": 1e-2, "whiten_rewards": False})
    trainer = ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, value_model=ppo.ValueModel(classifier),
                             scorer=lambda p, texts: torch.tensor([t.count("e") / max(len(t), 1) for t in texts]),
                             prompts=prompts)  # no reference model: the adapter is switched off instead
    history = trainer.train()
    assert history[0]["objective/kl"] == pytest.approx(0, abs=1e-5)  # the adapter starts as a no-op
    assert history[-1]["objective/kl"] != pytest.approx(0, abs=1e-6)
    rollout = trainer.rollout(prompts[:2])
    with torch.no_grad():
        ref = trainer._reference_logprobs(rollout)
        plain = ppo.response_logprobs(AutoModelForCausalLM.from_pretrained(tiny_folder), rollout.sequences,
                                      rollout.attention_mask, rollout.query_width, config["temperature"])
    assert torch.allclose(ref, plain, atol=1e-5)  # adapter off = the untouched base model


@pytest.mark.django_db
def test_register_model_copies_a_folder_into_the_store_and_refuses_bad_input(artifacts, tiny_folder, tmp_path):
    out = StringIO()
    call_command("register_model", "my-model", str(tiny_folder), "--kind", "policy", stdout=out)
    model = Model.objects.get(name="my-model")
    assert (model.kind, model.task, model.architecture) == ("policy", "causal-lm", "LlamaForCausalLM")
    assert model.parameter_count > 0 and (artifacts / "models" / "my-model" / "config.json").exists()
    assert "registered model" in out.getvalue()
    with pytest.raises(CommandError, match="registered already"):
        call_command("register_model", "my-model", str(tiny_folder))
    with pytest.raises(CommandError, match="no config.json"):
        call_command("register_model", "empty", str(tmp_path))
    with pytest.raises(CommandError, match="letters, digits"):
        call_command("register_model", "bad name!", str(tiny_folder))


def test_vllm_rollouts_are_optional_and_a_worker_without_vllm_says_so(tmp_path):
    from training.engine.run import trl_args

    files = JobFiles(tmp_path)
    plain = trl_args("grpo", resolve("grpo", {}), files, has_test=False)
    assert plain["use_vllm"] is False and "vllm_mode" not in plain
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        with pytest.raises(SystemExit, match="vLLM is not installed on this worker"):
            trl_args("rloo", resolve("rloo", {"use_vllm": True}), files, has_test=False)
    else:  # a GPU worker with vLLM: TRL generates with it inside the training process
        assert trl_args("rloo", resolve("rloo", {"use_vllm": True}), files, has_test=False)["vllm_mode"] == "colocate"


def test_a_reward_job_whose_pairs_are_all_longer_than_max_length_says_so(tiny_folder, preference_snapshot,
                                                                         tmp_path):
    """TRL's reward trainer drops over-long pairs; with none left it used to fail on an empty sampler."""
    from annotation.artifacts import snapshot_folder

    files = JobFiles(tmp_path / "work")
    files.root.mkdir()
    config = resolve("reward", {"max_steps": 2, "per_device_train_batch_size": 4, "max_length": 8})
    files.spec.write_text(json.dumps({"job_id": 1, "kind": "reward", "config": config, "work_dir": str(files.root),
                                      "snapshot_dir": str(snapshot_folder(preference_snapshot)), "fingerprint": "f",
                                      "base_model_dir": str(tiny_folder), "base_model_name": "tiny"}))
    done = subprocess.run([sys.executable, "-m", "training.engine", "run", str(files.spec)], cwd=ROOT,
                          capture_output=True, text=True, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "training pairs are longer than max_length (8 tokens)" in done.stderr + done.stdout
    assert "raise config.max_length" in done.stderr + done.stdout
