from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import importing
from annotation.models import Project
from annotation.services.imports import items_import


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
        try:
            raw = importing.parse_upload(file.read_bytes(), file.name)
            lines = importing.validate_lines(raw, kind=target.kind, responses_per_item=target.responses_per_item)
        except importing.ImportError_ as exc:
            for error in exc.errors:
                where = file if error["line"] is None else f"{file}:{error['line']}"
                self.stderr.write(f"{where}: {error['field']}: {error['message']}")
            raise CommandError(f"nothing imported: {len(exc.errors)} error(s)") from None
        with tqdm(total=len(lines), unit="item", disable=options["verbosity"] == 0, file=self.stderr) as bar:
            result = items_import(project=target, lines=lines, progress=bar.update)
        self.stdout.write(f"created {result['created']}, skipped {result['skipped']} already present")
