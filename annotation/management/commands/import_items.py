from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import importing
from annotation.models import Project
from annotation.services.imports import import_limits, items_import_records


def find_project(ref: str) -> Project:
    project = Project.objects.filter(pk=int(ref)).first() if ref.isdigit() else Project.objects.filter(name=ref).first()
    if project is None:
        raise CommandError(f"no project with id or name {ref!r}")
    return project


class Command(BaseCommand):
    help = "Import prompts and candidate responses from a JSONL, JSON or CSV file into a project."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("file", type=Path)

    def handle(self, *args, project: str, file: Path, **options):
        target = find_project(project)
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        if file.stat().st_size > settings.IMPORT_MAX_BYTES:
            raise CommandError(f"{file}: larger than the {settings.IMPORT_MAX_BYTES // 1048576} MB import limit")
        errors = importing.Errors()
        with file.open("rb") as stream, tqdm(unit="line", disable=options["verbosity"] == 0, file=self.stderr) as bar:
            records = importing.records(stream, file.name, errors, import_limits())
            try:
                result = items_import_records(project=target, records=records, errors=errors, progress=bar.update)
            except importing.ImportError_ as exc:
                for error in exc.errors:
                    where = file if error["line"] is None else f"{file}:{error['line']}"
                    self.stderr.write(f"{where}: {error['field']}: {error['message']}")
                raise CommandError(f"nothing imported: {errors.total} error(s)") from None
        self.stdout.write(f"created {result['created']}, skipped {result['skipped']} already present")
