"""PPO on tiny models with a scorer whose preference is checkable (more letter e's is better): the mean reward on
held-out prompts rises while the KL leash holds; a huge β keeps the policy at the reference; β = 0 lets KL climb,
and the warnings say so."""

import pytest

torch = pytest.importorskip("torch")

from training.engine import ppo  # noqa: E402
from training.engine.config import resolve  # noqa: E402

from .ppo_parts import PROMPTS, e_share, tiny_parts  # noqa: E402

pytestmark = pytest.mark.training


def trained(tiny_folder, **overrides):
    tokenizer, policy, reference, value_model = tiny_parts(tiny_folder)
    config = resolve("ppo", {"max_steps": 24, "rollout_batch_size": 16, "per_device_train_batch_size": 16,
                             "num_ppo_epochs": 2, "response_length": 10, "learning_rate": 3e-3, "temperature": 1.0,
                             "missing_eos_penalty": None, "whiten_rewards": False, **overrides})
    trainer = ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, value_model=value_model,
                             scorer=e_share, prompts=PROMPTS[:24], reference=reference)
    before = trainer.evaluate(PROMPTS[24:])
    history = trainer.train()
    return trainer, before, trainer.evaluate(PROMPTS[24:]), history


def test_ppo_raises_the_held_out_reward_while_the_kl_leash_holds(tiny_folder):
    trainer, before, after, history = trained(tiny_folder, kl_coef=0.02, adaptive_kl=True, target_kl=3.0,
                                              kl_horizon=200)
    assert before["win_rate"] == 0.5 and before["mean_kl"] == pytest.approx(0, abs=1e-5)  # policy = reference
    assert after["mean_score"] > before["mean_score"] + 0.02
    assert after["win_rate"] > 0.6
    late_kl = [h["objective/kl"] for h in history[-6:]]
    assert max(late_kl) < 3 * 3.0, late_kl  # within reach of the target, not running away
    assert all(h["policy/approxkl_avg"] < 0.5 for h in history)
    assert {"objective/scores", "objective/kl", "objective/beta", "loss/policy_avg", "loss/value_avg",
            "policy/clipfrac_avg", "policy/approxkl_avg", "policy/entropy_avg", "response_length",
            "no_eos_fraction"} <= set(history[-1])


def test_a_huge_beta_holds_the_policy_at_the_reference_and_beta_zero_lets_kl_climb_with_a_warning(tiny_folder):
    _, _, held_after, held = trained(tiny_folder, kl_coef=100.0, learning_rate=1e-2)
    _, _, free_after, free = trained(tiny_folder, kl_coef=0.0, learning_rate=1e-2)
    held_kl, free_kl = ([h["objective/kl"] for h in history[-4:]] for history in (held, free))
    assert max(held_kl) < 1.0, held_kl
    assert min(free_kl) > 4 * max(held_kl) and free_kl[-1] > 2.0, (free_kl, held_kl)
    assert free_after["mean_kl"] > held_after["mean_kl"]
    assert not [w for w in ppo.hacking_warnings(held, held_after, kl_bound=2.0) if w["kind"] == "kl"]
    warnings = ppo.hacking_warnings(free, free_after, kl_bound=2.0)
    assert any(w["kind"] == "kl" and "nats" in w["message"] for w in warnings), warnings


def test_the_warnings_catch_length_gaming_and_responses_that_never_end():
    history = [{"objective/kl": 0.1, "objective/scores": 0.1 * i, "response_length": 10 + 5 * i,
                "no_eos_fraction": min(1.0, 0.1 * i)} for i in range(12)]
    kinds = {w["kind"] for w in ppo.hacking_warnings(history, {"win_rate": 0.4}, kl_bound=5.0)}
    assert kinds == {"win_rate", "length", "no_eos"}
    steady = [{"objective/kl": 0.1, "objective/scores": 0.5, "response_length": 10, "no_eos_fraction": 0.0}] * 12
    assert ppo.hacking_warnings(steady, {"win_rate": 0.5}, kl_bound=5.0) == []


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tiny_folder, tmp_path):
    from training.engine.files import JobFiles

    def run(folder, max_steps, **extra):
        tokenizer, policy, reference, value_model = tiny_parts(tiny_folder)
        config = resolve("ppo", {"max_steps": max_steps, "rollout_batch_size": 8, "per_device_train_batch_size": 4,
                                 "num_ppo_epochs": 2, "response_length": 6, "learning_rate": 3e-3, "save_steps": 2,
                                 "whiten_rewards": True, **extra})
        files = JobFiles(folder)
        files.checkpoints.mkdir(parents=True, exist_ok=True)
        trainer = ppo.PPOTrainer(config=config, policy=policy, tokenizer=tokenizer, reference=reference,
                                 value_model=value_model, scorer=e_share, prompts=PROMPTS, files=files)
        trainer.train()
        return trainer

    straight = run(tmp_path / "straight", 4)
    run(tmp_path / "resumed", 2)  # "killed" after its checkpoint at step 2 …
    resumed = run(tmp_path / "resumed", 4)  # … and started again on the same folder
    assert resumed.step == 4 and (tmp_path / "resumed" / "checkpoints" / "checkpoint-4").exists()
    assert resumed.score_mean == straight.score_mean  # the normalisation came back with the checkpoint
    for name, tensor in straight.policy.state_dict().items():
        assert torch.allclose(resumed.policy.state_dict()[name], tensor, atol=1e-6), name
    lines = (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()
    assert [__import__("json").loads(line)["step"] for line in lines] == [1, 2, 3, 4]


def test_rloo_and_grpo_get_the_same_warnings_from_their_logged_figures(tmp_path):
    import json

    from training.engine.evaluate import online_warnings
    from training.engine.files import JobFiles

    files = JobFiles(tmp_path)
    rows = [{"step": i, "time": 0, "values": {"kl": 0.05 * i, "reward": 0.1 * i, "completions/mean_length": 20.0,
                                              "completions/clipped_ratio": min(1.0, 0.1 * i)}} for i in range(1, 13)]
    rows.append({"step": 12, "time": 0, "values": {"eval/mean_reward": 1.0}})  # an evaluation row is skipped
    files.metrics.write_text("".join(json.dumps(r) + "\n" for r in rows))
    kinds = {w["kind"] for w in online_warnings(files)}
    assert kinds == {"kl", "no_eos"}  # KL per response = 0.05·12·20 = 12 nats > 6; 100% clipped at the end
