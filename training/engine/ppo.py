"""PPO for RLHF, one self-contained trainer (TRL removed its PPOTrainer in 1.13).

Read top to bottom: the pure pieces (masked statistics, the KL-penalised rewards, GAE, the clipped losses, the
adaptive KL controller), then the models (policy, frozen reference, frozen reward model, value model), then
one update: sample a rollout batch, score it, compute advantages, and optimise for a few epochs over
minibatches. `shared/reference/ppo.md` has the formulas and the pitfalls; each is tested in
tests/training/test_ppo_*.py.

Conventions. A rollout is `query` (left-padded prompt tokens, Q wide) followed by `response` (R wide, right-padded
after its first EOS). Logits at position t predict token t+1, so a response token at column j of the response
is scored by the logits at column Q - 1 + j of the whole sequence. Values are read at the same positions: the
value of the state before each response token. Log-probabilities use logits / temperature, the distribution the
rollout was sampled from.
"""

from __future__ import annotations

import logging
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from .callbacks import clean
from .files import JobFiles, append_jsonl, write_json_atomic

logger = logging.getLogger("training.engine.ppo")


# --- the pure pieces ---------------------------------------------------------------------------------------------

def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_var(x: Tensor, mask: Tensor) -> Tensor:
    """Unbiased variance of the masked entries (Bessel's correction, as the reference implementations do)."""
    mean = masked_mean(x, mask)
    n = mask.sum()
    return ((x - mean) ** 2 * mask).sum() / (n - 1).clamp(min=1)


def masked_whiten(x: Tensor, mask: Tensor, *, shift_mean: bool = True) -> Tensor:
    """Zero mean, unit variance over the masked entries only; masked-out entries are returned as 0."""
    mean, var = masked_mean(x, mask), masked_var(x, mask)
    whitened = (x - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened = whitened + mean
    return whitened * mask


def response_mask(response: Tensor, eos_id: int) -> tuple[Tensor, Tensor]:
    """(mask of the real response tokens: up to and including the first EOS, whether each response ended)."""
    is_eos = response == eos_id
    ended = is_eos.any(dim=1)
    after_eos = (is_eos.long().cumsum(dim=1) - is_eos.long()) > 0  # strictly after the first EOS
    return (~after_eos).long(), ended


def last_token_index(mask: Tensor) -> Tensor:
    """Column of each row's last real token in a right-padded mask."""
    return mask.long().sum(dim=1).clamp(min=1) - 1


def per_token_kl(logprobs: Tensor, ref_logprobs: Tensor, mask: Tensor) -> Tensor:
    """log π − log π_ref on exactly the sampled tokens (0 elsewhere)."""
    return (logprobs - ref_logprobs) * mask


def kl_penalised_rewards(scores: Tensor, logprobs: Tensor, ref_logprobs: Tensor, mask: Tensor,
                         beta: float) -> tuple[Tensor, Tensor]:
    """Per-token rewards −β·KL_t, with the sequence score added at the last real token. Returns (rewards, kl)."""
    kl = per_token_kl(logprobs, ref_logprobs, mask)
    rewards = -beta * kl
    rows = torch.arange(rewards.shape[0], device=rewards.device)
    rewards[rows, last_token_index(mask)] += scores
    return rewards * mask, kl


def gae(rewards: Tensor, values: Tensor, mask: Tensor, *, gamma: float, lam: float) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation over right-padded responses; the value after the last real token is 0.

    δ_t = r_t + γ·V_{t+1} − V_t,  A_t = δ_t + γλ·A_{t+1},  returns_t = A_t + V_t.
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0], device=rewards.device, dtype=rewards.dtype)
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] * mask[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def policy_loss(logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor,
                cliprange: float) -> tuple[Tensor, Tensor, Tensor]:
    """The clipped surrogate: mean max(−A·ratio, −A·clip(ratio, 1−ε, 1+ε)). Returns (loss, clipfrac, approx KL)."""
    log_ratio = (logprobs - old_logprobs) * mask
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1 - cliprange, 1 + cliprange)
    loss = masked_mean(torch.max(unclipped, clipped), mask)
    clipfrac = masked_mean(((ratio - 1).abs() > cliprange).float(), mask)
    approx_kl = masked_mean(ratio - 1 - log_ratio, mask)
    return loss, clipfrac, approx_kl


