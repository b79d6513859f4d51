"""PPO in two processes, as `accelerate launch` runs it on two GPUs (here gloo on CPU, the same code path as NCCL):
DistributedDataParallel keeps both processes' models identical, each samples prompts of its own, what steers the
loop (β) is agreed, and a job under two processes writes its metrics, checkpoints and model once."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from training.engine.config import resolve  # noqa: E402
from training.engine.files import JobFiles, read_jsonl, write_json_atomic, write_jsonl  # noqa: E402

pytestmark = pytest.mark.training
ROOT = Path(__file__).resolve().parents[2]


def accelerate_launch(*args: str) -> subprocess.CompletedProcess:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               "--main_process_port", str(port), *args]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_two_processes_train_one_model_on_different_prompts_with_one_beta(tiny_folder, tmp_path):
    out = tmp_path / "gathered.json"
    accelerate_launch("--module", "tests.training.ppo_two_processes", str(tiny_folder), str(out))
    result = json.loads(out.read_text())
    assert result["processes"] == 2 and result["distributed_type"] == "DistributedType.MULTI_CPU"
    (sum0, sq0, moved0, beta0, *prompts0), (sum1, sq1, moved1, beta1, *prompts1) = result["rows"]
    assert moved0 > 1e-4  # it trained
    assert sum0 == pytest.approx(sum1, rel=1e-6, abs=1e-6) and sq0 == pytest.approx(sq1, rel=1e-6)
    assert beta0 == beta1 != 0.05  # the adaptive controller moved β, the same way in both
    assert not set(prompts0) & set(prompts1)  # each process sampled prompts of its own
    assert [h["step"] for h in result["history"]] == [1, 2, 3]


def test_a_ppo_job_under_two_processes_writes_its_files_once(tiny_folder, tmp_path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    reward_dir = tmp_path / "reward"
    classifier = AutoModelForSequenceClassification.from_pretrained(tiny_folder, num_labels=1)
    classifier.save_pretrained(reward_dir)
    AutoTokenizer.from_pretrained(tiny_folder).save_pretrained(reward_dir)
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    prompts = [{"prompt": [{"role": "user", "content": f"Question number {i}: what is {i} + 1?"}]} for i in range(20)]
    write_jsonl(snapshot / "prompts-train.jsonl", prompts[:16])
    write_jsonl(snapshot / "prompts-test.jsonl", prompts[16:])
    files = JobFiles(tmp_path / "work")
    files.checkpoints.mkdir(parents=True)
    config = resolve("ppo", {"max_steps": 4, "save_steps": 2, "rollout_batch_size": 4, "per_device_train_batch_size": 4,
                             "num_ppo_epochs": 1, "response_length": 6, "num_sample_generations": 2,
                             "checkpoint_eval_prompts": 2, "max_new_tokens": 6, "num_gpus": 2})
    write_json_atomic(files.spec, {
        "job_id": 1, "kind": "ppo", "config": config, "work_dir": str(files.root), "snapshot_dir": str(snapshot),
        "fingerprint": "test", "base_model_dir": str(tiny_folder), "base_model_name": "tiny",
        "reference_model_dir": None, "reward_model_dir": str(reward_dir)})

    accelerate_launch("--module", "training.engine", "run", str(files.spec))
    result = json.loads(files.result.read_text())
    assert result["status"] == "succeeded" and result["step"] == 4
    assert result["evaluation"]["policy_vs_reference"]["prompts"] == 2
    rows = read_jsonl(files.metrics)
    train_steps = [r["step"] for r in rows if "objective/kl" in r["values"]]
    assert train_steps == [1, 2, 3, 4]  # the main process logs; the other does not log again
    assert [r["step"] for r in rows if "eval/mean_reward" in r["values"]] == [2, 4]
    begin = [e for e in read_jsonl(files.events) if e.get("event") == "train_begin"]
    assert len(begin) == 1 and begin[0]["processes"] == 2
    assert sorted(p.name for p in files.checkpoints.iterdir()) == ["checkpoint-2", "checkpoint-4"]
    assert (files.output / "model" / "config.json").exists()
