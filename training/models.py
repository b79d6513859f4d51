"""Training jobs arrive with the training issue; the app is wired now so its room exists."""
