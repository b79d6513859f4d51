from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from training.models import Model
from training.services.registry import model_register


class Command(BaseCommand):
    help = "Register a local save_pretrained folder as a model that jobs can train from."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", default=Model.Kind.BASE, choices=Model.Kind.values)
        parser.add_argument("--description", default="")

    def handle(self, name, path, kind, description, **options):
        try:
            model = model_register(name=name, folder=path, kind=kind, description=description)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stdout.write(f"registered model {model.pk} {model.name}: {model.architecture}, "
                          f"{model.parameter_count or 0:,} parameters ({model.task})")
