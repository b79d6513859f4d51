"""The losses TRL computes for our jobs, recomputed by hand in plain torch on a fixed batch (to 1e-6)."""

import pytest

pytestmark = pytest.mark.training

PAIRS = [
    {"prompt": [{"role": "user", "content": "Question number 1: what is 1 + 1?"}],
     "chosen": [{"role": "assistant", "content": "Here is a careful answer."}],
     "rejected": [{"role": "assistant", "content": "no"}], "margin": 1.5},
    {"prompt": [{"role": "user", "content": "Answer 0 to 1 long"}],
     "chosen": [{"role": "assistant", "content": "kind and complete"}],
     "rejected": [{"role": "assistant", "content": "Answer long long"}], "margin": 0.5},
]


def _trainer_and_batch(trainer) -> dict:
    """The first batch exactly as TRL's collator builds it for training."""
    return dict(next(iter(trainer.get_train_dataloader())))


def test_the_reward_loss_is_bradley_terry_with_the_margin(tiny_folder, tmp_path):
    import torch
    import torch.nn.functional as F
    import trl
    from datasets import Dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tiny_folder)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_folder, num_labels=1)
    model.config.pad_token_id = tokenizer.pad_token_id
    args = trl.RewardConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, report_to=[], use_cpu=True,
                            bf16=False, gradient_checkpointing=False)
    trainer = trl.RewardTrainer(model=model, args=args, train_dataset=Dataset.from_list(PAIRS),
                                processing_class=tokenizer)
    batch = _trainer_and_batch(trainer)
    model.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(model, dict(batch)).item()
        rewards = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, 0]
    chosen, rejected = rewards.chunk(2)
    by_hand = -F.logsigmoid(chosen - rejected - batch["margin"]).mean().item()
    assert batch["margin"].tolist() in ([1.5, 0.5], [0.5, 1.5])
    assert trl_loss == pytest.approx(by_hand, abs=1e-6)


def _sequence_logps(model, input_ids, attention_mask, completion_mask):
    """Sum of log π(token | prefix) over each sequence's completion tokens."""
    import torch

    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1]
    targets = input_ids[:, 1:]
    token_logps = torch.log_softmax(logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (token_logps * completion_mask[:, 1:]).sum(-1)


def test_the_dpo_loss_is_the_papers_sigmoid_loss_against_the_reference(tiny_folder, tmp_path):
    import torch
    import torch.nn.functional as F
    import trl
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_folder)
    policy = AutoModelForCausalLM.from_pretrained(tiny_folder)
    reference = AutoModelForCausalLM.from_pretrained(tiny_folder)
    torch.manual_seed(1)
    with torch.no_grad():  # move the policy away from the reference, so the loss is not log 2
        for p in policy.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    beta = 0.3
    args = trl.DPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=2, report_to=[], use_cpu=True,
                         bf16=False, gradient_checkpointing=False, beta=beta)
    rows = [{k: v for k, v in row.items() if k != "margin"} for row in PAIRS]
    trainer = trl.DPOTrainer(model=policy, ref_model=reference, args=args, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer)
    batch = _trainer_and_batch(trainer)
    policy.eval()
    with torch.no_grad():
        trl_loss = trainer.compute_loss(policy, dict(batch)).item()
        inputs = (batch["input_ids"], batch["attention_mask"], batch["completion_mask"])
        pi_chosen, pi_rejected = _sequence_logps(policy, *inputs).chunk(2)
        ref_chosen, ref_rejected = _sequence_logps(reference, *inputs).chunk(2)
    by_hand = -F.logsigmoid(beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected))).mean().item()
    assert abs(by_hand - 0.693147) > 1e-3  # a real difference between policy and reference is measured
    assert trl_loss == pytest.approx(by_hand, abs=1e-6)
