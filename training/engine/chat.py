"""Chat templates. TRL's assistant-only SFT loss needs `{% generation %}` markers around assistant text."""

# ChatML, the template SmolLM2 and our tiny models use, with the generation markers TRL reads.
CHATML_TRAINING = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\n' }}"
    "{% else %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# For encoders with no chat template (MiniLM as a reward backbone): the turns as plain text.
PLAIN = (
    "{% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}Assistant: {% endif %}"
)


def load_tokenizer(folder, *, training_markers: bool = False):
    """A model folder's tokenizer with a usable chat template and a pad token (its EOS when it has none)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    ensure_template(tokenizer, training_markers=training_markers)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def ensure_template(tokenizer, *, training_markers: bool = False) -> None:
    """Give a tokenizer a usable template: ChatML with markers where its tokens allow, plain text otherwise."""
    template = tokenizer.chat_template or ""
    chatml = "<|im_start|>" in tokenizer.get_vocab()
    if training_markers and "generation %}" not in template and chatml:
        tokenizer.chat_template = CHATML_TRAINING
    elif not template:
        tokenizer.chat_template = CHATML_TRAINING if chatml else PLAIN
