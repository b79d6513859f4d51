"""Closing the loop: trained models write the next round of candidates, a reward model answers items as an
annotator would, and a policy critiques and revises its own answers against a constitution.

Like every engine run these read their inputs from the work folder (the worker wrote them from the database)
and write their outputs there; the worker turns the outputs into items and answers, all or nothing.
"""

from __future__ import annotations

import random

import torch

from .chat import load_tokenizer
from .files import JobFiles, read_jsonl, write_json_atomic, write_jsonl
from .ppo import generate, load_reward_scorer

MAX_RESAMPLES = 3  # tries for a candidate that differs from the others of its item


def _policy(folder: str):
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(folder)
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(), tokenizer


def _progress(files: JobFiles, done: int, total: int) -> bool:
    """Report progress; True when a cancel was asked for (stop within one batch)."""
    files.event("step", step=done, max_steps=total)
    return files.cancel_requested()


def run_generate(spec: dict, files: JobFiles) -> dict:
    """N candidates per prompt: samples of one policy, or one from it and one from the model it is compared with."""
    cfg = spec["config"]
    torch.manual_seed(cfg["seed"])
    prompts = read_jsonl(spec["prompts_file"])
    models = [(spec["base_model_name"], *_policy(spec["base_model_dir"]))]
    if spec.get("compare_model_dir"):
        models.append((spec["compare_model_name"], *_policy(spec["compare_model_dir"])))
    k = cfg["candidates_per_prompt"]
    files.event("train_begin", step=0, max_steps=len(prompts), resumed_from=None)
    rows, skipped = [], 0
    batch = cfg["batch_size"]
    for start in range(0, len(prompts), batch):
        chunk = prompts[start:start + batch]
        candidates: list[list[dict]] = [[] for _ in chunk]
        for slot in range(k):
            name, model, tokenizer = models[slot % len(models)]
            for _ in range(MAX_RESAMPLES):
                missing = [i for i, c in enumerate(candidates) if len(c) == slot]
                if not missing:
                    break
                out = generate(model, tokenizer, [chunk[i]["prompt"] for i in missing],
                               max_new_tokens=cfg["max_new_tokens"], temperature=cfg["temperature"],
                               top_p=cfg["top_p"])
                for i, text in zip(missing, out.texts, strict=True):
                    text = text.strip()
                    if text and text not in {c["text"] for c in candidates[i]}:
                        candidates[i].append({"text": text, "model": name})
        for prompt, found in zip(chunk, candidates, strict=True):
            if len(found) < k:
                skipped += 1  # the model kept writing the same (or nothing): no item is better than a broken one
                continue
            rows.append({"prompt_id": prompt["prompt_id"], "prompt": prompt["prompt"], "responses": found})
        if _progress(files, min(start + batch, len(prompts)), len(prompts)):
            return {"status": "cancelled", "step": min(start + batch, len(prompts))}
    write_jsonl(files.output / "generations.jsonl", rows)
    return {"status": "succeeded", "step": len(prompts), "evaluation": {"prompts": len(prompts), "items": len(rows),
            "skipped_prompts": skipped}, "samples": rows[:10], "summary": {}}


def run_ai_annotate(spec: dict, files: JobFiles) -> dict:
    """The reward model's score of every response of every item: the worker turns them into answers."""
    scorer = load_reward_scorer(spec["reward_model_dir"])
    items = read_jsonl(spec["items_file"])
    files.event("train_begin", step=0, max_steps=len(items), resumed_from=None)
    out = []
    for start in range(0, len(items), 16):
        chunk = items[start:start + 16]
        flat = [(item, r) for item in chunk for r in item["responses"]]
        scores = scorer([item["prompt"] for item, _ in flat], [r["text"] for _, r in flat]).tolist()
        by_item: dict[int, dict] = {}
        for (item, response), score in zip(flat, scores, strict=True):
            by_item.setdefault(item["item_id"], {})[str(response["id"])] = score
        out.extend({"item_id": item_id, "scores": s} for item_id, s in by_item.items())
        if _progress(files, min(start + 16, len(items)), len(items)):
            return {"status": "cancelled", "step": min(start + 16, len(items))}
    write_jsonl(files.output / "scores.jsonl", out)
    return {"status": "succeeded", "step": len(items), "evaluation": {"items": len(out)}, "samples": out[:10],
            "summary": {}}


def run_constitutional(spec: dict, files: JobFiles) -> dict:
    """Answer, critique against a randomly drawn principle, revise (Bai et al. 2022, the supervised stage)."""
    cfg = spec["config"]
    torch.manual_seed(cfg["seed"])
    rng = random.Random(cfg["seed"])
    model, tokenizer = _policy(spec["base_model_dir"])
    principles = spec["constitution"]["principles"]
    prompts = read_jsonl(spec["prompts_file"])
    files.event("train_begin", step=0, max_steps=len(prompts), resumed_from=None)
    rows = []

    def answer(conversations):
        return [t.strip() for t in generate(model, tokenizer, conversations, max_new_tokens=cfg["max_new_tokens"],
                                            temperature=cfg["temperature"]).texts]

    for start in range(0, len(prompts), cfg["batch_size"]):
        chunk = prompts[start:start + cfg["batch_size"]]
        drawn = [principles[rng.randrange(len(principles))] for _ in chunk]
        originals = answer([p["prompt"] for p in chunk])
        critique_turns = [[*p["prompt"], {"role": "assistant", "content": o}, {"role": "user", "content": d["critique"]}]
                          for p, o, d in zip(chunk, originals, drawn, strict=True)]
        critiques = answer(critique_turns)
        revision_turns = [[*c, {"role": "assistant", "content": k}, {"role": "user", "content": d["revision"]}]
                          for c, k, d in zip(critique_turns, critiques, drawn, strict=True)]
        revisions = answer(revision_turns)
        for p, o, k, r, d in zip(chunk, originals, critiques, revisions, drawn, strict=True):
            rows.append({"prompt_id": p["prompt_id"], "prompt": p["prompt"], "original": o, "critique": k,
                         "revision": r, "principle": d})
        if _progress(files, min(start + cfg["batch_size"], len(prompts)), len(prompts)):
            return {"status": "cancelled", "step": min(start + cfg["batch_size"], len(prompts))}
    write_jsonl(files.output / "constitutional.jsonl", rows)
    usable = [r for r in rows if r["original"] and r["revision"] and r["original"] != r["revision"]]
    write_json_atomic(files.output / "evaluation.json", {"prompts": len(rows), "pairs": len(usable)})
    return {"status": "succeeded", "step": len(prompts), "evaluation": {"prompts": len(rows), "pairs": len(usable)},
            "samples": rows[:10], "summary": {}}
