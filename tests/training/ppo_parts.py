"""What the PPO tests build on: a tiny policy, its frozen reference and a value model from the tiny model's
backbone, and a scorer whose preference is checkable (more letter e's is better)."""

import torch

from training.engine import ppo

PROMPTS = [[{"role": "user", "content": f"Question number {i}: what is {i} + {i}?"}] for i in range(32)]


def e_share(prompts, texts):
    return torch.tensor([t.count("e") / max(len(t), 1) for t in texts])


def tiny_parts(folder) -> tuple:
    """(tokenizer, policy, reference, value model), seeded, so every call starts from the same weights."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    policy, reference = (AutoModelForCausalLM.from_pretrained(folder) for _ in range(2))
    classifier = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=1)
    classifier.config.pad_token_id = tokenizer.pad_token_id
    return tokenizer, policy, reference, ppo.ValueModel(classifier)
