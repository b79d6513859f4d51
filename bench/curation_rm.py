"""Does curation help at the model level? Reward models trained on raw majority labels vs curated labels of the
same answers, scored against the known truth on held-out pairs.

    .venv/bin/python bench/curation_rm.py [--items 450] [--seeds 1,2,3] [--steps 15] [--pairs off-topic|mixed]

1. Pairs whose better response is known (bench/training_common.py `pair`): by default (--pairs off-topic) a good
   answer against an answer of the same form to another question, so the reward model has to read the question;
   --pairs mixed adds shuffled and cut-off answers (easy). Imported through the API into a pairwise project with
   3 answers per item.
2. Four simulated annotators of known accuracy (0.9, 0.8, 0.7 and an adversarial 0.2) loop next -> submit
   through the API (Django's test client on the bench's PostgreSQL database) until the project is done.
3. Two snapshots of that project through the API, built by a real worker: raw (`{"consensus": "majority"}`) and
   curated (`{"consensus": "dawid_skene", "min_annotator_reliability": 0.6}`); with --oracle (default) a third one
   of the same items answered once by an annotator who is always right: the ceiling (--oracle-seeds, one seed by
   default).
4. A MiniLM-L6 reward job (POST /api/training-jobs/, a real Celery worker, our engine) on each snapshot for each
   seed, the same steps, batch and learning rate.
5. Each trained model scores held-out pairs (new prompts from the same generator, never annotated): accuracy
   against the truth, with a 95% bootstrap interval over the held-out pairs (mean over seeds), and the paired
   difference curated - raw.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
WORK = Path("/tmp/rlbench/curation")
ANNOTATORS = [("acc90", 0.9), ("acc80", 0.8), ("acc70", 0.7), ("adversarial20", 0.2)]
RULES = {"raw": {"consensus": "majority"},
         "curated": {"consensus": "dawid_skene", "min_annotator_reliability": 0.6}}


def held_out(common, n: int, seed: int, kinds: tuple[int, ...]) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt, good, bad = common.pair(rng, common.TASKS[i % len(common.TASKS)], kinds)
        rows.append({"prompt": [{"role": "user", "content": f"{prompt} (held-out {i})"}],
                     "chosen": [{"role": "assistant", "content": good}],
                     "rejected": [{"role": "assistant", "content": bad}]})
    return rows


def label_accuracy(rows_file: Path, good: dict[str, str]) -> tuple[float, int]:
    rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
    right = [row["chosen"][0]["content"] == good[row["prompt"][-1]["content"]] for row in rows]
    return sum(right) / len(right), len(right)


def score(folder: Path, rows: list[dict], max_length: int) -> np.ndarray:
    """1 where the model scores the truly better response higher, per held-out pair."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from training.engine.evaluate import reward_scores

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, dtype=torch.float32)
    chosen = reward_scores(model, tokenizer, [r["prompt"] + r["chosen"] for r in rows], max_length=max_length)
    rejected = reward_scores(model, tokenizer, [r["prompt"] + r["rejected"] for r in rows], max_length=max_length)
    return (np.array(chosen) > np.array(rejected)).astype(float)


