"""The engine's side of the conversation with the worker: metrics, checkpoints and cancel, through files."""

from __future__ import annotations

import math
import time

from transformers import TrainerCallback

from .files import JobFiles, append_jsonl

# Trainer's end-of-run summary keys: kept as the run's summary, not drawn as a curve.
SUMMARY_KEYS = {"train_runtime", "train_samples_per_second", "train_steps_per_second", "total_flos", "train_loss"}


def clean(values: dict) -> dict:
    """Numbers only; NaN and infinities become None (JSON has neither)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
    return out


class JobCallback(TrainerCallback):
    """Writes every log to metrics.jsonl, announces checkpoints, and stops within one step of a cancel."""

    def __init__(self, files: JobFiles, *, resumed_from: int | None = None):
        self.files, self.resumed_from = files, resumed_from
        self.cancelled = False
        self.summary: dict = {}

    def on_train_begin(self, args, state, control, **kwargs):
        self.files.event("train_begin", step=state.global_step, max_steps=state.max_steps,
                         resumed_from=self.resumed_from)

    def on_step_end(self, args, state, control, **kwargs):
        self.files.event("step", step=state.global_step, max_steps=state.max_steps)
        if self.files.cancel_requested():
            self.cancelled = True
            control.should_save = True  # the cancelled run keeps its last step
            control.should_training_stop = True

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        values = clean(logs)
        summary = {k: values.pop(k) for k in list(values) if k in SUMMARY_KEYS}
        self.summary.update(summary)
        if set(values) - {"epoch"}:
            append_jsonl(self.files.metrics, {"step": state.global_step, "time": time.time(), "values": values})

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.files.event("checkpoint", step=state.global_step, path=f"checkpoint-{state.global_step}")
