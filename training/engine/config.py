"""One config dataclass per job kind, with TRL's names wherever TRL has the setting.

Pure Python (no torch, no Django): the web process validates launches with it and serves
each kind's JSON schema from it; the engine turns a resolved config into TRL's own config.
Every field carries a `help` text and, where it has one, a range; `resolve` refuses unknown
keys, wrong types and out-of-range values with an error naming the field, and returns the
config with every default filled in, which is what a job stores.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any


class ConfigError(ValueError):
    """Bad config values; `errors` is [{"field": "config.<name>", "message": ...}]."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def setting(default, help: str, *, minimum=None, maximum=None, exclusive_minimum=None, choices=None):
    """A config field: its default, the help text shown in the form, and its allowed range."""
    meta = {"help": help, "minimum": minimum, "maximum": maximum, "exclusive_minimum": exclusive_minimum,
            "choices": tuple(choices) if choices else None}
    return field(default=default, metadata=meta)


SCHEDULERS = ("linear", "cosine", "constant", "constant_with_warmup")


@dataclass
class RunConfig:
    """Settings every job kind shares."""

    max_steps: int = setting(100, "Optimizer steps to run; -1 runs num_train_epochs instead (TRL kinds).",
                             minimum=-1, maximum=10_000_000)
    learning_rate: float = setting(2e-5, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    weight_decay: float = setting(0.0, "AdamW weight decay.", minimum=0, maximum=1)
    max_grad_norm: float = setting(1.0, "Gradient clipping norm (0 turns clipping off).", minimum=0, maximum=1e6)
    logging_steps: int = setting(1, "Log metrics every this many steps.", minimum=1, maximum=100_000)
    save_steps: int = setting(50, "Save a checkpoint (the point a restarted job resumes from) every this many steps.",
                              minimum=1, maximum=1_000_000)
    seed: int = setting(42, "Seeds the model head, dropout and the data order.", minimum=0, maximum=2**32 - 1)
    bf16: bool | None = setting(None, "bf16 mixed precision (none: on where the GPU supports it, off on CPU).")
    gradient_checkpointing: bool | None = setting(None, "Recompute activations to save memory (none: on GPU only; "
                                                        "it only slows a CPU down).")
    use_peft: bool = setting(False, "Train LoRA adapters (peft) instead of every weight.")
    lora_r: int = setting(16, "LoRA rank.", minimum=1, maximum=1024)
    lora_alpha: int = setting(32, "LoRA scaling numerator (scale = lora_alpha / lora_r).", minimum=1, maximum=4096)
    lora_dropout: float = setting(0.05, "Dropout on the LoRA path.", minimum=0, maximum=1)
    lora_target_modules: str | None = setting(None, "Comma-separated module names to adapt (none: all linear "
                                                    "layers).")
    num_gpus: int = setting(1, "GPUs for this job; more than 1 runs it through `accelerate launch` (DeepSpeed or "
                               "FSDP as accelerate's config says).", minimum=1, maximum=1024)


@dataclass
class TrainConfig(RunConfig):
    """The settings of TRL's trainers (transformers' `TrainingArguments` names)."""

    num_train_epochs: float = setting(1.0, "Passes over the training split; used when max_steps is -1.",
                                      exclusive_minimum=0, maximum=1000)
    per_device_train_batch_size: int = setting(8, "Examples per device per step (pairs for reward and DPO).",
                                               minimum=1, maximum=4096)
    gradient_accumulation_steps: int = setting(1, "Micro-batches accumulated into one optimizer step.", minimum=1,
                                               maximum=1024)
    lr_scheduler_type: str = setting("linear", "Learning-rate schedule after warm-up.", choices=SCHEDULERS)
    warmup_ratio: float = setting(0.0, "Share of the steps spent warming the learning rate up from 0.", minimum=0,
                                  maximum=1)
    eval_steps: int | None = setting(None, "Also evaluate on the test split every this many steps (none: at the end "
                                           "only).", minimum=1, maximum=1_000_000)
    max_length: int | None = setting(1024, "Longest tokenized example (none: no limit): SFT, DPO and KTO truncate "
                                             "longer ones; the reward trainer drops longer pairs.",
                                     minimum=8, maximum=1_000_000)


@dataclass
class GenerationConfig:
    """Sample generations written with a causal model's artifacts."""

    num_sample_generations: int = setting(4, "Evaluation prompts to answer with the trained model at the end.",
                                          minimum=0, maximum=1000)
    max_new_tokens: int = setting(64, "Longest sample generation, in tokens.", minimum=1, maximum=8192)


@dataclass
class CheckpointEvalConfig:
    checkpoint_eval_prompts: int = setting(8, "Held-out prompts scored by the reward model at every checkpoint (the "
                                              "reward-against-KL curve; 0: none).", minimum=0, maximum=1000)


@dataclass
class SFTJobConfig(TrainConfig, GenerationConfig):
    learning_rate: float = setting(2e-5, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    assistant_only_loss: bool = setting(True, "Loss on the assistant's tokens only (every assistant turn of a "
                                              "multi-turn conversation).")
    packing: bool = setting(False, "Pack several conversations into each sequence of max_length.")


@dataclass
class RewardJobConfig(TrainConfig):
    learning_rate: float = setting(1e-4, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    use_margin: bool = setting(False, "Subtract the snapshot's margin (the consensus strength) inside the "
                                      "Bradley-Terry loss, as Llama 2 did.")
    center_rewards_coefficient: float | None = setting(None, "Weight of a penalty on the mean reward, keeping "
                                                             "rewards centred on 0 (none: off).", minimum=0,
                                                       maximum=100)
    disable_dropout: bool = setting(True, "Turn dropout off in the model.")


DPO_LOSSES = ("sigmoid", "hinge", "ipo", "robust", "exo_pair", "nca_pair", "bco_pair", "sppo_hard", "aot",
              "apo_zero", "apo_down", "discopop", "sft")


@dataclass
class DPOJobConfig(TrainConfig, GenerationConfig, CheckpointEvalConfig):
    learning_rate: float = setting(1e-6, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    beta: float = setting(0.1, "β: how far the policy may move from the reference (higher: closer).",
                          exclusive_minimum=0, maximum=1000)
    loss_type: str = setting("sigmoid", "DPO loss variant (TRL's names; sigmoid is the paper's).", choices=DPO_LOSSES)
    label_smoothing: float = setting(0.0, "Assumed share of flipped labels (cDPO); 0 for the paper's loss.",
                                     minimum=0, maximum=0.5)


@dataclass
class KTOJobConfig(TrainConfig, GenerationConfig):
    learning_rate: float = setting(1e-6, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    beta: float = setting(0.1, "β: how far the policy may move from the reference.", exclusive_minimum=0,
                          maximum=1000)
    desirable_weight: float = setting(1.0, "Loss weight of desirable completions.", exclusive_minimum=0, maximum=100)
    undesirable_weight: float = setting(1.0, "Loss weight of undesirable completions.", exclusive_minimum=0,
                                        maximum=100)
    loss_type: str = setting("kto", "KTO loss variant.", choices=("kto", "apo_zero_unpaired"))


@dataclass
class PPOJobConfig(RunConfig, GenerationConfig, CheckpointEvalConfig):
    """Our PPO (training/engine/ppo.py); names follow TRL 1.12's PPOConfig where it had the setting."""

    max_steps: int = setting(100, "PPO updates: each samples a rollout batch, then optimises on it.", minimum=1,
                             maximum=10_000_000)
    learning_rate: float = setting(1e-5, "AdamW learning rate of policy and value model.", exclusive_minimum=0,
                                   maximum=1.0)
    rollout_batch_size: int = setting(8, "Prompts sampled per update.", minimum=1, maximum=65536)
    per_device_train_batch_size: int = setting(4, "Responses per PPO minibatch.", minimum=1, maximum=65536)
    num_ppo_epochs: int = setting(4, "Passes over each rollout batch.", minimum=1, maximum=100)
    cliprange: float = setting(0.2, "ε of the clipped policy objective.", exclusive_minimum=0, maximum=10)
    cliprange_value: float = setting(0.2, "ε of the clipped value loss.", exclusive_minimum=0, maximum=1e6)
    vf_coef: float = setting(0.1, "Weight of the value loss.", minimum=0, maximum=1000)
    ent_coef: float = setting(0.0, "Weight of the entropy bonus (0: none).", minimum=0, maximum=10)
    ptx_coef: float = setting(0.0, "Weight of an SFT loss on the snapshot's demonstrations (InstructGPT's PPO-ptx; "
                                   "0: none).", minimum=0, maximum=1000)
    gamma: float = setting(1.0, "GAE discount γ.", minimum=0, maximum=1)
    lam: float = setting(0.95, "GAE λ.", minimum=0, maximum=1)
    kl_coef: float = setting(0.05, "β: weight of the per-token KL penalty against the reference.", minimum=0,
                             maximum=1000)
    adaptive_kl: bool = setting(False, "Adapt β towards target_kl (Ziegler et al.).")
    target_kl: float = setting(6.0, "KL (nats per response) the adaptive controller aims at.", exclusive_minimum=0,
                               maximum=1e6)
    kl_horizon: int = setting(10000, "Horizon of the adaptive controller, in responses.", minimum=1,
                              maximum=100_000_000)
    max_approx_kl: float | None = setting(0.5, "Stop an update's remaining epochs once the approximate KL between "
                                               "the new and the sampling policy passes this (none: never).",
                                          exclusive_minimum=0, maximum=1e6)
    temperature: float = setting(0.7, "Sampling temperature of rollouts.", exclusive_minimum=0, maximum=10)
    top_p: float = setting(1.0, "Nucleus sampling of rollouts.", exclusive_minimum=0, maximum=1)
    response_length: int = setting(32, "Longest rollout response, in tokens.", minimum=1, maximum=8192)
    max_prompt_length: int = setting(256, "Prompts longer than this many tokens are cut from the left.", minimum=8,
                                     maximum=100_000)
    missing_eos_penalty: float | None = setting(1.0, "Subtracted from the score of a response that never ends "
                                                     "(none: no penalty).", minimum=0, maximum=1000)
    whiten_rewards: bool = setting(True, "Normalise reward-model scores to mean 0, std 1 on reference samples.")
    num_sample_generations: int = setting(4, "Held-out prompts answered (policy and reference) at the end.",
                                          minimum=0, maximum=1000)
    max_new_tokens: int = setting(32, "Longest evaluation sample, in tokens.", minimum=1, maximum=8192)


@dataclass
class OnlineJobConfig(TrainConfig, GenerationConfig, CheckpointEvalConfig):
    """RLOO and GRPO through TRL, with our reward model as the reward function. β > 0 by default: TRL's GRPO
    defaults to no KL term; ours keeps the policy on a leash to the reference."""

    learning_rate: float = setting(1e-6, "Peak learning rate of AdamW.", exclusive_minimum=0, maximum=1.0)
    per_device_train_batch_size: int = setting(8, "Completions per device per step (a multiple of "
                                                  "num_generations).", minimum=1, maximum=4096)
    num_generations: int = setting(4, "Completions sampled per prompt (the group).", minimum=2, maximum=1024)
    max_completion_length: int = setting(64, "Longest completion, in tokens.", minimum=1, maximum=32768)
    temperature: float = setting(1.0, "Sampling temperature.", exclusive_minimum=0, maximum=10)
    beta: float = setting(0.05, "β: weight of the KL term against the reference.", minimum=0, maximum=1000)
    num_iterations: int = setting(1, "Optimisation passes per generated batch (μ).", minimum=1, maximum=100)
    epsilon: float = setting(0.2, "ε of the clipped objective.", exclusive_minimum=0, maximum=10)
    use_vllm: bool = setting(False, "Generate with vLLM (GPU workers where it is installed).")


@dataclass
class EvaluateJobConfig:
    """The `evaluate` job: a policy against its reference on held-out prompts, under a reward model."""

    num_prompts: int = setting(64, "Held-out prompts to answer (the snapshot's test split first).", minimum=1,
                               maximum=100_000)
    max_new_tokens: int = setting(64, "Longest answer, in tokens.", minimum=1, maximum=8192)
    temperature: float = setting(1.0, "Sampling temperature of policy and reference.", exclusive_minimum=0,
                                 maximum=10)
    best_of_n: int = setting(4, "n of the best-of-n baseline (the reward model picks one of n reference samples; "
                                "0 or 1: none).", minimum=0, maximum=64)
    seed: int = setting(42, "Seeds the sampling.", minimum=0, maximum=2**32 - 1)
    num_gpus: int = setting(1, "GPUs for this job.", minimum=1, maximum=1024)


@dataclass
class GenerateJobConfig:
    """The `generate` job: a policy writes the next round of candidates into a project."""

    target_project: int | None = setting(None, "The pairwise or ranking project the new items go to (required).",
                                         minimum=1)
    source_project: int | None = setting(None, "Take the prompts of this project (else: of the job's snapshot).",
                                         minimum=1)
    candidates_per_prompt: int | None = setting(None, "Responses per item (none: what the target project shows: 2, "
                                                      "or its ranking size).", minimum=2, maximum=9)
    compare_with_model: int | None = setting(None, "A second policy whose answers alternate with this one's (say, "
                                                   "the previous round's model), so annotators compare the two.",
                                             minimum=1)
    max_prompts: int = setting(200, "At most this many prompts.", minimum=1, maximum=1_000_000)
    temperature: float = setting(0.9, "Sampling temperature.", exclusive_minimum=0, maximum=10)
    top_p: float = setting(0.95, "Nucleus sampling.", exclusive_minimum=0, maximum=1)
    max_new_tokens: int = setting(128, "Longest candidate, in tokens.", minimum=1, maximum=8192)
    batch_size: int = setting(8, "Prompts generated at once.", minimum=1, maximum=1024)
    seed: int = setting(42, "Seeds the sampling.", minimum=0, maximum=2**32 - 1)
    num_gpus: int = setting(1, "GPUs for this job.", minimum=1, maximum=1024)


@dataclass
class AIAnnotateJobConfig:
    """The `ai_annotate` job: a reward model answers a project's items as an annotator."""

    project: int | None = setting(None, "The pairwise or ranking project to answer (required).", minimum=1)
    take_overlap_slots: bool = setting(False, "Count the model's answers towards items' overlap (by default they "
                                              "never take a slot meant for people).")
    tie_margin: float = setting(0.05, "Score differences below this are ties (pairwise, when ties are allowed).",
                                minimum=0, maximum=1e6)
    strength_step: float = setting(0.5, "Score difference per strength level (1..3) of a pairwise answer.",
                                   exclusive_minimum=0, maximum=1e6)
    max_items: int = setting(10_000, "At most this many items, oldest first.", minimum=1, maximum=10_000_000)
    num_gpus: int = setting(1, "GPUs for this job.", minimum=1, maximum=1024)


@dataclass
class ConstitutionalJobConfig:
    """The `constitutional` job: answer, critique against a principle, revise; the pair goes to a dataset or a
    project."""

    project: int | None = setting(None, "The project whose prompts are answered (required).", minimum=1)
    constitution: int | None = setting(None, "The constitution (of that project) to draw principles from "
                                             "(required).", minimum=1)
    destination: str = setting("dataset", "dataset: a preference snapshot (revision preferred); project: pairwise "
                                          "items for people to confirm.", choices=("dataset", "project"))
    target_project: int | None = setting(None, "The pairwise project for destination 'project'.", minimum=1)
    max_prompts: int = setting(100, "At most this many prompts.", minimum=1, maximum=1_000_000)
    temperature: float = setting(0.7, "Sampling temperature.", exclusive_minimum=0, maximum=10)
    max_new_tokens: int = setting(128, "Longest answer, critique or revision, in tokens.", minimum=1, maximum=8192)
    batch_size: int = setting(8, "Prompts answered at once.", minimum=1, maximum=1024)
    seed: int = setting(42, "Seeds the sampling and the principles drawn.", minimum=0, maximum=2**32 - 1)
    num_gpus: int = setting(1, "GPUs for this job.", minimum=1, maximum=1024)


@dataclass(frozen=True)
class Kind:
    """What a job kind needs: its config, the snapshot file it reads, and the models it takes."""

    name: str
    label: str
    description: str
    config: type
    snapshot_format: str  # the snapshot file family it trains on: sft, preference, kto, prompts
    output_kind: str  # the registered model's kind: policy | reward
    base_model_tasks: tuple[str, ...]
    reference_model: bool = False
    reward_model: bool = False
    reward_model_optional: bool = False  # DPO: a reward model only for the checkpoint evaluations
    snapshot: str = "required"  # required | optional | none
    base_model: bool = True


CAUSAL, CLASSIFIER, ENCODER = "causal-lm", "sequence-classification", "encoder"
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("sft", "Supervised fine-tuning", "Fine-tune a causal LM on demonstrations (TRL SFTTrainer).",
         SFTJobConfig, "sft", "policy", (CAUSAL,)),
    Kind("reward", "Reward model", "Train a Bradley-Terry reward model on preference pairs (TRL RewardTrainer).",
         RewardJobConfig, "preference", "reward", (ENCODER, CLASSIFIER, CAUSAL)),
    Kind("dpo", "DPO", "Direct preference optimisation against a frozen reference (TRL DPOTrainer).",
         DPOJobConfig, "preference", "policy", (CAUSAL,), reference_model=True, reward_model_optional=True),
    Kind("kto", "KTO", "Kahneman-Tversky optimisation on desirable/undesirable completions (TRL KTOTrainer).",
         KTOJobConfig, "kto", "policy", (CAUSAL,), reference_model=True),
    Kind("rloo", "RLOO", "REINFORCE leave-one-out against our reward model (TRL RLOOTrainer).",
         OnlineJobConfig, "prompts", "policy", (CAUSAL,), reward_model=True),
    Kind("grpo", "GRPO", "Group-relative policy optimisation against our reward model, with a KL term "
         "(TRL GRPOTrainer).", OnlineJobConfig, "prompts", "policy", (CAUSAL,), reward_model=True),
    Kind("ppo", "PPO", "PPO against a reward model with a KL leash to the reference (our trainer).",
         PPOJobConfig, "prompts", "policy", (CAUSAL,), reference_model=True, reward_model=True),
    Kind("evaluate", "Evaluate", "A policy against its reference on held-out prompts under a reward model: win "
         "rate, reward, KL, length, best-of-n.", EvaluateJobConfig, "prompts", "", (CAUSAL,), reference_model=True,
         reward_model=True),
    Kind("generate", "Generate a round", "A policy writes the next candidates into a pairwise or ranking project.",
         GenerateJobConfig, "prompts", "", (CAUSAL,), snapshot="optional"),
    Kind("ai_annotate", "AI annotator", "A reward model answers a project's items beside the people.",
         AIAnnotateJobConfig, "", "", (), reward_model=True, snapshot="none", base_model=False),
    Kind("constitutional", "Constitutional AI", "Answer, critique and revise against a constitution's principles.",
         ConstitutionalJobConfig, "", "", (CAUSAL,), snapshot="none"),
)}


# The kinds that are our own loops rather than a TRL trainer.
OWN_LOOPS = ("ppo", "evaluate", "generate", "ai_annotate", "constitutional")
# Those that run in one process on one device (PPO, like the TRL kinds, runs under `accelerate launch` too).
SINGLE_PROCESS = ("evaluate", "generate", "ai_annotate", "constitutional")


def _allowed_types(annotation) -> tuple[tuple[type, ...], bool]:
    """(python types accepted, nullable) for a field's annotation."""
    hint = eval(annotation, vars(typing)) if isinstance(annotation, str) else annotation  # noqa: S307 - our own code
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union \
        else (hint,)
    nullable = type(None) in args
    return tuple(a for a in args if a is not type(None)), nullable


def _check(name: str, value: Any, f: dataclasses.Field) -> str | None:
    """The message for a bad value, or None."""
    kinds, nullable = _allowed_types(f.type)
    if value is None:
        return None if nullable else "must not be null"
    base = kinds[0]
    if base is bool:
        if not isinstance(value, bool):
            return "must be true or false"
    elif base is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return "must be a number"
    elif base is str and not isinstance(value, str):
        return "must be a string"
    meta = f.metadata
    if meta.get("choices") and value not in meta["choices"]:
        return f"must be one of {list(meta['choices'])}"
    if meta.get("minimum") is not None and value < meta["minimum"]:
        return f"must be at least {meta['minimum']}"
    if meta.get("exclusive_minimum") is not None and value <= meta["exclusive_minimum"]:
        return f"must be greater than {meta['exclusive_minimum']}"
    if meta.get("maximum") is not None and value > meta["maximum"]:
        return f"must be at most {meta['maximum']}"
    return None


def resolve(kind: str, raw: Any, *, prefix: str = "config") -> dict:
    """The full config of a job of this kind, defaults filled in; ConfigError naming each bad field."""
    if kind not in KINDS:
        raise ConfigError([{"field": "kind", "message": f"unknown kind; expected one of {sorted(KINDS)}"}])
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError([{"field": prefix, "message": "must be an object of settings"}])
    known = {f.name: f for f in fields(KINDS[kind].config)}
    errors = [{"field": f"{prefix}.{key}", "message": f"unknown setting for a {kind} job"}
              for key in sorted(set(raw) - set(known))]
    resolved = {}
    for name, f in known.items():
        value = raw.get(name, f.default if f.default is not MISSING else None)
        if isinstance(value, int) and not isinstance(value, bool) and _allowed_types(f.type)[0][0] is float:
            value = float(value)
        message = _check(name, value, f)
        if message:
            errors.append({"field": f"{prefix}.{name}", "message": message})
        resolved[name] = value
    if errors:
        raise ConfigError(errors)
    return resolved


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def json_schema(kind: str) -> dict:
    """The JSON schema of a kind's config: the web form is generated from it."""
    properties = {}
    for f in fields(KINDS[kind].config):
        kinds, nullable = _allowed_types(f.type)
        json_type = _JSON_TYPES[kinds[0]]
        prop = {"type": [json_type, "null"] if nullable else json_type, "default": f.default,
                "description": f.metadata["help"]}
        for key, schema_key in (("minimum", "minimum"), ("maximum", "maximum"),
                                ("exclusive_minimum", "exclusiveMinimum")):
            if f.metadata.get(key) is not None:
                prop[schema_key] = f.metadata[key]
        if f.metadata.get("choices"):
            prop["enum"] = list(f.metadata["choices"])
        properties[f.name] = prop
    return {"type": "object", "additionalProperties": False, "properties": properties}
