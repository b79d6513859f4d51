"""Time from launch (POST /api/training-jobs/) to the first logged step, and where it goes.

    .venv/bin/python bench/training_launch.py [--reps 3] [--cells tiny-sft,tiny-reward,...]

A real Celery worker (solo pool, a queue of the bench's own) on PostgreSQL + Redis runs each job; jobs run one
at a time, each launched when the worker is idle. The parts come from, in order:
- the client's clock around the POST, and the job row's created_at, started_at (the claim) and first_step_at
  (the worker's supervisor seeing the first metrics row, within its 0.5 s poll);
- the worker log's "Task training.run_job[...] received" line (broker pickup);
- the work folder's spec.json mtime (the end of work-folder preparation);
- marks written by a `sitecustomize` the bench puts on the worker's PYTHONPATH, so that it loads in the engine
  subprocess (no change to our code; the worker never imports the module it watches): the process's exec time
  (/proc), interpreter start, the end of `training.engine.run`'s imports (torch, transformers), the tokenizer
  load, reading the snapshot rows, `import trl`, each model load, TRL's dataset tokenization
  (`_prepare_dataset`), the rest of the trainer's construction;
- the engine's events.jsonl: train_begin and the first step's end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/rlbench/launch")

CELLS = {  # cell -> (kind, model, batch size, max_length)
    "tiny-sft": ("sft", "tiny", 8, 128),
    "tiny-reward": ("reward", "tiny", 8, 128),
    "tiny-dpo": ("dpo", "tiny", 8, 128),
    "minilm-reward": ("reward", "minilm", 8, 128),
    "smollm2-sft": ("sft", "smollm2", 2, 128),
    "smollm2-dpo": ("dpo", "smollm2", 2, 128),
}

HOOK = r'''
"""Bench-only: timestamps of an engine run's start-up, written next to its spec.json (bench/training_launch.py)."""
import importlib.machinery
import json
import os
import sys
import time

_SITE = time.time()


def _exec_time():
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return time.time() - uptime + start_ticks / os.sysconf("SC_CLK_TCK")


_MARKS = [("exec", _exec_time()), ("site", _SITE)]


def _mark(name):
    _MARKS.append((name, time.time()))
    spec = next((a for a in sys.argv if a.endswith("spec.json")), None)
    if spec:
        with open(os.path.join(os.path.dirname(spec), "bench_marks.json"), "w") as f:
            json.dump(_MARKS, f)


def _timed(name, fn):
    def wrapper(*args, **kwargs):
        _mark(name + "_start")
        try:
            return fn(*args, **kwargs)
        finally:
            _mark(name + "_done")
    return wrapper


def _patch(run):
    run.run = _timed("run", run.run)
    run.data.load_split = _timed("rows", run.data.load_split)
    run.load_causal = _timed("model", run.load_causal)
    run.load_reward_model = _timed("model", run.load_reward_model)
    build = run.build_trainer

    def build_trainer(*args, **kwargs):
        _mark("build_start")
        import trl
        _mark("trl_imported")
        for cls in (trl.SFTTrainer, trl.RewardTrainer, trl.DPOTrainer):
            cls._prepare_dataset = _timed("tokenize", cls._prepare_dataset)
        trainer = build(*args, **kwargs)
        _mark("build_done")
        return trainer
    run.build_trainer = build_trainer


class _Finder:
    def find_spec(self, name, path, target=None):
        if name != "training.engine.run":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run_module = spec.loader.exec_module

        def exec_module(module):
            _mark("imports_start")
            run_module(module)
            _mark("imports_done")
            _patch(module)
        spec.loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _Finder())
