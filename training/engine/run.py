"""One training run, top to bottom: read the spec, build TRL's trainer for the kind, train (resuming from the
last checkpoint if there is one), save, evaluate, and write the result for the worker.

Run as `python -m training.engine run <work>/spec.json` (or under `accelerate launch` for several GPUs). It
never talks to the database: everything goes through the work folder (see `files.py`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch

from . import data, evaluate
from .callbacks import JobCallback
from .chat import load_tokenizer
from .config import OWN_LOOPS
from .files import JobFiles, write_json_atomic, write_jsonl

logger = logging.getLogger("training.engine")
LIBRARIES = ("torch", "transformers", "trl", "peft", "accelerate", "datasets")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device_defaults(cfg: dict) -> dict:
    """bf16 and gradient checkpointing on GPU; fp32 and no checkpointing on CPU, where both only cost time."""
    gpu = torch.cuda.is_available()
    bf16 = cfg["bf16"] if cfg["bf16"] is not None else bool(gpu and torch.cuda.is_bf16_supported())
    checkpointing = cfg["gradient_checkpointing"] if cfg["gradient_checkpointing"] is not None else gpu
    return {"use_cpu": not gpu, "bf16": bf16, "fp16": False, "gradient_checkpointing": checkpointing}


def trl_args(kind: str, cfg: dict, files: JobFiles, *, has_test: bool) -> dict:
    """Our resolved config as the keyword arguments of TRL's config class for the kind."""
    common = {name: cfg[name] for name in (
        "max_steps", "num_train_epochs", "learning_rate", "per_device_train_batch_size",
        "gradient_accumulation_steps", "lr_scheduler_type", "weight_decay", "max_grad_norm", "logging_steps",
        "save_steps", "seed", "max_length")}
    evaluate_steps = bool(cfg["eval_steps"] and has_test)
    common.update(
        output_dir=str(files.checkpoints), warmup_steps=cfg["warmup_ratio"], data_seed=cfg["seed"],
        per_device_eval_batch_size=cfg["per_device_train_batch_size"], save_strategy="steps", save_total_limit=2,
        eval_strategy="steps" if evaluate_steps else "no", eval_steps=cfg["eval_steps"] if evaluate_steps else None,
        report_to=[], disable_tqdm=True, dataloader_num_workers=0, logging_first_step=True,
        **device_defaults(cfg))
    if kind == "sft":
        common.update(assistant_only_loss=cfg["assistant_only_loss"], packing=cfg["packing"])
    elif kind == "reward":
        common.update(center_rewards_coefficient=cfg["center_rewards_coefficient"],
                      disable_dropout=cfg["disable_dropout"])
    elif kind == "dpo":
        common.update(beta=cfg["beta"], loss_type=[cfg["loss_type"]], label_smoothing=cfg["label_smoothing"])
    elif kind == "kto":
        common.update(beta=cfg["beta"], loss_type=cfg["loss_type"], desirable_weight=cfg["desirable_weight"],
                      undesirable_weight=cfg["undesirable_weight"])
    elif kind in ("rloo", "grpo"):
        common.pop("max_length")
        common.update({name: cfg[name] for name in ("num_generations", "max_completion_length", "temperature",
                                                    "beta", "num_iterations", "epsilon", "use_vllm")})
        if cfg["use_vllm"]:
            check_vllm()
            common["vllm_mode"] = "colocate"  # vLLM inside the training process, on its GPU: no server to run
    return common


