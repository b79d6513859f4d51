"""Seconds per optimizer step through our job path against plain TRL on the same model, rows and settings.

    .venv/bin/python bench/training_overhead.py [--reps 5] [--cells tiny-sft,tiny-reward,...] [--arms job,engine,plain]

Arms, alternated within each repetition (the order flips every repetition):
- job: POST /api/training-jobs/ -> a real Celery worker (its own queue, solo pool) -> `job_run` -> the engine
  subprocess, with the worker's supervisor relaying files to PostgreSQL every 0.5 s while it trains;
- engine: `python -m training.engine run spec.json` alone (the same spec the worker writes), no worker;
- plain: this file's `plain` command, a TRL script of its own (no code of ours) building the same trainer on the
  same model folder, the snapshot's own rows and the same settings (batch size, max_length, steps, learning rate,
  fp32 on CPU, no gradient checkpointing, logging every step, the same save_steps).

Per-step time is measured inside the training loop, from `on_step_end` timestamps (the engine's `events.jsonl`
step events; a TrainerCallback in the plain script): the median interval between consecutive step ends (the mean,
(t_last - t_first) / (steps - 1), is printed too), so start-up, the first step (data-loader and optimizer warm-up)
and everything after the last step (final checkpoint, evaluation, save) are left out. The same median is taken
of the process's CPU clock (time.process_time at each step end: a TrainerCallback in the plain script, a
`sitecustomize` on the engine's PYTHONPATH that wraps JobCallback.on_step_end in ours, our code unchanged): on a
machine shared with other work, wall time follows the CPU share the scheduler gives (steps came in at 1, 1.5 and
2x the uncontended time, in phases), CPU time does not. Every arm runs with
OMP_NUM_THREADS=1 (torch on one core): on a 2-core machine shared with other work, two torch threads wait for each
other whenever either is preempted, which made steps 10-100x slower at random. The plain script also lists every TRL config value that differs from the one our engine builds.

Models: a tiny random Llama (made here), SmolLM2-135M-Instruct (/tmp/smollm2, converted from the GGUF on first
use) and MiniLM-L6 for the reward cell. Environment: see bench/training_common.py.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/rlbench/overhead")

# cell -> (kind, model, max_steps, batch size, max_length)
CELLS = {
    "tiny-sft": ("sft", "tiny", 40, 8, 128),
    "tiny-reward": ("reward", "tiny", 40, 8, 128),
    "tiny-dpo": ("dpo", "tiny", 40, 8, 128),
    "minilm-reward": ("reward", "minilm", 16, 8, 128),
    "smollm2-sft": ("sft", "smollm2", 8, 2, 128),
    "smollm2-dpo": ("dpo", "smollm2", 8, 2, 128),
}
LEARNING_RATE = {"sft": 2e-5, "reward": 1e-4, "dpo": 1e-6}
SAVE_STEPS = 1000  # beyond max_steps: both arms save one checkpoint, after the last step (outside the timing)
SEED = 42


def per_step(times: list[float]) -> float:
    """Median seconds between consecutive step ends (the first step left out). The median, not the mean: on a
    shared machine a step that another process preempted is 10-100x longer, and the mean follows those."""
    return statistics.median(b - a for a, b in zip(times, times[1:], strict=False))


def mean_step(times: list[float]) -> float:
    return (times[-1] - times[0]) / (len(times) - 1)


# --- plain TRL: a script of its own, no import of our code while it trains ---------------------------------------

PLAIN_TEMPLATE = (  # what any script gives an encoder with no chat template: the turns as plain text
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)


def plain(args) -> None:
    started = time.time()
    import random

    import numpy as np
    import torch
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    if not tokenizer.chat_template:
        tokenizer.chat_template = PLAIN_TEMPLATE
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    columns = ("messages",) if args.kind == "sft" else ("prompt", "chosen", "rejected")
    with open(args.rows, encoding="utf-8") as f:
        train = Dataset.from_list([{c: row[c] for c in columns} for row in map(json.loads, f) if row])
    settings = dict(output_dir=args.out, max_steps=args.steps, per_device_train_batch_size=args.batch,
                    learning_rate=args.lr, max_length=args.max_length, logging_steps=1, save_steps=args.save_steps,
                    seed=args.seed, use_cpu=True, bf16=False, gradient_checkpointing=False, report_to=[],
                    disable_tqdm=True)
    if args.kind == "sft":
        config = trl.SFTConfig(**settings, assistant_only_loss=True)
        trainer = trl.SFTTrainer(model=AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32),
                                 args=config, train_dataset=train, processing_class=tokenizer)
    elif args.kind == "reward":
        model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=1, dtype=torch.float32)
        model.config.pad_token_id = tokenizer.pad_token_id
        config = trl.RewardConfig(**settings)
        trainer = trl.RewardTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer)
    else:
        config = trl.DPOConfig(**settings)
        trainer = trl.DPOTrainer(model=AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32),
                                 ref_model=AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32),
                                 args=config, train_dataset=train, processing_class=tokenizer)

    class StepTimes(TrainerCallback):
        times: list[float] = []
        cpu: list[float] = []

        def on_step_end(self, targs, state, control, **kwargs):
            self.cpu.append(time.process_time())
            self.times.append(time.time())

    trainer.add_callback(StepTimes())
    trainer.train()
    out = {"times": StepTimes.times, "cpu": StepTimes.cpu, "started": started,
           "config_differences": _differences(args, config)}
    Path(args.result).write_text(json.dumps(out))


def _differences(args, config) -> dict:
    """After training: every TRL config value that differs from the config our engine builds for the job."""
    sys.path.insert(0, str(ROOT))
    from training.engine.config import resolve
    from training.engine.files import JobFiles
    from training.engine.run import trl_args

    cls = type(config)
    ours = cls(**trl_args(args.kind, resolve(args.kind, json.loads(args.job_config)), JobFiles(Path(args.out)),
                          has_test=False))
    skip = {"output_dir", "logging_dir"}
    mine, theirs = config.to_dict(), ours.to_dict()
    return {k: [mine.get(k), theirs.get(k)] for k in sorted(set(mine) | set(theirs))
            if k not in skip and mine.get(k) != theirs.get(k)}


# The engine's CPU clock at each step end, read by a `sitecustomize` on the engine's PYTHONPATH (bench-only: it
# wraps JobCallback.on_step_end when the engine imports it; our code is not changed).
CPU_HOOK = r'''
import atexit, importlib.machinery, json, os, sys, time

_CPU = []


def _dump():
    spec = next((a for a in sys.argv if a.endswith("spec.json")), None)
    if spec and _CPU:
        with open(os.path.join(os.path.dirname(spec), "bench_cpu.json"), "w") as f:
            json.dump(_CPU, f)


class _Finder:
    def find_spec(self, name, path, target=None):
        if name != "training.engine.callbacks":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            step_end = module.JobCallback.on_step_end

            def on_step_end(self, *args, **kwargs):
                _CPU.append(time.process_time())
                return step_end(self, *args, **kwargs)
            module.JobCallback.on_step_end = on_step_end
            atexit.register(_dump)
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
'''
HOOKS = WORK / "hooks"


def cpu_step(cpu: list[float]) -> float:
    return statistics.median(b - a for a, b in zip(cpu, cpu[1:], strict=False))


# --- the driver ----------------------------------------------------------------------------------------------------

def job_config(kind: str, steps: int, batch: int, max_length: int) -> dict:
    config = {"max_steps": steps, "per_device_train_batch_size": batch, "max_length": max_length,
              "learning_rate": LEARNING_RATE[kind], "logging_steps": 1, "save_steps": SAVE_STEPS, "seed": SEED}
    if kind != "reward":
        config["num_sample_generations"] = 0
    return config


def prepare_data(common, tag: str) -> dict:
    """A demonstration project (SFT rows) and a pairwise project (preference rows), answered through the API,
    and their snapshots. Returns the snapshot ids and their row files."""
    people = common.users(tag, ["writer"])
    admin = common.api_client(people["admin"])
    writer = common.api_client(people["writer"])
    demo_lines, answers = common.demonstration_lines(96, 1, prefix=f"ov-sft-{tag}")
    demo = common.project_with_items(admin, name=f"overhead sft {tag}", kind="demonstration", overlap=1,
                                     lines=demo_lines, annotators=[people["writer"]])
    common.annotate({"w": writer}, demo, lambda _, item: {"text": answers[item["conversation"][0]["content"]]})
    pair_lines = common.pairwise_lines(96, 2, prefix=f"ov-pair-{tag}")
    good = {line["prompt"]: line["metadata"]["good"] for line in pair_lines}
    pairwise = common.project_with_items(admin, name=f"overhead pairs {tag}", kind="pairwise", overlap=1,
                                         lines=pair_lines, annotators=[people["writer"]])

    def choose(_, item):
        best = good[item["conversation"][0]["content"]]
        return {"chosen": next(r["id"] for r in item["responses"] if r["text"] == best), "strength": 3}

    common.annotate({"w": writer}, pairwise, choose)
    out = {"admin": people["admin"]}
    for kind, project in (("sft", demo), ("preference", pairwise)):
        snap = common.snapshot(admin, project, rules={}, build_here=True)
        out[kind] = {"snapshot": snap["id"], "rows": common.snapshot_dir(snap["id"]) / f"{kind}-train.jsonl"}
    return out


def run_job(common, admin_client, kind: str, snapshot: int, model, config: dict) -> dict:
    from django.conf import settings

    from annotation import artifacts

    r = admin_client.post("/api/training-jobs/", {"kind": kind, "snapshot": snapshot, "base_model": model.pk,
                                                  "config": config}, format="json")
    assert r.status_code == 201, r.content
    job = common.wait_job(r.json()["id"])
    work = Path(settings.TRAINING_WORK_ROOT) / str(job.pk)
    assert job.status == "succeeded", (job.error, job.log_tail[-2000:])
    times = [e["time"] for e in common.read_jsonl(work / "events.jsonl") if e["event"] == "step"]
    cpu = json.loads((work / "bench_cpu.json").read_text())
    shutil.rmtree(work, ignore_errors=True)
    artifacts.delete_prefix(f"jobs/{job.pk}/model")  # the bench's models are not kept (SmolLM2: 0.5 GB each)
    return {"times": times, "cpu": cpu, "job": job.pk,
            "startup": times[0] - job.created_at.timestamp()}


def run_engine(common, kind: str, snapshot: int, model, config: dict, n: int) -> dict:
    """The engine alone, on the spec the worker would write (same fields, same command, same environment)."""
    from training.engine.config import resolve
    from training.services.registry import model_local_folder

    work = WORK / f"engine-{n}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "checkpoints").mkdir(parents=True)
    spec = {"job_id": 0, "kind": kind, "config": resolve(kind, config), "work_dir": str(work),
            "snapshot_dir": str(common.snapshot_dir(snapshot)), "fingerprint": None,
            "base_model_dir": str(model_local_folder(model)), "base_model_name": model.name,
            "reference_model_dir": None, "reward_model_dir": None}
    (work / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(HOOKS)}
    started = time.time()
    with open(work / "train.log", "wb") as log:
        subprocess.run([sys.executable, "-m", "training.engine", "run", str(work / "spec.json")], cwd=ROOT, env=env,
                       stdout=log, stderr=subprocess.STDOUT, check=True)
    times = [e["time"] for e in common.read_jsonl(work / "events.jsonl") if e["event"] == "step"]
    cpu = json.loads((work / "bench_cpu.json").read_text())
    shutil.rmtree(work, ignore_errors=True)
    return {"times": times, "cpu": cpu, "startup": times[0] - started}


def run_plain(kind: str, rows: Path, folder: Path, config: dict, n: int) -> dict:
    out, result = WORK / f"plain-{n}", WORK / f"plain-{n}.json"
    shutil.rmtree(out, ignore_errors=True)
    started = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "plain", "--kind", kind, "--model", str(folder), "--rows", str(rows),
         "--steps", str(config["max_steps"]), "--batch", str(config["per_device_train_batch_size"]),
         "--max-length", str(config["max_length"]), "--lr", str(config["learning_rate"]),
         "--save-steps", str(SAVE_STEPS), "--seed", str(SEED), "--out", str(out), "--result", str(result),
         "--job-config", json.dumps(config)],
        cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"},
        capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"plain TRL failed:\n{(done.stdout + done.stderr)[-3000:]}")
    data = json.loads(result.read_text())
    shutil.rmtree(out, ignore_errors=True)
    result.unlink()
    return {"times": data["times"], "cpu": data["cpu"], "startup": data["times"][0] - started,
            "diff": data["config_differences"]}


def callback_cost(steps: int = 2000) -> dict:
    """Microseconds per step that our JobCallback adds (a step event, the cancel check, a metrics row), timed
    alone on a scratch work folder: free of the machine's noise, unlike a difference of two step times."""
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from training.engine.callbacks import JobCallback
    from training.engine.files import JobFiles

    work = WORK / "callback"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    callback = JobCallback(JobFiles(work))
    args = TrainingArguments(output_dir=str(work), use_cpu=True, report_to=[])
    state, control = TrainerState(max_steps=steps), TrainerControl()
    logs = {"loss": 0.6931, "grad_norm": 1.23, "learning_rate": 2e-5, "entropy": 3.2, "num_tokens": 1024.0,
            "mean_token_accuracy": 0.12, "epoch": 0.5}
    out = {}
    for name, call in (("on_step_end", lambda: callback.on_step_end(args, state, control)),
                       ("on_log", lambda: callback.on_log(args, state, control, logs=dict(logs)))):
        started = time.perf_counter()
        for step in range(steps):
            state.global_step = step + 1
            call()
        out[name] = (time.perf_counter() - started) / steps * 1e6
    shutil.rmtree(work, ignore_errors=True)
    return out


