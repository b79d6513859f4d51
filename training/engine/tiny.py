"""Tiny random Llama-style models for tests and fast demos: a byte-level BPE tokenizer trained on the
platform's own texts, ChatML with generation markers, and a config small enough to train in seconds on a CPU."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .chat import CHATML_TRAINING

SPECIAL = ["<|pad|>", "<|im_start|>", "<|im_end|>"]
FALLBACK_TEXTS = ["user assistant system", "The quick brown fox jumps over the lazy dog.",
                  "Hello! How can I help you today?", "Here is a short answer, with a list: one, two, three."]


def train_tokenizer(texts: Iterable[str], *, vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([*FALLBACK_TEXTS, *texts], trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|im_end|>",
                                   bos_token="<|im_start|>", chat_template=CHATML_TRAINING)


def create_tiny_model(folder: Path, texts: Iterable[str] = (), *, vocab_size: int = 512, hidden_size: int = 32,
                      layers: int = 2, heads: int = 2, seed: int = 0) -> dict:
    """Write a save_pretrained folder with a random LlamaForCausalLM and its tokenizer; returns its info."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=hidden_size * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=2048, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.bos_token_id,
                         tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    folder = Path(folder)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return {"architecture": "LlamaForCausalLM", "task": "causal-lm",
            "parameter_count": sum(p.numel() for p in model.parameters())}