def bootstrap(right: dict[str, np.ndarray], replicates: int = 2000, seed: int = 0) -> dict:
    """right[condition]: seeds x pairs. Mean accuracy over seeds, 95% percentile interval over pairs resampled."""
    rng = np.random.default_rng(seed)
    n = next(iter(right.values())).shape[1]
    draws = rng.integers(0, n, size=(replicates, n))
    out = {name: np.array([m[:, d].mean() for d in draws]) for name, m in right.items()}
    return {name: (float(right[name].mean()), *np.percentile(v, [2.5, 97.5]).tolist()) for name, v in out.items()} \
        | {"_draws": out}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=450)
    parser.add_argument("--overlap", type=int, default=3)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--held-out", type=int, default=400)
    parser.add_argument("--pairs", choices=("off-topic", "mixed"), default="off-topic",
                        help="degraded responses: answers to another question only (harder), or also shuffled and "
                             "cut-off ones (a MiniLM reward model learns those perfectly even from the raw labels)")
    parser.add_argument("--no-oracle", action="store_true")
    parser.add_argument("--oracle-seeds", default="1", help="seeds of the oracle's jobs (a ceiling, not compared)")
    parser.add_argument("--data-seed", type=int, default=7)
    parser.add_argument("--json", default=str(WORK / "results.json"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench import training_common as common

    WORK.mkdir(parents=True, exist_ok=True)
    common.ensure_database()
    common.django_setup()
    tag = f"cur{int(time.time())}"
    # One worker for the training queue and one for the default queue (snapshot builds, agreement recomputes).
    gpu = common.Worker(os.environ["TRAINING_QUEUE"], WORK / "gpu-worker.log")
    default = common.Worker("default", WORK / "default-worker.log")
    try:
        run(common, args, tag)
    finally:
        gpu.stop()
        default.stop()


def run(common, args, tag: str) -> None:
    rng = random.Random(args.data_seed)
    names = [name for name, _ in ANNOTATORS] + ["oracle"]
    people = common.users(tag, names)
    admin = common.api_client(people["admin"])
    kinds = {"mixed": (0, 1, 2), "off-topic": (2,)}[args.pairs]
    lines = common.pairwise_lines(args.items, args.data_seed, prefix=f"cur-{tag}", kinds=kinds)
    good = {line["prompt"]: line["metadata"]["good"] for line in lines}
    accuracy = dict(ANNOTATORS) | {"oracle": 1.0}
    stats = {name: [0, 0] for name in accuracy}

    def answer(name, item):
        best = good[item["conversation"][0]["content"]]
        ids = {r["text"] == best: r["id"] for r in item["responses"]}
        right = rng.random() < accuracy[name]
        stats[name][0] += right
        stats[name][1] += 1
        return {"chosen": ids[right], "strength": rng.choice([1, 2, 3])}

    simulated = [people[name] for name, _ in ANNOTATORS]
    project = common.project_with_items(admin, name=f"curation rm {tag}", kind="pairwise", overlap=args.overlap,
                                        lines=lines, annotators=simulated)
    started = time.time()
    stored = common.annotate({name: common.api_client(people[name]) for name, _ in ANNOTATORS}, project, answer)
    print(f"{stored} answers through the API in {time.time() - started:.0f} s; actual accuracy "
          + ", ".join(f"{n} {a / max(t, 1):.3f} ({t})" for n, (a, t) in stats.items() if t), flush=True)
    conditions = {}
    for name, rules in RULES.items():
        conditions[name] = common.snapshot(admin, project, rules=rules)
    if not args.no_oracle:
        oracle_project = common.project_with_items(admin, name=f"curation rm oracle {tag}", kind="pairwise",
                                                   overlap=1, lines=lines, annotators=[people["oracle"]])
        common.annotate({"oracle": common.api_client(people["oracle"])}, oracle_project, answer)
        conditions["oracle"] = common.snapshot(admin, oracle_project, rules={"consensus": "majority"})
    labels = {}
    for name, snap in conditions.items():
        acc, pairs = label_accuracy(common.snapshot_dir(snap["id"]) / "preference-train.jsonl", good)
        labels[name] = {"label_accuracy": acc, "pairs": pairs, "snapshot": snap["id"],
                        "skipped_ties": snap["counts"].get("skipped_ties")}
        print(f"snapshot {name} ({snap['id']}): {pairs} pairs, labels right on {acc:.3f}, "
              f"ties left out {snap['counts'].get('skipped_ties')}", flush=True)

    model = common.register("bench-minilm", common.minilm())
    rows = held_out(common, args.held_out, seed=args.data_seed + 1000, kinds=kinds)
    from training.services.registry import model_local_folder

    seeds = [int(s) for s in args.seeds.split(",")]
    right: dict[str, list[np.ndarray]] = {name: [] for name in conditions}
    jobs = []
    oracle_seeds = {int(s) for s in args.oracle_seeds.split(",")}
    for seed in seeds:
        for name, snap in conditions.items():
            if name == "oracle" and seed not in oracle_seeds:
                continue
            config = {"max_steps": args.steps, "per_device_train_batch_size": args.batch, "max_length": 128,
                      "seed": seed, "save_steps": 1000}
            r = admin.post("/api/training-jobs/", {"kind": "reward", "snapshot": snap["id"], "base_model": model.pk,
                                                   "config": config}, format="json")
            assert r.status_code == 201, r.content
            job = common.wait_job(r.json()["id"])
            assert job.status == "succeeded", (job.error, job.log_tail[-2000:])
            hits = score(model_local_folder(job.output_model), rows, 128)
            right[name].append(hits)
            jobs.append({"condition": name, "seed": seed, "job": job.pk, "held_out_accuracy": float(hits.mean()),
                         "final_loss": job.latest_metrics.get("loss"),
                         "train_accuracy": job.latest_metrics.get("accuracy")})
            print(f"seed {seed} {name}: job {job.pk}, held-out accuracy {hits.mean():.3f}, last train loss "
                  f"{job.latest_metrics.get('loss')}", flush=True)
    matrices = {name: np.stack(v) for name, v in right.items()}
    boot = bootstrap(matrices)
    draws = boot.pop("_draws")
    print(f"\n{len(rows)} held-out pairs ({args.pairs}), seeds {seeds}, {args.steps} steps x batch {args.batch}")
    print("| labels | pairs | labels right | held-out accuracy (mean of seeds) | 95% CI | per seed |")
    print("|---|---:|---:|---:|---|---|")
    for name in conditions:
        mean, lo, hi = boot[name]
        per_seed = ", ".join(f"{m.mean():.3f}" for m in matrices[name])
        print(f"| {name} | {labels[name]['pairs']} | {labels[name]['label_accuracy']:.3f} | {mean:.3f} | "
              f"{lo:.3f}-{hi:.3f} | {per_seed} |")
    diff = draws["curated"] - draws["raw"]
    delta = float(matrices["curated"].mean() - matrices["raw"].mean())
    lo, hi = np.percentile(diff, [2.5, 97.5])
    print(f"\ncurated - raw: {delta:+.3f} (95% CI {lo:+.3f} to {hi:+.3f}, paired bootstrap over held-out pairs)")
    Path(args.json).write_text(json.dumps({"machine": common.machine(), "labels": labels, "jobs": jobs,
                                           "accuracy": boot, "curated_minus_raw": [delta, lo, hi],
                                           "annotators": stats}, default=float))


if __name__ == "__main__":
    main(sys.argv[1:])