def worker_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the worker process itself (its supervisor threads, not the engine child)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parts(common, args) -> None:
    """Where our path could spend time that plain TRL does not: the callback per step, and the worker's
    supervisor (a 0.5 s poll that relays files to PostgreSQL) while the engine trains."""
    print(f"callback, us per step: {callback_cost()}", flush=True)
    common.ensure_database()
    common.django_setup()
    HOOKS.mkdir(parents=True, exist_ok=True)
    (HOOKS / "sitecustomize.py").write_text(CPU_HOOK)
    worker = common.Worker(os.environ["TRAINING_QUEUE"], WORK / "worker-parts.log", extra_env={"PYTHONPATH": str(HOOKS)})
    try:
        data = prepare_data(common, f"parts{int(time.time())}")
        sft_rows = [json.loads(line) for line in data["sft"]["rows"].read_text().splitlines()]
        folder = common.tiny_model(WORK / "tiny", [m["content"] for row in sft_rows for m in row["messages"]])
        model = common.register("bench-tiny", folder)
        client = common.api_client(data["admin"])
        for cell in args.cells.split(","):
            kind, _, steps, batch, max_length = CELLS[cell]
            config = job_config(kind, args.parts_steps, batch, max_length)
            before = worker_cpu(worker.proc.pid)
            got = run_job(common, client, kind, data["sft" if kind == "sft" else "preference"]["snapshot"], model,
                          config)
            used = worker_cpu(worker.proc.pid) - before
            loop = got["times"][-1] - got["times"][0]
            print(f"{cell}: worker CPU {used:.2f} s over the whole job; training loop {loop:.1f} s for "
                  f"{args.parts_steps} steps", flush=True)
    finally:
        worker.stop()


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.4f} s ({min(values):.4f}-{max(values):.4f})"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--arms", default="job,plain")
    parser.add_argument("--smollm2-reps", type=int, default=3, help="repetitions of the SmolLM2 cells")
    parser.add_argument("--smollm2-arms", default="job,plain", help="arms of the SmolLM2 cells")
    parser.add_argument("--smollm2-steps", type=int, default=8, help="steps of the SmolLM2 cells")
    parser.add_argument("--threads", default="1", help="OMP_NUM_THREADS of every arm")
    parser.add_argument("--json", default=str(WORK / "results.json"))
    parser.add_argument("--parts", action="store_true", help="only time the callback and the worker's CPU")
    parser.add_argument("--parts-steps", type=int, default=400)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench import training_common as common

    WORK.mkdir(parents=True, exist_ok=True)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = args.threads
    if args.parts:
        return parts(common, args)
    common.ensure_database()
    common.django_setup()
    tag = f"{int(time.time())}"
    HOOKS.mkdir(parents=True, exist_ok=True)
    (HOOKS / "sitecustomize.py").write_text(CPU_HOOK)
    worker = common.Worker(os.environ["TRAINING_QUEUE"], WORK / "worker.log", extra_env={"PYTHONPATH": str(HOOKS)})
    try:
        data = prepare_data(common, tag)
        sft_rows = [json.loads(line) for line in data["sft"]["rows"].read_text().splitlines()]
        texts = [m["content"] for row in sft_rows for m in row["messages"]]
        folders = {"tiny": common.tiny_model(WORK / "tiny", texts), "smollm2": common.smollm2_folder(),
                   "minilm": common.minilm()}
        admin_client = common.api_client(data["admin"])
        results, n = {}, 0
        print(f"machine: {common.machine()}", flush=True)
        for cell in args.cells.split(","):
            kind, model_name, steps, batch, max_length = CELLS[cell]
            steps = args.smollm2_steps if model_name == "smollm2" else steps
            model = common.register(f"bench-{model_name}", folders[model_name])
            fmt = "sft" if kind == "sft" else "preference"
            config = job_config(kind, steps, batch, max_length)
            reps = args.smollm2_reps if model_name == "smollm2" else args.reps
            arms = (args.smollm2_arms if model_name == "smollm2" else args.arms).split(",")
            cell_results = {arm: [] for arm in arms}
            for rep in range(reps):
                for arm in (arms if rep % 2 == 0 else arms[::-1]):
                    n += 1
                    if arm == "job":
                        got = run_job(common, admin_client, kind, data[fmt]["snapshot"], model, config)
                    elif arm == "engine":
                        got = run_engine(common, kind, data[fmt]["snapshot"], model, config, n)
                    else:
                        got = run_plain(kind, data[fmt]["rows"], folders[model_name], config, n)
                    assert len(got["times"]) == steps, (arm, len(got["times"]))
                    got["per_step"], got["mean_step"] = per_step(got["times"]), mean_step(got["times"])
                    got["cpu_step"] = cpu_step(got["cpu"])
                    cell_results[arm].append(got)
                    print(f"{cell} rep {rep} {arm}: {got['per_step']:.4f} s/step (mean {got['mean_step']:.4f}), CPU "
                          f"{got['cpu_step']:.4f} s/step, first step "
                          f"{got['startup']:.1f} s after launch", flush=True)
            results[cell] = cell_results
            report(cell, cell_results, arms)
            Path(args.json).write_text(json.dumps({"machine": common.machine(), "results": results}, default=str))
    finally:
        if worker:
            worker.stop()


