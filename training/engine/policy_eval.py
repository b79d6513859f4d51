"""A policy against its reference on held-out prompts, under a reward model.

Win rate, mean reward, mean KL, mean length, the reward-length correlation and the samples side by side; and
best-of-n as the baseline a policy should beat at its KL: n samples from the reference, the reward model picks
one (its KL to the reference is log n − (n − 1)/n, Stiennon et al. 2020). Used by the `evaluate` job and, on a few
prompts, at every checkpoint of PPO, DPO, RLOO and GRPO jobs, which draws the curve of reward against KL.
"""

from __future__ import annotations

import math
from contextlib import nullcontext

import numpy as np
import torch
from torch import nn

from .ppo import Scorer, generate, per_token_kl, response_logprobs


def _reference_context(policy: nn.Module, reference: nn.Module | None):
    """The reference: a model of its own, or the policy with its LoRA adapter switched off."""
    if reference is not None:
        return reference, nullcontext()
    return policy, policy.disable_adapter()


@torch.no_grad()
def evaluate_policy(policy: nn.Module, tokenizer, scorer: Scorer, prompts: list[list[dict]], *,
                    reference: nn.Module | None, max_new_tokens: int = 32, temperature: float = 1.0,
                    best_of_n: int = 0, seed: int = 0, keep_samples: int = 8) -> dict:
    if not prompts:
        return {}
    torch.manual_seed(seed)
    mine = generate(policy, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature)
    ref_model, context = _reference_context(policy, reference)
    with context:
        theirs = generate(ref_model, tokenizer, prompts, max_new_tokens=max_new_tokens, temperature=temperature)
        ref_logprobs = response_logprobs(ref_model, mine.sequences, mine.attention_mask, mine.query_width, temperature)
    logprobs = response_logprobs(policy, mine.sequences, mine.attention_mask, mine.query_width, temperature)
    kl = per_token_kl(logprobs, ref_logprobs, mine.mask.float()).sum(1)
    mine_scores = scorer(prompts, mine.texts).float().cpu()
    their_scores = scorer(prompts, theirs.texts).float().cpu()
    lengths = mine.mask.float().sum(1).cpu()
    wins = (mine_scores > their_scores).float() + 0.5 * (mine_scores == their_scores).float()
    out = {
        "prompts": len(prompts), "win_rate": float(wins.mean()), "mean_reward": float(mine_scores.mean()),
        "reference_mean_reward": float(their_scores.mean()), "mean_kl": float(kl.mean()),
        "mean_length": float(lengths.mean()), "ended_fraction": float(mine.ended.float().mean()),
        "reward_length_correlation": _correlation(lengths.numpy(), mine_scores.numpy()),
        "samples": [{"prompt": p, "policy": a, "reference": b, "policy_reward": float(s), "reference_reward":
                     float(t)} for p, a, b, s, t in zip(prompts[:keep_samples], mine.texts, theirs.texts,
                                                        mine_scores.tolist(), their_scores.tolist(), strict=False)],
    }
    if best_of_n > 1:
        out["best_of_n"] = _best_of_n(policy, reference, tokenizer, scorer, prompts, mine_scores, n=best_of_n,
                                      max_new_tokens=max_new_tokens, temperature=temperature)
    return out


def _best_of_n(policy, reference, tokenizer, scorer, prompts, mine_scores, *, n, max_new_tokens, temperature) -> dict:
    repeated = [p for p in prompts for _ in range(n)]
    ref_model, context = _reference_context(policy, reference)
    with context:
        samples = generate(ref_model, tokenizer, repeated, max_new_tokens=max_new_tokens, temperature=temperature)
    best = scorer(repeated, samples.texts).float().cpu().view(len(prompts), n).max(dim=1).values
    wins = (mine_scores > best).float() + 0.5 * (mine_scores == best).float()
    return {"n": n, "mean_reward": float(best.mean()), "kl": math.log(n) - (n - 1) / n,
            "policy_win_rate": float(wins.mean())}


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def checkpoint_evaluation(trainer, spec: dict, files):
    """A TrainerCallback for TRL's DPO, RLOO and GRPO: score a few held-out prompts at every checkpoint (when the
    job has a reward model), so the job page draws reward against KL while it trains."""
    import time

    from transformers import TrainerCallback

    from .data import read_rows
    from .files import append_jsonl
    from .ppo import checkpoint_values, load_reward_scorer

    cfg = spec["config"]
    prompts = [row["prompt"] for row in read_rows(spec["snapshot_dir"], "prompts", "test")]
    prompts = prompts[: cfg.get("checkpoint_eval_prompts") or 0]
    if not (spec.get("reward_model_dir") and prompts):
        return None
    scorer = load_reward_scorer(spec["reward_model_dir"])

    class CheckpointEvaluation(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero or not prompts:
                return
            reference = getattr(trainer, "ref_model", None)
            if reference is None and not hasattr(trainer.model, "disable_adapter"):
                return  # no reference to measure KL against (GRPO with beta = 0)
            result = evaluate_policy(trainer.model, trainer.processing_class, scorer, prompts, reference=reference,
                                     max_new_tokens=cfg["max_new_tokens"], seed=cfg["seed"] + state.global_step)
            append_jsonl(files.metrics, {"step": state.global_step, "time": time.time(),
                                         "values": checkpoint_values(result)})

    return CheckpointEvaluation()


def run_evaluate(spec: dict, files) -> dict:
    """The `evaluate` job: load policy, reference and reward model, answer the held-out prompts, compare."""
    from transformers import AutoModelForCausalLM

    from .chat import load_tokenizer
    from .data import read_rows
    from .files import write_json_atomic
    from .ppo import RewardModelScorer, load_reward_scorer

    cfg = spec["config"]
    tokenizer = load_tokenizer(spec["base_model_dir"])
    policy = AutoModelForCausalLM.from_pretrained(spec["base_model_dir"], dtype=torch.float32)
    reference = AutoModelForCausalLM.from_pretrained(spec["reference_model_dir"], dtype=torch.float32)
    scorer: RewardModelScorer = load_reward_scorer(spec["reward_model_dir"])
    rows = [r["prompt"] for split in ("test", "train") for r in read_rows(spec["snapshot_dir"], "prompts", split)]
    prompts = rows[: cfg["num_prompts"]]
    if not prompts:
        raise SystemExit("the snapshot has no prompts")
    files.event("train_begin", step=0, max_steps=1, resumed_from=None)
    result = evaluate_policy(policy, tokenizer, scorer, prompts, reference=reference,
                             max_new_tokens=cfg["max_new_tokens"], temperature=cfg["temperature"],
                             best_of_n=cfg["best_of_n"], seed=cfg["seed"], keep_samples=len(prompts))
    samples = [{"prompt": s["prompt"], "completion": s["policy"], "reference": s["reference"],
                "policy_reward": s["policy_reward"], "reference_reward": s["reference_reward"]}
               for s in result.pop("samples")]
    files.event("step", step=1, max_steps=1)
    write_json_atomic(files.output / "evaluation.json", result)
    return {"status": "succeeded", "step": 1, "evaluation": result, "samples": samples[:50], "summary": {}}
