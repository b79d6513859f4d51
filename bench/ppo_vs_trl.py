"""Seconds per PPO update: our trainer (training/engine/ppo.py) against TRL 1.12's PPOTrainer, same models, same
batch, in one process, alternating; then SmolLM2-135M PPO on CPU with ours (seconds per update, peak RSS).

    # TRL 1.12 (the last with a PPOTrainer) beside the project, not in .venv: it imports against our transformers
    .venv/bin/pip install --no-deps --target /tmp/trl112 trl==1.12.0
    .venv/bin/python bench/ppo_vs_trl.py [--reps 9] [--hidden 64,32] [--trl-path /tmp/trl112] [--smollm2 FOLDER]

One update, both sides: sample 4 prompts × 16 new tokens (temperature 0.7), log-probs of policy and reference,
values, reward-model scores, KL-penalised rewards (β 0.05, k1), GAE (γ 1, λ 0.95), whitened advantages, then
4 PPO epochs of 1 minibatch of 4 (cliprange 0.2, value cliprange 0.2, vf_coef 0.1, lr 3e-3 constant, AdamW).
fp32 on CPU, torch on one thread (--threads), dropout off (the tiny Llama has none), no gradient checkpointing.
Settings that differ by design: ours clips the gradient norm at 1.0 by default, TRL's PPO does not clip, so the
bench sets max_grad_norm 0 for ours (--clip puts it back); ours stops an update's epochs early past approx-KL 0.5,
off here (max_approx_kl None) so both always run 4 epochs; both apply missing_eos_penalty 1.0.
The same seed is set before each side builds its models, so policy, reference, value model and reward model
(random one-label heads from the tiny folder) start with the same weights on both sides.

Arms (--arms): ours; trl, TRL 1.12 as shipped; trl-nogc, the same TRL code with the two gc.collect() calls its
loop makes per update stubbed out (their cost grows with everything the process holds, so this is TRL's compute
alone). Each arm is a call of two updates: ours `trainer.update()` twice, the second timed (wall and process CPU
time); TRL one `trainer.train()` with total_episodes = 2 batches, the second update timed from the first's
on_step_end to its own (a steady-state update, with the clean-up TRL's loop runs after each step end: del,
empty_cache, gc.collect; train()'s set-up is left out). TRL's first update, on_train_begin to on_step_end (no
trailing clean-up), is printed too. One warm-up call each, then --reps repetitions, the order of the arms
reversing every repetition. Median and range. `--arms trl,trl-nogc` or `--arms ours` time a side in a process of
its own.

Metrics: the median over the repetitions of what each trainer logs, side by side. Definitions differ slightly:
TRL's policy/entropy_avg averages over every response column (padding too), ours over real tokens; TRL's
approx KL is ½·mean(Δlogp²), ours (ratio − 1) − log ratio (both ≈ ½Δ² for small Δ); our reward model reads the
chat-templated text (its own tokenisation, as a job's RewardModelScorer does), TRL's reads the token ids.

--smollm2 FOLDER: SmolLM2-135M policy and reference (a folder from `python -m training.engine convert-gguf`), the
value model from `ppo.build_value_model` (the policy backbone: MiniLM's vocabulary differs), MiniLM-L6 with a
fresh one-label head as the reward model through `RewardModelScorer`; 2 prompts × 16 tokens, 1 PPO epoch. Runs in
a subprocess of its own so its peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

PROMPTS = [[{"role": "user", "content": f"Question number {i}: what is {i} + {i}?"}] for i in range(32)]
SETTINGS = {"batch": 4, "response_length": 16, "num_ppo_epochs": 4, "temperature": 0.7, "learning_rate": 3e-3,
            "kl_coef": 0.05, "cliprange": 0.2, "cliprange_value": 0.2, "vf_coef": 0.1, "gamma": 1.0, "lam": 0.95,
            "missing_eos_penalty": 1.0, "seed": 0}
METRICS = ["objective/kl", "objective/scores", "objective/non_score_reward", "objective/rlhf_reward",
           "loss/policy_avg", "loss/value_avg", "policy/clipfrac_avg", "val/clipfrac_avg", "policy/approxkl_avg",
           "policy/entropy_avg"]


def tiny_folder(base: Path, hidden: int) -> tuple[Path, int]:
    from training.engine.tiny import create_tiny_model

    folder = base / f"tiny-h{hidden}"
    info = create_tiny_model(folder, hidden_size=hidden)
    return folder, info["parameter_count"]


# --- ours ---------------------------------------------------------------------------------------------------------

def build_ours(folder: Path, *, clip: bool, batch: int = SETTINGS["batch"], epochs: int = SETTINGS["num_ppo_epochs"]):
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from training.engine import ppo
    from training.engine.config import resolve

    torch.manual_seed(SETTINGS["seed"])
    tokenizer = AutoTokenizer.from_pretrained(folder)
    policy, reference = (AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32) for _ in range(2))
    value_cls = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    reward_cls = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    for m in (value_cls, reward_cls):
        m.config.pad_token_id = tokenizer.pad_token_id
    s = SETTINGS
    config = resolve("ppo", {"max_steps": 10**6, "rollout_batch_size": batch, "per_device_train_batch_size": batch,
                             "num_ppo_epochs": epochs, "response_length": s["response_length"],
                             "learning_rate": s["learning_rate"], "temperature": s["temperature"],
                             "kl_coef": s["kl_coef"], "cliprange": s["cliprange"],
                             "cliprange_value": s["cliprange_value"], "vf_coef": s["vf_coef"], "gamma": s["gamma"],
                             "lam": s["lam"], "missing_eos_penalty": s["missing_eos_penalty"],
                             "whiten_rewards": False, "max_approx_kl": None, "max_grad_norm": 1.0 if clip else 0.0,
                             "seed": s["seed"]})
    scorer = ppo.RewardModelScorer(reward_cls.requires_grad_(False), AutoTokenizer.from_pretrained(folder))
    return ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, value_model=ppo.ValueModel(value_cls),
                          scorer=scorer, prompts=PROMPTS, reference=reference)


def ours_update(trainer) -> tuple[float, float, dict]:
    wall, cpu = time.perf_counter(), time.process_time()
    stats = trainer.update()
    return time.perf_counter() - wall, time.process_time() - cpu, stats


# --- TRL 1.12 -------------------------------------------------------------------------------------------------------

def build_trl(folder: Path, out: Path):
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback
    from trl.experimental.ppo import PPOConfig, PPOTrainer

    torch.manual_seed(SETTINGS["seed"])
    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    policy, reference = (AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32) for _ in range(2))
    value_model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    reward_model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    for m in (value_model, reward_model):
        m.config.pad_token_id = tokenizer.pad_token_id
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in PROMPTS]
    dataset = Dataset.from_dict({"input_ids": [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]})
    s = SETTINGS
    args = PPOConfig(output_dir=str(out), per_device_train_batch_size=s["batch"], gradient_accumulation_steps=1,
                     num_mini_batches=1, total_episodes=2 * s["batch"], local_rollout_forward_batch_size=s["batch"],
                     num_ppo_epochs=s["num_ppo_epochs"], response_length=s["response_length"],
                     temperature=s["temperature"], learning_rate=s["learning_rate"], lr_scheduler_type="constant",
                     kl_coef=s["kl_coef"], kl_estimator="k1", cliprange=s["cliprange"],
                     cliprange_value=s["cliprange_value"], vf_coef=s["vf_coef"], gamma=s["gamma"], lam=s["lam"],
                     missing_eos_penalty=s["missing_eos_penalty"], stop_token="eos", whiten_rewards=False,
                     num_sample_generations=0, report_to="none", save_strategy="no", logging_steps=1,
                     use_cpu=True, bf16=False, fp16=False, gradient_checkpointing=False, disable_tqdm=True,
                     seed=s["seed"], dataloader_num_workers=0)

    class Clock(TrainerCallback):
        def __init__(self):
            self.ends: list[tuple[float, float]] = []
            self.logs: list[dict] = []

        def on_train_begin(self, *a, **k):
            self.ends, self.logs = [(time.perf_counter(), time.process_time())], []

        def on_step_end(self, *a, **k):
            self.ends.append((time.perf_counter(), time.process_time()))

        def on_log(self, args, state, control, logs=None, **k):
            self.logs.append(dict(logs or {}))

    clock = Clock()
    trainer = PPOTrainer(args=args, processing_class=tokenizer, model=policy, ref_model=reference,
                         reward_model=reward_model, value_model=value_model, train_dataset=dataset,
                         eval_dataset=dataset, callbacks=[clock])
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for cb in (PrinterCallback, ProgressCallback):  # no per-step printing in the timed loop
        trainer.remove_callback(cb)
    return trainer, clock


def trl_update(trainer, clock) -> tuple[float, float, float, list[dict]]:
    """One `train()` of two updates; the second is timed from the first's on_step_end to its own, so it includes
    the clean-up TRL's loop runs after each step end (del, empty_cache, gc.collect) as every update after the first
    pays it. Also returns the first update from on_train_begin to its step end (no clean-up)."""
    trainer.train()
    (b, bc), (e1, e1c), (e2, e2c) = clock.ends
    return e2 - e1, e2c - e1c, e1 - b, clock.logs


# --- the comparison ---------------------------------------------------------------------------------------------

def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} s ({min(xs):.3f}–{max(xs):.3f})"


def profile(label: str, fn, top: int) -> None:
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    print(f"\n-- cProfile, one {label} (top {top} by own time, then by cumulative time) --")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip() and "Ordered by" not in line
                     and "function calls" not in line and "restrictions" not in line))


class NoGC:
    """Stands in for the `gc` module inside TRL's trainer: its two gc.collect() per update become no-ops."""

    @staticmethod
    def collect(*a, **k) -> int:
        return 0