def check_vllm() -> None:
    """vLLM rollouts are optional: a worker without it (or without a GPU) says so instead of failing in TRL."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise SystemExit("use_vllm: vLLM is not installed on this worker (install it on a GPU worker, or turn "
                         "use_vllm off)")
    if not torch.cuda.is_available():
        raise SystemExit("use_vllm: vLLM generates on a GPU and this worker has none (turn use_vllm off)")


def lora_config(cfg: dict, task_type: str):
    if not cfg["use_peft"]:
        return None
    from peft import LoraConfig

    targets = cfg["lora_target_modules"]
    return LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                      task_type=task_type,
                      target_modules=[t.strip() for t in targets.split(",")] if targets else "all-linear")


def load_causal(path: str):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)


def load_reward_model(path: str, tokenizer):
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def build_trainer(spec: dict, cfg: dict, tokenizer, train, test, files: JobFiles):
    """TRL's trainer for the kind, with our settings. The reference of DPO/KTO is the base unless given,
    and with LoRA it is the base itself with its adapter switched off (TRL does that when ref_model is None)."""
    import trl

    kind, base = spec["kind"], spec["base_model_dir"]
    args = trl_args(kind, cfg, files, has_test=test is not None)
    common = {"train_dataset": train, "eval_dataset": test, "processing_class": tokenizer}
    if kind == "sft":
        return trl.SFTTrainer(model=load_causal(base), args=trl.SFTConfig(**args),
                              peft_config=lora_config(cfg, "CAUSAL_LM"), **common)
    if kind == "reward":
        return trl.RewardTrainer(model=load_reward_model(base, tokenizer), args=trl.RewardConfig(**args),
                                 peft_config=lora_config(cfg, "SEQ_CLS"), **common)
    if kind in ("rloo", "grpo"):
        reward_tokenizer = load_tokenizer(spec["reward_model_dir"])
        trainer_class, config_class = {"rloo": (trl.RLOOTrainer, trl.RLOOConfig),
                                       "grpo": (trl.GRPOTrainer, trl.GRPOConfig)}[kind]
        return trainer_class(model=load_causal(base), reward_funcs=load_reward_model(spec["reward_model_dir"],
                                                                                     reward_tokenizer),
                             reward_processing_classes=reward_tokenizer, args=config_class(**args),
                             peft_config=lora_config(cfg, "CAUSAL_LM"), **common)
    reference = None if cfg["use_peft"] else load_causal(spec.get("reference_model_dir") or base)
    trainer_class, config_class = {"dpo": (trl.DPOTrainer, trl.DPOConfig), "kto": (trl.KTOTrainer, trl.KTOConfig)}[kind]
    return trainer_class(model=load_causal(base), ref_model=reference, args=config_class(**args),
                         peft_config=lora_config(cfg, "CAUSAL_LM"), **common)


def check_kept_pairs(given: int, kept: int, max_length: int | None) -> None:
    """TRL's RewardTrainer drops the pairs longer than max_length rather than truncating them: say how many, and
    refuse to train on none."""
    if kept == 0:
        raise SystemExit(f"all {given} training pairs are longer than max_length ({max_length} tokens), and the "
                         "reward trainer drops such pairs: raise config.max_length")
    if kept < given:
        logger.warning("%d of %d training pairs are longer than max_length (%s tokens) and were dropped",
                       given - kept, given, max_length)


def save_model(trainer, tokenizer, folder: Path) -> dict:
    """A plain `save_pretrained` folder (LoRA merged in), and what the registry records of it."""
    model = trainer.model
    peft = hasattr(model, "merge_and_unload")
    if peft:
        model = model.merge_and_unload()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    task = "sequence-classification" if "SequenceClassification" in type(model).__name__ else "causal-lm"
    return {"architecture": type(model).__name__, "task": task, "peft_merged": peft,
            "parameter_count": sum(p.numel() for p in model.parameters())}


def own_loop(kind: str):
    """The kinds that are our own loops rather than a TRL trainer."""
    from . import loop, policy_eval, ppo

    return {"ppo": ppo.run_ppo, "evaluate": policy_eval.run_evaluate, "generate": loop.run_generate,
            "ai_annotate": loop.run_ai_annotate, "constitutional": loop.run_constitutional}[kind]


def write_outputs(spec: dict, files: JobFiles, result: dict) -> None:
    """What every finished job leaves beside its model: config, versions, lineage, samples, and the result."""
    if result["status"] == "succeeded":
        write_json_atomic(files.output / "job_config.json", {"kind": spec["kind"], "config": spec["config"]})
        write_json_atomic(files.output / "versions.json", {name: version(name) for name in LIBRARIES})
        write_json_atomic(files.output / "lineage.json", {"job_id": spec["job_id"], "snapshot_fingerprint":
                                                          spec["fingerprint"], "base_model": spec["base_model_name"]})
        write_jsonl(files.output / "samples.jsonl", result["samples"])
    write_json_atomic(files.result, result)


def run(spec_path: Path) -> int:
    spec = json.loads(Path(spec_path).read_text())
    files = JobFiles(Path(spec["work_dir"]))
    kind, cfg = spec["kind"], spec["config"]
    if kind in OWN_LOOPS:
        files.output.mkdir(parents=True, exist_ok=True)
        result = own_loop(kind)(spec, files)
        if result is not None:  # None: not the main process of a multi-process run
            write_outputs(spec, files, result)
        return 0
    seed_everything(cfg["seed"])
    tokenizer = load_tokenizer(spec["base_model_dir"], training_markers=kind == "sft" and cfg["assistant_only_loss"])
    use_margin = kind == "reward" and cfg["use_margin"]
    train = data.load_split(spec["snapshot_dir"], kind, "train", use_margin=use_margin)
    test = data.load_split(spec["snapshot_dir"], kind, "test", use_margin=use_margin)
    if train is None:
        raise SystemExit(f"the snapshot has no {data.FORMAT[kind]}-train rows")
    trainer = build_trainer(spec, cfg, tokenizer, train, test, files)
    if kind == "reward":
        check_kept_pairs(len(train), len(trainer.train_dataset), cfg["max_length"])
    resume = files.latest_checkpoint()
    callback = JobCallback(files, resumed_from=int(resume.name.rsplit("-", 1)[1]) if resume else None)
    trainer.add_callback(callback)
    if kind in ("dpo", "rloo", "grpo"):
        from .policy_eval import checkpoint_evaluation

        evaluation = checkpoint_evaluation(trainer, spec, files)
        if evaluation is not None:
            trainer.add_callback(evaluation)
    if resume:
        logger.info("resuming from %s", resume)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if not trainer.is_world_process_zero():
        return 0
    if callback.cancelled:
        write_outputs(spec, files, {"status": "cancelled", "step": trainer.state.global_step})
        return 0
    files.output.mkdir(parents=True, exist_ok=True)
    results = evaluate.after_training(spec, trainer, tokenizer, test, files)
    info = save_model(trainer, tokenizer, files.output / "model")
    write_outputs(spec, files, {"status": "succeeded", "step": trainer.state.global_step, "model": info,
                                "evaluation": results["evaluation"], "summary": callback.summary,
                                "samples": results["samples"]})
    return 0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stdout)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return run(Path(argv[0]))