def value_loss(values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor,
               cliprange_value: float) -> tuple[Tensor, Tensor]:
    """0.5 · mean max((V − R)², (V_clip − R)²) with V_clip = V_old + clip(V − V_old, ±ε_v). Returns (loss, clipfrac)."""
    clipped = old_values + torch.clamp(values - old_values, -cliprange_value, cliprange_value)
    losses = torch.max((values - returns) ** 2, (clipped - returns) ** 2)
    clipfrac = masked_mean(((values - returns) ** 2 < (clipped - returns) ** 2).float(), mask)
    return 0.5 * masked_mean(losses, mask), clipfrac


@dataclass
class AdaptiveKLController:
    """Ziegler et al.: e = clip((KL − target) / target, ±0.2); β ← β·(1 + e·n / horizon)."""

    value: float
    target: float
    horizon: int

    def update(self, current_kl: float, n_steps: int) -> float:
        error = float(np.clip((current_kl - self.target) / self.target, -0.2, 0.2))
        self.value *= 1 + error * n_steps / self.horizon
        return self.value


@dataclass
class FixedKLController:
    value: float

    def update(self, current_kl: float, n_steps: int) -> float:
        return self.value


def entropy_from_logits(logits: Tensor) -> Tensor:
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(-1)


# --- the models --------------------------------------------------------------------------------------------------

class ValueModel(nn.Module):
    """A scalar per token: a sequence classifier's backbone and head applied at every position."""

    def __init__(self, classifier: nn.Module):
        super().__init__()
        self.backbone = getattr(classifier, classifier.base_model_prefix)
        self.head = classifier.score if hasattr(classifier, "score") else classifier.classifier

    def forward(self, input_ids: Tensor, attention_mask: Tensor, position_ids: Tensor) -> Tensor:
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask,
                               position_ids=position_ids).last_hidden_state
        return self.head(hidden).squeeze(-1).float()


Scorer = Callable[[list[list[dict]], list[str]], Tensor]  # (prompts, response texts) -> one score each


class RewardModelScorer:
    """The frozen reward model's score of prompt + response, tokenised its own way (its tokenizer may differ)."""

    def __init__(self, model: nn.Module, tokenizer, *, batch_size: int = 16):
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size
        self.tokenizer.padding_side = "right"  # the classifier reads the last non-pad token

    @torch.no_grad()
    def __call__(self, prompts: list[list[dict]], responses: list[str]) -> Tensor:
        device = next(self.model.parameters()).device
        scores = []
        for start in range(0, len(prompts), self.batch_size):
            texts = [self.tokenizer.apply_chat_template([*p, {"role": "assistant", "content": r}], tokenize=False)
                     for p, r in zip(prompts[start:start + self.batch_size], responses[start:start + self.batch_size],
                                     strict=True)]
            batch = self.tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=2048)
            scores.append(self.model(**batch.to(device)).logits[:, 0].float())
        return torch.cat(scores)


def load_reward_scorer(folder: str) -> RewardModelScorer:
    """A registered reward model (a one-label sequence classifier) as a scorer of prompt + response."""
    from transformers import AutoModelForSequenceClassification

    from .chat import load_tokenizer

    tokenizer = load_tokenizer(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1, dtype=torch.float32)
    model.config.pad_token_id = tokenizer.pad_token_id
    return RewardModelScorer(model.requires_grad_(False), tokenizer)


def positions(attention_mask: Tensor) -> Tensor:
    """Position ids that skip left padding, so a left-padded prompt is seen as it is without padding."""
    return (attention_mask.cumsum(dim=1) - 1).clamp(min=0)


def response_logprobs(model: nn.Module, sequences: Tensor, attention_mask: Tensor, query_width: int,
                      temperature: float, *, with_entropy: bool = False):
    """log π(response token | everything before it) for every response column (logits at t predict t + 1)."""
    logits = model(input_ids=sequences, attention_mask=attention_mask, position_ids=positions(attention_mask)).logits
    logits = logits[:, query_width - 1:-1].float() / temperature
    targets = sequences[:, query_width:]
    logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (logprobs, entropy_from_logits(logits)) if with_entropy else logprobs