def trl_arm(trainer, clock, *, gc_off: bool):
    import trl.experimental.ppo.ppo_trainer as module

    def run():
        real = module.gc
        module.gc = NoGC if gc_off else real
        try:
            return trl_update(trainer, clock)
        finally:
            module.gc = real
    return run


def ours_arm(trainer):
    def run():  # two updates, like one TRL call; the second is timed, both are kept for the metrics
        _, _, first = ours_update(trainer)
        wall, cpu, second = ours_update(trainer)
        return wall, cpu, [first, second]
    return run


def compare(hidden: int, base: Path, reps: int, clip: bool, arms: list[str], top: int = 0) -> dict:
    import gc

    folder, n_params = tiny_folder(base, hidden)
    runs = {}
    for arm in arms:
        if arm == "ours":
            runs[arm] = ours_arm(build_ours(folder, clip=clip))
        else:
            trainer, clock = build_trl(folder, base / f"trl-out-h{hidden}-{arm}")
            runs[arm] = trl_arm(trainer, clock, gc_off=arm == "trl-nogc")
    for run in runs.values():
        run()  # warm-up: first-call costs (allocator, kernels, tokenizer caches)
    rows: dict[str, list[dict]] = {arm: [] for arm in arms}
    for rep in range(reps):
        for arm in (arms if rep % 2 == 0 else arms[::-1]):
            if arm == "ours":
                wall, cpu, stats = runs[arm]()
                rows[arm].append({"wall": wall, "cpu": cpu, "stats": stats})
            else:
                wall, cpu, first, logs = runs[arm]()
                rows[arm].append({"wall": wall, "cpu": cpu, "first": first, "stats": logs})
    print(f"\n== tiny Llama hidden {hidden}: {n_params:,} parameters per model; batch {SETTINGS['batch']}, "
          f"{SETTINGS['response_length']} tokens, {SETTINGS['num_ppo_epochs']} epochs × 1 minibatch, {reps} reps, "
          f"seconds per update (median, range) ==")
    summary = {}
    for arm in arms:
        wall, cpu = [r["wall"] for r in rows[arm]], [r["cpu"] for r in rows[arm]]
        extra = f"   (train()'s first update, before its clean-up: {spread([r['first'] for r in rows[arm]])})" \
            if arm != "ours" else ""
        print(f"{arm:9s} wall {spread(wall)}   cpu {spread(cpu)}{extra}")
        summary[arm] = {"wall": wall, "cpu": cpu, **({"first": [r["first"] for r in rows[arm]]} if arm != "ours"
                                                     else {})}
    if "ours" in arms:
        for arm in arms:
            if arm == "ours":
                continue
            ratios = [t["wall"] / o["wall"] for o, t in zip(rows["ours"], rows[arm], strict=True)]
            med = lambda arm_, key: statistics.median(r[key] for r in rows[arm_])  # noqa: E731
            print(f"{arm} ÷ ours: wall {med(arm, 'wall') / med('ours', 'wall'):.2f}× (per-rep ratios: median "
                  f"{statistics.median(ratios):.2f}, range {min(ratios):.2f}–{max(ratios):.2f}); "
                  f"cpu {med(arm, 'cpu') / med('ours', 'cpu'):.2f}×")
            summary[f"{arm}/ours"] = {"wall": med(arm, "wall") / med("ours", "wall"),
                                      "cpu": med(arm, "cpu") / med("ours", "cpu")}
    metric_arms = [a for a in arms if a != "trl-nogc"]
    print("metrics, median [range] over both updates of every repetition:")
    print(f"{'metric':28s}" + "".join(f"{a:>32s}" for a in metric_arms))
    table = {}
    for key in METRICS:
        cells = []
        for arm in metric_arms:
            xs = [st[key] for r in rows[arm] for st in r["stats"]
                  if key in st]
            cells.append(f"{statistics.median(xs):+.4f} [{min(xs):+.3f}, {max(xs):+.3f}]" if xs else "–")
            table.setdefault(key, {})[arm] = statistics.median(xs) if xs else None
        print(f"{key:28s}" + "".join(f"{c:>32s}" for c in cells))
    started = time.perf_counter()
    gc.collect()
    took = time.perf_counter() - started
    print(f"one gc.collect() in this process (TRL's loop runs 2 per update): {took:.3f} s; "
          f"{len(gc.get_objects()):,} objects tracked")
    if top:
        for arm, run in runs.items():
            profile(f"{arm} call (2 updates)", run, top)
    return {"hidden": hidden, "parameters": n_params, "arms": summary, "metrics": table, "gc_collect_s": took,
            "gc_objects": len(gc.get_objects())}


