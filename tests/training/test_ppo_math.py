"""PPO's pieces on small hand-computed tensors (shared/reference/ppo.md has the formulas)."""

import math

import pytest

torch = pytest.importorskip("torch")

from training.engine import ppo  # noqa: E402

pytestmark = pytest.mark.training


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def flat(x) -> list[float]:
    return torch.as_tensor(x).flatten().tolist()


def test_the_response_mask_ends_at_the_first_eos_inclusive():
    eos = 9
    mask, ended = ppo.response_mask(torch.tensor([[5, 9, 9, 3], [5, 6, 7, 8], [9, 1, 1, 1]]), eos)
    assert mask.tolist() == [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]
    assert ended.tolist() == [True, False, True]
    assert ppo.last_token_index(mask).tolist() == [1, 3, 0]


def test_the_score_lands_on_the_last_real_token_and_kl_only_on_sampled_tokens():
    mask = t([[1, 1, 0], [1, 1, 1]])
    logprobs = t([[-1.0, -2.0, -5.0], [-1.0, -1.0, -1.0]])
    ref = t([[-1.5, -1.0, -9.0], [-1.0, -2.0, -0.5]])
    rewards, kl = ppo.kl_penalised_rewards(t([2.0, -1.0]), logprobs, ref, mask, beta=0.1)
    assert flat(kl) == pytest.approx(flat([[0.5, -1.0, 0.0], [0.0, 1.0, -0.5]]))
    # −β·KL per token; the score added at column 1 of row 0 (its last real token), never at the pad
    assert flat(rewards) == pytest.approx(flat([[-0.05, 0.1 + 2.0, 0.0], [0.0, -0.1, 0.05 - 1.0]]))


def test_left_padded_prompts_get_positions_that_skip_the_padding():
    attention = torch.tensor([[0, 0, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 1]])
    assert ppo.positions(attention).tolist() == [[0, 0, 0, 1, 2, 3, 3], [0, 1, 2, 3, 4, 5, 6]]


def test_gae_matches_the_recursion_by_hand():
    rewards, values, mask = t([[0.0, 0.0, 1.0, 0.0]]), t([[0.5, 0.4, 0.3, 9.0]]), t([[1, 1, 1, 0]])
    gamma, lam = 0.9, 0.8
    advantages, returns = ppo.gae(rewards, values, mask, gamma=gamma, lam=lam)
    d2 = 1.0 + 0 - 0.3  # the value after the last real token is 0, and the pad's 9.0 is never read
    d1 = 0.0 + gamma * 0.3 - 0.4
    d0 = 0.0 + gamma * 0.4 - 0.5
    a2, a1 = d2, d1 + gamma * lam * d2
    a0 = d0 + gamma * lam * a1
    assert flat(advantages) == pytest.approx([a0, a1, a2, 0.0])
    assert flat(returns) == pytest.approx([a0 + 0.5, a1 + 0.4, a2 + 0.3, 0.0])


def test_whitening_uses_the_masked_entries_only():
    x, mask = t([[1.0, 2.0, 100.0], [3.0, 0.0, 0.0]]), t([[1, 1, 0], [1, 0, 0]])
    out = ppo.masked_whiten(x, mask)
    values = [1.0, 2.0, 3.0]
    mean, std = sum(values) / 3, math.sqrt(sum((v - 2.0) ** 2 for v in values) / 2)
    assert flat(out) == pytest.approx([(1 - mean) / std, (2 - mean) / std, 0.0, (3 - mean) / std, 0.0, 0.0],
                                      abs=1e-6)


def test_the_clipped_policy_objective_clipfrac_and_approximate_kl():
    old = t([[0.0, 0.0]])
    new = t([[math.log(1.5), math.log(0.9)]])  # ratios 1.5 and 0.9
    advantages, mask = t([[1.0, -2.0]]), t([[1, 1]])
    loss, clipfrac, approx_kl = ppo.policy_loss(new, old, advantages, mask, cliprange=0.2)
    # token 0: max(−1·1.5, −1·1.2) = −1.2; token 1: max(2·0.9, 2·0.9) = 1.8
    assert loss.item() == pytest.approx((-1.2 + 1.8) / 2)
    assert clipfrac.item() == pytest.approx(0.5)
    assert approx_kl.item() == pytest.approx(((0.5 - math.log(1.5)) + (-0.1 - math.log(0.9))) / 2)


def test_the_clipped_value_loss():
    loss, clipfrac = ppo.value_loss(t([[2.0, 0.0]]), t([[1.0, 0.0]]), t([[3.0, 1.0]]), t([[1, 1]]),
                                    cliprange_value=0.5)
    # token 0: V_clip = 1.5; max((2−3)², (1.5−3)²) = 2.25; token 1: max(1, 1) = 1
    assert loss.item() == pytest.approx(0.5 * (2.25 + 1.0) / 2)
    assert clipfrac.item() == pytest.approx(0.5)


def test_the_adaptive_kl_controller_moves_beta_towards_the_target():
    ctl = ppo.AdaptiveKLController(value=0.1, target=6.0, horizon=10000)
    assert ctl.update(12.0, n_steps=100) == pytest.approx(0.1 * (1 + 0.2 * 100 / 10000))  # error clipped to +0.2
    ctl = ppo.AdaptiveKLController(value=0.1, target=6.0, horizon=10000)
    assert ctl.update(5.4, n_steps=100) == pytest.approx(0.1 * (1 - 0.1 * 100 / 10000))
    assert ppo.FixedKLController(0.3).update(100.0, 10) == 0.3
