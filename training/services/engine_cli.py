"""Engine commands that make model folders (tiny models, the GGUF conversion), run in a subprocess so that
the Django side never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings


def engine_call(*args: str) -> dict:
    """Run `python -m training.engine ARGS` and return the JSON it prints last; RuntimeError with its output."""
    done = subprocess.run([sys.executable, "-m", "training.engine", *args], cwd=settings.BASE_DIR,
                          capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise RuntimeError(f"python -m training.engine {args[0]} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