# --- SmolLM2-135M with ours ------------------------------------------------------------------------------------------

def smollm2(folder: str, updates: int, batch: int, epochs: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from training.engine import ppo
    from training.engine.builtin import minilm_folder
    from training.engine.chat import ensure_template
    from training.engine.config import resolve

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    torch.manual_seed(0)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ensure_template(tokenizer)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    policy = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    reference = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    rm_dir = minilm_folder()
    rm_tok = AutoTokenizer.from_pretrained(rm_dir)
    ensure_template(rm_tok)
    rm = AutoModelForSequenceClassification.from_pretrained(rm_dir, num_labels=1, dtype=torch.float32)
    rm.config.pad_token_id = rm_tok.pad_token_id
    scorer = ppo.RewardModelScorer(rm.requires_grad_(False), rm_tok)
    value_model = ppo.build_value_model(rm_dir, folder, tokenizer, rm_tok)
    config = resolve("ppo", {"max_steps": 10**6, "rollout_batch_size": batch, "per_device_train_batch_size": batch,
                             "num_ppo_epochs": epochs, "response_length": SETTINGS["response_length"],
                             "learning_rate": 1e-6, "whiten_rewards": False, "max_approx_kl": None})
    trainer = ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, value_model=value_model,
                             scorer=scorer, prompts=PROMPTS, reference=reference)
    loaded, rss_loaded = time.perf_counter() - started, rss_mb()
    walls, cpus, stats = [], [], []
    for _ in range(updates + 1):
        wall, cpu, s = ours_update(trainer)
        walls.append(wall), cpus.append(cpu), stats.append(s)
    walls, cpus = walls[1:], cpus[1:]  # the first is a warm-up
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return {"policy_parameters": n(policy), "value_parameters": n(value_model), "reward_parameters": n(rm),
            "value_backbone": type(value_model.backbone).__name__, "load_s": loaded, "rss_after_load_mb": rss_loaded,
            "peak_rss_mb": rss_mb(), "wall": walls, "cpu": cpus, "batch": batch, "epochs": epochs,
            "response_length": SETTINGS["response_length"], "last_stats": stats[-1],
            "response_lengths": [s["response_length"] for s in stats]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--hidden", default="64,32", help="tiny model hidden sizes (64 ≈ 130k params, 32 ≈ 30k)")
    parser.add_argument("--trl-path", default="/tmp/trl112", help="a --target folder holding trl 1.12")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: a shared 2-core machine)")
    parser.add_argument("--clip", action="store_true", help="keep our default gradient clipping (1.0)")
    parser.add_argument("--smollm2", help="a converted SmolLM2-135M folder: also time PPO on it with ours")
    parser.add_argument("--smollm2-updates", type=int, default=3)
    parser.add_argument("--smollm2-batch", type=int, default=2)
    parser.add_argument("--smollm2-epochs", type=int, default=1)
    parser.add_argument("--arms", default="ours,trl,trl-nogc",
                        help="ours: our trainer; trl: TRL 1.12 as shipped; trl-nogc: TRL with its gc.collect() calls "
                             "stubbed out (its compute alone); e.g. --arms trl to time TRL in a process of its own")
    parser.add_argument("--skip-trl", action="store_true", help="only the SmolLM2 part")
    parser.add_argument("--smollm2-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="after the timing, cProfile one update of each side and print the top N functions")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    if args.smollm2_child:
        print(json.dumps(smollm2(args.smollm2, args.smollm2_updates, args.smollm2_batch, args.smollm2_epochs)))
        return
    print(f"load before: {os.getloadavg()}  torch {torch.__version__}, threads {torch.get_num_threads()}")
    results: dict = {"load_before": os.getloadavg(), "settings": SETTINGS, "threads": args.threads}
    if not args.skip_trl:
        sys.path.insert(0, args.trl_path)  # TRL 1.12 shadows the .venv's newer trl for this process only
        import transformers
        import trl

        if not trl.__version__.startswith("1.12"):
            raise SystemExit(f"expected TRL 1.12 from {args.trl_path}, got {trl.__version__} ({trl.__file__})")
        print(f"TRL {trl.__version__} from {Path(trl.__file__).parent}, transformers {transformers.__version__}")
        results["trl"] = trl.__version__
        with tempfile.TemporaryDirectory(prefix="ppo_vs_trl-") as tmp:
            results["tiny"] = [compare(int(h), Path(tmp), args.reps, args.clip, args.arms.split(","), args.profile)
                               for h in args.hidden.split(",")]
    if args.smollm2:
        cmd = [sys.executable, __file__, "--smollm2-child", "--smollm2", args.smollm2, "--threads", str(args.threads),
               "--smollm2-updates", str(args.smollm2_updates), "--smollm2-batch", str(args.smollm2_batch),
               "--smollm2-epochs", str(args.smollm2_epochs)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        s = json.loads(out.strip().splitlines()[-1])
        results["smollm2"] = s
        print(f"\n== SmolLM2-135M PPO, ours: {s['batch']} prompts × {s['response_length']} tokens, "
              f"{s['epochs']} epoch; "
              f"policy {s['policy_parameters']:,}, value {s['value_parameters']:,} ({s['value_backbone']}), "
              f"reward MiniLM {s['reward_parameters']:,} ==")
        print(f"seconds per update: wall {spread(s['wall'])}, cpu {spread(s['cpu'])}; "
              f"load {s['load_s']:.1f} s; RSS after load {s['rss_after_load_mb']:.0f} MB, "
              f"peak {s['peak_rss_mb']:.0f} MB; response lengths {s['response_lengths']}")
    results["load_after"] = os.getloadavg()
    print(f"load after: {os.getloadavg()}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