'''


def received_times(log: Path) -> list[float]:
    """Times of the worker's "Task training.run_job[...] received" lines (its local clock, as logged)."""
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if "training.run_job[" in line and line.rstrip().endswith("received"):
            stamp = line[1:line.index(": ")]
            out.append(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp())
    return out


def first(marks: list, name: str) -> float:
    return next(t for n, t in marks if n == name)


def total(marks: list, name: str) -> float:
    starts = [t for n, t in marks if n == f"{name}_start"]
    ends = [t for n, t in marks if n == f"{name}_done"]
    return sum(e - s for s, e in zip(starts, ends, strict=True))


def parts(job, post: tuple[float, float], received: float, work: Path, events: list[dict]) -> dict:
    marks = json.loads((work / "bench_marks.json").read_text())
    created, started = job.created_at.timestamp(), job.started_at.timestamp()
    spec = (work / "spec.json").stat().st_mtime
    begin = next(e["time"] for e in events if e["event"] == "train_begin")
    step = next(e["time"] for e in events if e["event"] == "step")
    tokenize, models = total(marks, "tokenize"), total(marks, "model")
    return {
        "POST (validate, insert, enqueue)": post[1] - post[0],
        "broker pickup (row created -> worker received)": received - created,
        "claim (received -> started_at)": started - received,
        "work folder (started_at -> spec.json)": spec - started,
        "subprocess start (spec.json -> exec)": first(marks, "exec") - spec,
        "interpreter start (exec -> site)": first(marks, "site") - first(marks, "exec"),
        "imports: torch, transformers (engine.run module)": first(marks, "imports_done") - first(marks, "site"),
        "tokenizer load + template": first(marks, "rows_start") - first(marks, "run_start"),
        "snapshot rows -> Dataset": first(marks, "build_start") - first(marks, "rows_start"),
        "import trl": first(marks, "trl_imported") - first(marks, "build_start"),
        "model load (policy + reference for DPO)": models,
        "dataset tokenization (TRL _prepare_dataset)": tokenize,
        "rest of trainer construction": first(marks, "build_done") - first(marks, "trl_imported") - models - tokenize,
        "train() set-up (-> train_begin)": begin - first(marks, "build_done"),
        "first step (train_begin -> step 1 end)": step - begin,
        "total: POST -> step 1 end": step - post[0],
        "job row first_step_at - step 1 end (relay lag)": job.first_step_at.timestamp() - step,
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cells", default="tiny-sft,tiny-reward,tiny-dpo,minilm-reward,smollm2-sft")
    parser.add_argument("--json", default=str(WORK / "results.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench import training_common as common
    from bench.training_overhead import LEARNING_RATE, prepare_data

    hooks = WORK / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "sitecustomize.py").write_text(HOOK)
    common.ensure_database()
    common.django_setup()
    from django.conf import settings

    from annotation import artifacts

    tag = f"launch{int(time.time())}"
    worker = common.Worker(os.environ["TRAINING_QUEUE"], WORK / "worker.log", extra_env={"PYTHONPATH": str(hooks)})
    results: dict[str, list[dict]] = {}
    try:
        data = prepare_data(common, tag)
        sft_rows = [json.loads(line) for line in data["sft"]["rows"].read_text().splitlines()]
        texts = [m["content"] for row in sft_rows for m in row["messages"]]
        folders = {"tiny": common.tiny_model(WORK / "tiny", texts), "smollm2": common.smollm2_folder(),
                   "minilm": common.minilm()}
        client = common.api_client(data["admin"])
        print(f"machine: {common.machine()}", flush=True)
        for rep in range(args.reps):
            for cell in args.cells.split(","):
                kind, model_name, batch, max_length = CELLS[cell]
                model = common.register(f"bench-{model_name}", folders[model_name])
                config = {"max_steps": 2, "per_device_train_batch_size": batch, "max_length": max_length,
                          "learning_rate": LEARNING_RATE[kind], "save_steps": 1000}
                if kind != "reward":
                    config["num_sample_generations"] = 0
                seen = len(received_times(worker.log_path))
                snapshot = data["sft" if kind == "sft" else "preference"]["snapshot"]
                t0 = time.time()
                r = client.post("/api/training-jobs/", {"kind": kind, "snapshot": snapshot, "base_model": model.pk,
                                                        "config": config}, format="json")
                t1 = time.time()
                assert r.status_code == 201, r.content
                job = common.wait_job(r.json()["id"])
                assert job.status == "succeeded", (job.error, job.log_tail[-2000:])
                work = Path(settings.TRAINING_WORK_ROOT) / str(job.pk)
                received = received_times(worker.log_path)[seen]
                got = parts(job, (t0, t1), received, work, common.read_jsonl(work / "events.jsonl"))
                results.setdefault(cell, []).append(got)
                print(f"{cell} rep {rep}: {got['total: POST -> step 1 end']:.2f} s to step 1", flush=True)
                artifacts.delete_prefix(f"jobs/{job.pk}/model")
                time.sleep(1)
        Path(args.json).write_text(json.dumps({"machine": common.machine(), "results": results}))
        report(results)
    finally:
        worker.stop()


def report(results: dict[str, list[dict]]) -> None:
    cells = list(results)
    names = list(next(iter(results.values()))[0])
    print("\n| part | " + " | ".join(cells) + " |")
    print("|---|" + "---:|" * len(cells))
    for name in names:
        values = [statistics.median(r[name] for r in results[cell]) for cell in cells]
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