def response_values(value_model: ValueModel, sequences: Tensor, attention_mask: Tensor, query_width: int) -> Tensor:
    values = value_model(sequences, attention_mask, positions(attention_mask))
    return values[:, query_width - 1:-1]


# --- rollouts ----------------------------------------------------------------------------------------------------

@dataclass
class Rollout:
    prompts: list[list[dict]]
    sequences: Tensor  # (B, Q + R)
    attention_mask: Tensor
    query_width: int
    mask: Tensor  # (B, R): real response tokens
    ended: Tensor  # (B,) the response produced EOS
    texts: list[str]


@torch.no_grad()
def generate(model: nn.Module, tokenizer, prompts: list[list[dict]], *, max_new_tokens: int, temperature: float = 1.0,
             top_p: float = 1.0, greedy: bool = False, max_prompt_length: int = 1024) -> Rollout:
    """Left-padded prompts in, responses cut after their first EOS and right-padded out."""
    device = next(model.parameters()).device
    texts = [tokenizer.apply_chat_template(p, tokenize=False, add_generation_prompt=True) for p in prompts]
    sides = tokenizer.padding_side, tokenizer.truncation_side
    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"  # generation continues the prompt's end
    try:
        query = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, add_special_tokens=False,
                          max_length=max_prompt_length).to(device)
    finally:
        tokenizer.padding_side, tokenizer.truncation_side = sides
    width = query["input_ids"].shape[1]
    sampling = {"do_sample": False} if greedy else {"do_sample": True, "temperature": temperature, "top_p": top_p,
                                                    "top_k": 0}
    was_training = model.training
    model.eval()
    out = model.generate(**query, max_new_tokens=max_new_tokens, min_new_tokens=1, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, **sampling)
    model.train(was_training)
    response = out[:, width:]
    mask, ended = response_mask(response, tokenizer.eos_token_id)
    response = torch.where(mask.bool(), response, torch.full_like(response, tokenizer.pad_token_id))
    sequences = torch.cat([query["input_ids"], response], dim=1)
    attention = torch.cat([query["attention_mask"], mask], dim=1)
    decoded = tokenizer.batch_decode(response, skip_special_tokens=True)
    return Rollout(list(prompts), sequences, attention, width, mask, ended, decoded)


