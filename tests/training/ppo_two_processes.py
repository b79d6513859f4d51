"""Run as a module under `accelerate launch --num_processes 2` by test_ppo_processes.py: PPO on a tiny model in two
processes, then what the test checks, gathered from both: a checksum of each one's policy weights, its β, and the prompts
each sampled in the first update. Usage: ppo_two_processes.py TINY_MODEL_FOLDER OUT.json"""

import json
import sys

import torch

from training.engine import ppo
from training.engine.config import resolve

from .ppo_parts import PROMPTS as ALL_PROMPTS
from .ppo_parts import e_share, tiny_parts

PROMPTS = ALL_PROMPTS[:16]


def main(folder: str, out: str) -> None:
    tokenizer, policy, reference, value_model = tiny_parts(folder)  # the same initial weights in both processes
    config = resolve("ppo", {"max_steps": 3, "rollout_batch_size": 4, "per_device_train_batch_size": 2,
                             "num_ppo_epochs": 2, "response_length": 6, "learning_rate": 3e-3, "temperature": 1.0,
                             "adaptive_kl": True, "kl_horizon": 20, "target_kl": 0.01, "whiten_rewards": False})
    initial = torch.cat([p.detach().flatten() for p in policy.parameters()]).clone()
    trainer = ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, value_model=value_model,
                             scorer=e_share, prompts=PROMPTS, reference=reference)
    first_prompts = [PROMPTS.index(p) for p in trainer._batch_prompts(0)]
    history = trainer.train()
    weights = torch.cat([p.detach().flatten() for p in trainer.policy.parameters()])
    acc = trainer.accelerator
    mine = torch.tensor([[weights.double().sum(), weights.double().pow(2).sum(), (weights - initial).abs().max(),
                          trainer.kl_ctl.value, *first_prompts]], dtype=torch.float64)
    everyone = acc.gather(mine).tolist()
    if acc.is_main_process:
        with open(out, "w") as f:
            json.dump({"processes": acc.num_processes, "distributed_type": str(acc.distributed_type),
                       "rows": everyone, "history": history}, f)


if __name__ == "__main__":
    main(*sys.argv[1:3])
