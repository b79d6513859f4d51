"""Training code (SFT, reward model, PPO, DPO). No Django import here: it runs in a
subprocess of the GPU worker and must be usable on its own. Only this package imports torch."""
