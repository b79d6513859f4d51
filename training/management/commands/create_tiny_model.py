import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Prompt, Response
from training.models import Model
from training.services.engine_cli import engine_call
from training.services.registry import model_register

TEXTS = 2000


def platform_texts(limit: int = TEXTS) -> list[str]:
    """Prompts and responses already on the platform: the tokenizer is trained on what it will read."""
    texts = [turn.get("content", "") for conversation in Prompt.objects.values_list("conversation", flat=True)[:limit]
             for turn in conversation if isinstance(turn, dict)]
    texts += list(Response.objects.values_list("text", flat=True)[:limit])
    return [" ".join(t.split()) for t in texts if t and t.strip()]


class Command(BaseCommand):
    help = "Create and register a tiny random Llama-style model (for tests and fast demos)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, name, seed, **options):
        if Model.objects.filter(name=name).exists():
            raise CommandError(f"a model named {name!r} is registered already")
        with tempfile.TemporaryDirectory() as tmp:
            texts = Path(tmp) / "texts.txt"
            texts.write_text("\n".join(platform_texts()), encoding="utf-8")
            engine_call("tiny-model", str(Path(tmp) / "model"), "--texts", str(texts), "--seed", str(seed))
            model = model_register(name=name, folder=Path(tmp) / "model",
                                   description="tiny random Llama-style model (create_tiny_model)")
        self.stdout.write(f"registered model {model.pk} {model.name}: {model.parameter_count:,} parameters")