class PPOTrainer:
    """Policy, reference, value model and a scorer; `train()` runs `config["max_steps"]` updates.

    The reference is a frozen model, or with LoRA the policy itself with its adapter disabled. The scorer is the
    reward model in a job; tests give a function of the text, so the optimisation itself can be checked.

    Several processes (`accelerate launch`, one per GPU) each sample `rollout_batch_size` prompts of their own per
    update; the policy and value model train under DistributedDataParallel, so their gradients are averaged. What
    decides the loop (β's update, the early stop, a cancel) is agreed across processes; the main one writes files.
    """

    def __init__(self, *, config: dict, policy: nn.Module, tokenizer, value_model: ValueModel, scorer: Scorer,
                 prompts: list[list[dict]], reference: nn.Module | None = None, files: JobFiles | None = None,
                 ptx_rows: list[list[dict]] | None = None, eval_prompts: list[list[dict]] | None = None,
                 accelerator=None):
        from accelerate import Accelerator

        self.config, self.policy, self.reference, self.value_model = config, policy, reference, value_model
        self.tokenizer, self.scorer, self.prompts, self.files = tokenizer, scorer, prompts, files
        self.ptx_rows, self.eval_prompts = ptx_rows or [], eval_prompts or []
        self.tokenizer.padding_side = "left"
        if reference is None and not hasattr(policy, "disable_adapter"):
            raise ValueError("PPO needs a frozen reference model unless the policy is a LoRA (peft) model")
        if reference is not None:
            reference.eval().requires_grad_(False)
        params = [p for p in [*policy.parameters(), *value_model.parameters()] if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=config["learning_rate"], weight_decay=config["weight_decay"])
        self.kl_ctl = (AdaptiveKLController(config["kl_coef"], config["target_kl"], config["kl_horizon"])
                       if config["adaptive_kl"] else FixedKLController(config["kl_coef"]))
        self.step = 0
        self.score_mean, self.score_std = 0.0, 1.0
        self.cancelled = False
        self.history: list[dict] = []
        self.accelerator = accelerator or Accelerator(cpu=next(policy.parameters()).device.type == "cpu")
        self.rank, self.world = self.accelerator.process_index, self.accelerator.num_processes
        # Trained through the prepared (under several processes: DDP-wrapped) modules; sampled, scored and saved
        # through the plain ones.
        self.train_policy, self.train_value, self.optimizer = self.accelerator.prepare(policy, value_model,
                                                                                       self.optimizer)
        self.device = self.accelerator.device
        if reference is not None:
            reference.to(self.device)

    # --- agreeing across processes ---

    def _mean(self, values: dict[str, float]) -> dict[str, float]:
        """Each value averaged over the processes (as is with one)."""
        if self.world == 1 or not values:
            return values
        stacked = torch.tensor(list(values.values()), device=self.device, dtype=torch.float64)
        return dict(zip(values, self.accelerator.reduce(stacked, reduction="mean").tolist(), strict=True))

    def _any(self, flag: bool) -> bool:
        if self.world == 1:
            return flag
        return bool(self.accelerator.reduce(torch.tensor([float(flag)], device=self.device), reduction="sum") > 0)

    # --- the reference, with or without an adapter ---

    def _reference_logprobs(self, rollout: Rollout) -> Tensor:
        args = (rollout.sequences, rollout.attention_mask, rollout.query_width, self.config["temperature"])
        if self.reference is not None:
            return response_logprobs(self.reference, *args)
        with self.policy.disable_adapter():
            return response_logprobs(self.policy, *args)

    # --- sampling ---

    @torch.no_grad()
    def rollout(self, prompts: list[list[dict]], *, model: nn.Module | None = None, greedy: bool = False) -> Rollout:
        cfg = self.config
        return generate(model or self.policy, self.tokenizer, prompts, max_new_tokens=cfg["response_length"],
                        temperature=cfg["temperature"], top_p=cfg["top_p"], greedy=greedy,
                        max_prompt_length=cfg["max_prompt_length"])

    def score(self, rollout: Rollout) -> Tensor:
        """Reward-model scores, normalised, with the penalty for a response that never ended."""
        raw = self.scorer(rollout.prompts, rollout.texts).to(self.device).float()
        scores = (raw - self.score_mean) / self.score_std if self.config["whiten_rewards"] else raw
        penalty = self.config["missing_eos_penalty"]
        if penalty is not None:
            scores = torch.where(rollout.ended, scores, scores - penalty)
        return scores

    def calibrate_scores(self) -> None:
        """Mean and std of the scorer on samples of the reference (the SFT model), used to normalise scores."""
        prompts = self.prompts[: max(self.config["rollout_batch_size"], 8)]
        if self.reference is not None:
            rollout = self.rollout(prompts, model=self.reference)
        else:
            with self.policy.disable_adapter():
                rollout = self.rollout(prompts)
        raw = self.accelerator.gather(self.scorer(rollout.prompts, rollout.texts).to(self.device).float())
        self.score_mean = float(raw.mean())
        self.score_std = float(raw.std()) if raw.numel() > 1 and float(raw.std()) > 1e-6 else 1.0

    # --- one update ---

    def _batch_prompts(self, update: int) -> list[list[dict]]:
        """The prompts of an update (this process's share): a seeded permutation per pass over the data, so a
        resumed run sees the same."""
        n, size = len(self.prompts), self.config["rollout_batch_size"]
        first = (update * self.world + self.rank) * size
        out = []
        for k in range(first, first + size):
            epoch, at = divmod(k, n)
            order = random.Random(self.config["seed"] * 1_000_003 + epoch).sample(range(n), n)
            out.append(self.prompts[order[at]])
        return out

    def update(self) -> dict:
        cfg = self.config
        started = time.perf_counter()
        if self.world > 1:  # each process samples its own responses, reproducibly (a resume included)
            torch.manual_seed(cfg["seed"] + 1_000_003 * self.step + 7919 * self.rank)
        rollout = self.rollout(self._batch_prompts(self.step))
        args = (rollout.sequences, rollout.attention_mask, rollout.query_width)
        mask = rollout.mask.float()
        with torch.no_grad():
            old_logprobs = response_logprobs(self.policy, *args, cfg["temperature"])
            ref_logprobs = self._reference_logprobs(rollout)
            old_values = response_values(self.value_model, *args)
            scores = self.score(rollout)
            beta = self.kl_ctl.value
            rewards, kl = kl_penalised_rewards(scores, old_logprobs, ref_logprobs, mask, beta)
            advantages, returns = gae(rewards, old_values, mask, gamma=cfg["gamma"], lam=cfg["lam"])
            advantages = masked_whiten(advantages, mask)
        stats = self._optimise(rollout, old_logprobs, old_values, advantages, returns)
        lengths = mask.sum(1)
        rollout_stats = self._mean({"objective/scores": float(scores.mean()), "objective/kl": float(kl.sum(1).mean()),
                                    "response_length": float(lengths.mean()),
                                    "no_eos_fraction": float((~rollout.ended).float().mean())})
        mean_kl = rollout_stats["objective/kl"]
        self.kl_ctl.update(mean_kl, n_steps=len(rollout.prompts) * self.world)
        self.step += 1
        return {
            **rollout_stats, "objective/beta": beta, "objective/non_score_reward": -beta * mean_kl,
            "objective/rlhf_reward": rollout_stats["objective/scores"] - beta * mean_kl,
            "learning_rate": cfg["learning_rate"], "seconds_per_update": time.perf_counter() - started, **stats,
        }

    def _optimise(self, rollout: Rollout, old_logprobs, old_values, advantages, returns) -> dict:
        cfg = self.config
        n, size = len(rollout.prompts), cfg["per_device_train_batch_size"]
        mask = rollout.mask.float()
        generator = torch.Generator().manual_seed(cfg["seed"] + self.step)
        totals: dict[str, list[float]] = {k: [] for k in ("loss/policy_avg", "loss/value_avg", "policy/clipfrac_avg",
                                                           "val/clipfrac_avg", "policy/approxkl_avg",
                                                           "policy/entropy_avg", "loss/ptx_avg")}
        epochs_run = 0
        self.train_policy.train()
        for _ in range(cfg["num_ppo_epochs"]):
            epoch_kl = []
            for idx in torch.randperm(n, generator=generator).split(size):
                idx = idx.to(self.device)
                seqs, att, m = rollout.sequences[idx], rollout.attention_mask[idx], mask[idx]
                logprobs, entropy = response_logprobs(self.train_policy, seqs, att, rollout.query_width,
                                                      cfg["temperature"], with_entropy=True)
                values = response_values(self.train_value, seqs, att, rollout.query_width)
                pg_loss, pg_clip, approx_kl = policy_loss(logprobs, old_logprobs[idx], advantages[idx], m,
                                                          cfg["cliprange"])
                vf_loss, vf_clip = value_loss(values, old_values[idx], returns[idx], m, cfg["cliprange_value"])
                mean_entropy = masked_mean(entropy, m)
                loss = pg_loss + cfg["vf_coef"] * vf_loss - cfg["ent_coef"] * mean_entropy
                self.optimizer.zero_grad(set_to_none=True)
                self.accelerator.backward(loss)
                ptx = None
                if cfg["ptx_coef"] > 0 and self.ptx_rows:  # its own forward and backward: DDP reduces each once
                    ptx = self._ptx_loss()
                    self.accelerator.backward(cfg["ptx_coef"] * ptx)
                if cfg["max_grad_norm"] > 0:
                    self.accelerator.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]],
                                                     cfg["max_grad_norm"])
                self.optimizer.step()
                for key, value in (("loss/policy_avg", pg_loss), ("loss/value_avg", vf_loss),
                                   ("policy/clipfrac_avg", pg_clip), ("val/clipfrac_avg", vf_clip),
                                   ("policy/approxkl_avg", approx_kl), ("policy/entropy_avg", mean_entropy)):
                    totals[key].append(value.item())
                if ptx is not None:
                    totals["loss/ptx_avg"].append(ptx.item())
                epoch_kl.append(approx_kl.item())
            epochs_run += 1
            epoch_kl_mean = self._mean({"kl": float(np.mean(epoch_kl))})["kl"]
            if cfg["max_approx_kl"] is not None and epoch_kl_mean > cfg["max_approx_kl"]:
                break  # the policy ran away from the one that sampled the batch: stop this update here
        out = self._mean({k: float(np.mean(v)) for k, v in totals.items() if v})
        out["ppo_epochs_run"] = epochs_run
        return out

    def _ptx_loss(self) -> Tensor:
        """InstructGPT's PPO-ptx: the language-model loss on one demonstration, against forgetting."""
        row = self.ptx_rows[self.step % len(self.ptx_rows)]
        text = self.tokenizer.apply_chat_template(row, tokenize=False)
        batch = self.tokenizer(text, return_tensors="pt", truncation=True, max_length=512).to(self.device)
        return self.train_policy(**batch, labels=batch["input_ids"]).loss

    # --- checkpoints: model, value model, optimizer, step, β, score normalisation and RNG ---

    def save_checkpoint(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        trainable = self.policy.state_dict()
        if hasattr(self.policy, "disable_adapter"):  # LoRA: the adapter is all that trains
            trainable = {k: v for k, v in trainable.items() if "lora_" in k}
        torch.save({"policy": trainable, "value": self.value_model.state_dict(),
                    "optimizer": self.optimizer.state_dict(), "step": self.step, "beta": self.kl_ctl.value,
                    "score_mean": self.score_mean, "score_std": self.score_std,
                    "rng": {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
                            "python": random.getstate()}}, folder / "ppo_state.pt")
        # Written last: the runner treats a folder with trainer_state.json as a complete checkpoint.
        write_json_atomic(folder / "trainer_state.json", {"global_step": self.step, "history": self.history[-50:]})

    def load_checkpoint(self, folder: Path) -> None:
        state = torch.load(folder / "ppo_state.pt", weights_only=False)
        self.policy.load_state_dict(state["policy"], strict=not hasattr(self.policy, "disable_adapter"))
        self.value_model.load_state_dict(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.kl_ctl.value = state["step"], state["beta"]
        self.score_mean, self.score_std = state["score_mean"], state["score_std"]
        torch.set_rng_state(state["rng"]["torch"])
        np.random.set_state(state["rng"]["numpy"])
        random.setstate(state["rng"]["python"])

    # --- the loop ---

    def train(self) -> list[dict]:
        cfg, files = self.config, self.files
        resume = files.latest_checkpoint() if files else None
        if resume:
            self.load_checkpoint(resume)
            logger.info("resuming from %s", resume)
        elif cfg["whiten_rewards"]:
            self.calibrate_scores()
        main = self.accelerator.is_main_process
        if files and main:
            files.event("train_begin", step=self.step, max_steps=cfg["max_steps"],
                        resumed_from=self.step if resume else None, processes=self.world)
        while self.step < cfg["max_steps"]:
            stats = self.update()
            self.history.append({"step": self.step, **stats})
            if files:
                if main and (self.step % cfg["logging_steps"] == 0 or self.step == 1):
                    append_jsonl(files.metrics, {"step": self.step, "time": time.time(), "values": clean(stats)})
                if main:
                    files.event("step", step=self.step, max_steps=cfg["max_steps"])
                self.cancelled = self._any(files.cancel_requested())
                if self.step % cfg["save_steps"] == 0 or self.cancelled:
                    if main:
                        self._checkpoint()
                    self.accelerator.wait_for_everyone()
                if self.cancelled:
                    break
        return self.history

    def _checkpoint(self) -> None:
        if self.eval_prompts:  # the reward-against-KL curve, drawn while it trains
            from .policy_eval import evaluate_policy

            result = evaluate_policy(self.policy, self.tokenizer, self.scorer, self.eval_prompts,
                                     reference=self.reference, max_new_tokens=self.config["response_length"],
                                     temperature=self.config["temperature"], seed=self.config["seed"] + self.step)
            append_jsonl(self.files.metrics, {"step": self.step, "time": time.time(), "values": checkpoint_values(
                result)})
        name = f"checkpoint-{self.step}"
        self.save_checkpoint(self.files.checkpoints / name)
        for old in self.files.checkpoints.glob("checkpoint-*"):
            if old.name != name and int(old.name.rsplit("-", 1)[1]) < self.step - self.config["save_steps"]:
                shutil.rmtree(old, ignore_errors=True)
        self.files.event("checkpoint", step=self.step, path=name)

    # --- evaluation: the policy against its reference on held-out prompts ---

    @torch.no_grad()
    def evaluate(self, prompts: list[list[dict]]) -> dict:
        """Mean score and KL of greedy answers, the win rate against the reference's, and samples side by side."""
        if not prompts:
            return {}
        mine = self.rollout(prompts, greedy=True)
        if self.reference is not None:
            theirs = self.rollout(prompts, model=self.reference, greedy=True)
        else:
            with self.policy.disable_adapter():
                theirs = self.rollout(prompts, greedy=True)
        mine_scores = self.scorer(prompts, mine.texts).float()
        their_scores = self.scorer(prompts, theirs.texts).float()
        logprobs = response_logprobs(self.policy, mine.sequences, mine.attention_mask, mine.query_width, 1.0)
        ref = self._reference_logprobs(Rollout(prompts, mine.sequences, mine.attention_mask, mine.query_width,
                                               mine.mask, mine.ended, mine.texts))
        kl = per_token_kl(logprobs, ref, mine.mask.float()).sum(1)
        wins = (mine_scores > their_scores).float() + 0.5 * (mine_scores == their_scores).float()
        return {
            "mean_score": float(mine_scores.mean()), "reference_mean_score": float(their_scores.mean()),
            "win_rate": float(wins.mean()), "mean_kl": float(kl.mean()),
            "mean_length": float(mine.mask.float().sum(1).mean()), "prompts": len(prompts),
            "samples": [{"prompt": p, "policy": a, "reference": b, "policy_score": float(s), "reference_score":
                         float(t)} for p, a, b, s, t in zip(prompts, mine.texts, theirs.texts, mine_scores.tolist(),
                                                            their_scores.tolist(), strict=True)],
        }


def checkpoint_values(result: dict) -> dict:
    """A checkpoint evaluation as metric values (merged into that step's row)."""
    return {f"eval/{key}": result[key] for key in ("mean_reward", "mean_kl", "win_rate", "mean_length")
            if result.get(key) is not None}


# --- signs of reward hacking ----------------------------------------------------------------------------------------

def _quarters(history: list[dict], key: str) -> tuple[float, float]:
    values = [h[key] for h in history if h.get(key) is not None]
    if len(values) < 4:
        return (values[0], values[-1]) if values else (0.0, 0.0)
    q = max(len(values) // 4, 1)
    return float(np.mean(values[:q])), float(np.mean(values[-q:]))


def hacking_warnings(history: list[dict], evaluation: dict | None, *, kl_bound: float) -> list[dict]:
    """What the job page warns about, with the numbers: KL spikes, reward rising while the held-out win rate does
    not, reward rising with length alone, responses that no longer end."""
    if len(history) < 4:
        return []
    out = []
    kl_start, kl_end = _quarters(history, "objective/kl")
    peak = max(h["objective/kl"] for h in history)
    if kl_end > kl_bound or peak > 2 * kl_bound:
        out.append({"kind": "kl", "message": f"KL to the reference rose from {kl_start:.2f} to {kl_end:.2f} nats per "
                                             f"response (peak {peak:.2f}; bound {kl_bound:.2f})"})
    score_start, score_end = _quarters(history, "objective/scores")
    rising = score_end > score_start + 0.05 * (abs(score_start) + 1)
    if rising and evaluation and evaluation.get("win_rate") is not None and evaluation["win_rate"] <= 0.5:
        out.append({"kind": "win_rate", "message": f"the training score rose from {score_start:.3f} to "
                                                   f"{score_end:.3f} but the held-out win rate against the reference "
                                                   f"is {evaluation['win_rate']:.2f}"})
    lengths = np.array([h["response_length"] for h in history])
    scores = np.array([h["objective/scores"] for h in history])
    if rising and lengths.std() > 0 and scores.std() > 0:
        correlation = float(np.corrcoef(lengths, scores)[0, 1])
        if correlation > 0.8 and lengths[-len(lengths) // 4:].mean() > lengths[: len(lengths) // 4].mean() * 1.2:
            out.append({"kind": "length", "message": f"the score rises with response length alone (correlation "
                                                     f"{correlation:.2f}; length {lengths[0]:.1f} → {lengths[-1]:.1f})"})
    eos_start, eos_end = _quarters(history, "no_eos_fraction")
    if eos_end > 0.5 and eos_end > eos_start:
        out.append({"kind": "no_eos", "message": f"{eos_end:.0%} of responses no longer end (was {eos_start:.0%})"})
    return out


# --- the job ------------------------------------------------------------------------------------------------------

def build_value_model(reward_dir: str, policy_dir: str, policy_tokenizer, reward_tokenizer) -> ValueModel:
    """From the reward model when it reads the policy's tokens (same vocabulary), else the policy's own backbone
    with a fresh scalar head: values are per token of the policy's text."""
    from transformers import AutoModelForSequenceClassification

    same_vocabulary = policy_tokenizer.get_vocab() == reward_tokenizer.get_vocab()
    source = reward_dir if same_vocabulary else policy_dir
    classifier = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1, dtype=torch.float32)
    classifier.config.pad_token_id = policy_tokenizer.pad_token_id
    return ValueModel(classifier)


def run_ppo(spec: dict, files: JobFiles) -> dict | None:
    """The PPO job: load the four models, train, save the policy, evaluate on the test prompts. Under several
    processes the main one returns the result and the others None."""
    from accelerate import Accelerator
    from transformers import AutoModelForCausalLM

    from .chat import load_tokenizer
    from .data import read_rows
    from .run import device_defaults, lora_config, seed_everything

    cfg = spec["config"]
    seed_everything(cfg["seed"])
    device = device_defaults(cfg)  # bf16 where the GPU has it; under `accelerate launch`, one GPU per process
    accelerator = Accelerator(cpu=device["use_cpu"], mixed_precision="bf16" if device["bf16"] else "no")
    tokenizer = load_tokenizer(spec["base_model_dir"])
    scorer = load_reward_scorer(spec["reward_model_dir"])
    scorer.model.to(accelerator.device)
    policy = AutoModelForCausalLM.from_pretrained(spec["base_model_dir"], dtype=torch.float32)
    if device["gradient_checkpointing"]:
        policy.gradient_checkpointing_enable()
    reference = None
    if cfg["use_peft"]:
        from peft import get_peft_model

        policy = get_peft_model(policy, lora_config(cfg, "CAUSAL_LM"))
    else:
        reference = AutoModelForCausalLM.from_pretrained(spec.get("reference_model_dir") or spec["base_model_dir"],
                                                         dtype=torch.float32)
    value_model = build_value_model(spec["reward_model_dir"], spec["base_model_dir"], tokenizer, scorer.tokenizer)
    snapshot = Path(spec["snapshot_dir"])
    prompts = [row["prompt"] for row in read_rows(snapshot, "prompts", "train")]
    if not prompts:
        raise SystemExit("the snapshot has no prompts-train rows")
    ptx = [row["messages"] for row in read_rows(snapshot, "sft", "train")] or \
        [row["prompt"] + row["chosen"] for row in read_rows(snapshot, "preference", "train")]
    held_out = [row["prompt"] for row in read_rows(snapshot, "prompts", "test")][: cfg["num_sample_generations"]]
    trainer = PPOTrainer(config=cfg, policy=policy, tokenizer=tokenizer, value_model=value_model,
                         scorer=scorer, prompts=prompts, eval_prompts=held_out[: cfg["checkpoint_eval_prompts"]],
                         reference=reference, files=files, ptx_rows=ptx, accelerator=accelerator)
    with accelerator.autocast():
        trainer.train()
    if not accelerator.is_main_process:
        return None  # the main process evaluates, saves and reports
    if trainer.cancelled:
        return {"status": "cancelled", "step": trainer.step}
    with accelerator.autocast():
        evaluation = trainer.evaluate(held_out)
    samples = [{"prompt": s["prompt"], "completion": s["policy"], "reference": s["reference"]}
               for s in evaluation.pop("samples", [])]
    warnings = hacking_warnings(trainer.history, evaluation, kl_bound=cfg["target_kl"])
    model = policy.merge_and_unload() if cfg["use_peft"] else policy
    folder = files.output / "model"
    model.save_pretrained(folder)
    tokenizer.padding_side = "right"
    tokenizer.save_pretrained(folder)
    info = {"architecture": type(model).__name__, "task": "causal-lm", "peft_merged": bool(cfg["use_peft"]),
            "parameter_count": sum(p.numel() for p in model.parameters())}
    write_json_atomic(files.output / "evaluation.json", evaluation)
    return {"status": "succeeded", "step": trainer.step, "model": info, "evaluation": {"policy_vs_reference":
            evaluation, "final_beta": trainer.kl_ctl.value, "warnings": warnings}, "samples": samples, "summary": {}}