def report(cell: str, cell_results: dict, arms: list[str]) -> None:
    medians = {arm: statistics.median(r["per_step"] for r in cell_results[arm]) for arm in arms}
    line = [f"{cell}:"]
    for arm in arms:
        line.append(f"{arm} wall {summary([r['per_step'] for r in cell_results[arm]])}, mean-based "
                    f"{summary([r['mean_step'] for r in cell_results[arm]])}, CPU "
                    f"{summary([r['cpu_step'] for r in cell_results[arm]])}")
    if "plain" in arms:
        for arm in arms:
            if arm != "plain":
                paired = [a["per_step"] / b["per_step"] for a, b in zip(cell_results[arm], cell_results["plain"],
                                                                         strict=True)]
                mean_ratio = (statistics.median(r["mean_step"] for r in cell_results[arm])
                              / statistics.median(r["mean_step"] for r in cell_results["plain"]))
                cpu = [statistics.median(r["cpu_step"] for r in cell_results[a]) for a in (arm, "plain")]
                cpu_paired = [a["cpu_step"] / b["cpu_step"] for a, b in zip(cell_results[arm], cell_results["plain"],
                                                                             strict=True)]
                line.append(f"{arm}/plain CPU {cpu[0] / cpu[1]:.3f}x (paired {min(cpu_paired):.3f}-"
                            f"{max(cpu_paired):.3f})")
                line.append(f"{arm}/plain wall {medians[arm] / medians['plain']:.3f}x (paired median "
                            f"{statistics.median(paired):.3f}, {min(paired):.3f}-{max(paired):.3f}; mean-based "
                            f"{mean_ratio:.3f}x)")
        diff = cell_results["plain"][0].get("diff")
        line.append(f"TRL config differences plain vs engine [plain, engine]: {diff}")
    print("\n  ".join(line), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "plain":
        p = argparse.ArgumentParser()
        for name in ("kind", "model", "rows", "out", "result", "job-config"):
            p.add_argument(f"--{name}", required=True)
        for name, kind in (("steps", int), ("batch", int), ("max-length", int), ("lr", float), ("save-steps", int),
                           ("seed", int)):
            p.add_argument(f"--{name}", type=kind, required=True)
        plain(p.parse_args(sys.argv[2:]))
    else:
        main(sys.argv[1:])
