"""Evaluation at the end of a run: held-out loss and the trainer's own eval metrics, reward-model accuracy
overall and on the pairs the annotators agreed on most, and sample generations on held-out prompts."""

from __future__ import annotations

from pathlib import Path

import torch

from . import data
from .callbacks import clean
from .files import JobFiles, JsonlTail, write_json_atomic

HIGH_AGREEMENT = 0.75  # the "high-agreement subset": pairs whose annotators agreed at least this much


def _text(tokenizer, messages: list[dict]) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False)


@torch.no_grad()
def reward_scores(model, tokenizer, conversations: list[list[dict]], *, max_length: int | None,
                  batch_size: int = 16) -> list[float]:
    """The reward model's score of each whole conversation."""
    model.eval()
    scores = []
    device = next(model.parameters()).device
    for start in range(0, len(conversations), batch_size):
        texts = [_text(tokenizer, c) for c in conversations[start:start + batch_size]]
        batch = tokenizer(texts, return_tensors="pt", padding=True, truncation=max_length is not None,
                          max_length=max_length).to(device)
        scores.extend(model(**batch).logits[:, 0].float().tolist())
    return scores


def reward_accuracy(model, tokenizer, rows: list[dict], *, max_length: int | None) -> dict:
    """Share of held-out pairs whose chosen reply scores higher, overall and on the high-agreement subset."""
    if not rows:
        return {}
    chosen = reward_scores(model, tokenizer, [r["prompt"] + r["chosen"] for r in rows], max_length=max_length)
    rejected = reward_scores(model, tokenizer, [r["prompt"] + r["rejected"] for r in rows], max_length=max_length)
    right = [c > r for c, r in zip(chosen, rejected, strict=True)]
    high = [ok for ok, row in zip(right, rows, strict=True) if (row.get("agreement") or 0) >= HIGH_AGREEMENT]
    margins = [c - r for c, r in zip(chosen, rejected, strict=True)]
    return {"accuracy": sum(right) / len(right), "pairs": len(right), "mean_margin": sum(margins) / len(margins),
            "accuracy_high_agreement": sum(high) / len(high) if high else None, "pairs_high_agreement": len(high),
            "high_agreement_threshold": HIGH_AGREEMENT}


@torch.no_grad()
def sample_generations(model, tokenizer, prompts: list[list[dict]], *, max_new_tokens: int) -> list[dict]:
    """Greedy answers to held-out prompts (greedy: the same model always writes the same samples)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for prompt in prompts:
        ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True).to(device)
        generated = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False,
                                   pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
        completion = tokenizer.decode(generated[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
        out.append({"prompt": prompt, "completion": completion})
    return out


def after_training(spec: dict, trainer, tokenizer, test, files: JobFiles) -> dict:
    kind, cfg = spec["kind"], spec["config"]
    evaluation: dict = {}
    if test is not None:
        evaluation.update(clean(trainer.evaluate()))
    model = trainer.model
    if kind == "reward":
        rows = data.read_rows(Path(spec["snapshot_dir"]), "preference", "test")
        evaluation["reward_model"] = reward_accuracy(model, tokenizer, rows, max_length=cfg["max_length"])
    samples = []
    if kind != "reward" and cfg.get("num_sample_generations"):
        prompts = data.eval_prompts(Path(spec["snapshot_dir"]), cfg["num_sample_generations"])
        samples = sample_generations(model, tokenizer, prompts, max_new_tokens=cfg["max_new_tokens"])
    if kind in ("rloo", "grpo"):
        evaluation["warnings"] = online_warnings(files)
    write_json_atomic(files.output / "evaluation.json", evaluation)
    return {"evaluation": evaluation, "samples": samples}


ONLINE_KL_BOUND = 6.0  # nats per response: what PPO's adaptive controller aims at by default


def online_warnings(files: JobFiles) -> list[dict]:
    """The reward-hacking warnings of a PPO job, for TRL's RLOO and GRPO: their logged per-token KL times the mean
    completion length is the per-response KL; a completion clipped at the length limit never ended."""
    from .ppo import hacking_warnings

    history = []
    for row in JsonlTail(files.metrics).read():
        values = row["values"]
        if "reward" not in values or "kl" not in values:
            continue  # an evaluation row, or a log without the online figures
        length = values.get("completions/mean_length") or 0.0
        history.append({"objective/kl": values["kl"] * max(length, 1.0), "objective/scores": values["reward"],
                        "response_length": length, "no_eos_fraction": values.get("completions/clipped_ratio", 0.0)})
    return hacking_warnings(history, None, kl_bound=ONLINE_KL_BOUND)
