import json
import shutil
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation import snapshots
from annotation.artifacts import snapshot_folder
from annotation.models import DatasetSnapshot
from annotation.services.snapshots import snapshot_build, snapshot_create

from .import_items import find_project


class Command(BaseCommand):
    help = ("Freeze a project's curated answers into a dataset snapshot, built here with a progress bar "
            "(the API builds them on a worker instead).")

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("--rules", help="curation rules as a JSON object (default: the project's saved rules)")
        parser.add_argument("--test-fraction", type=float, default=0.1, help="share of prompts held out (0..0.9)")
        parser.add_argument("--seed", type=int, default=0, help="fixes the split and the annotator pseudonyms")
        parser.add_argument("--parquet", action="store_true", help="also write every file as Parquet")
        parser.add_argument("--best-vs-rest", action="store_true",
                            help="rankings: only the best response against each other one (default: all pairs)")
        parser.add_argument("--user", help="username recorded as the snapshot's author")
        parser.add_argument("--out", type=Path, help="also copy the files into this folder")

    def handle(self, *args, project: str, **options):
        target = find_project(project)
        snapshot = self._create(target, options)
        with tqdm(unit="item", disable=options["verbosity"] == 0, file=self.stderr) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            snapshot = snapshot_build(snapshot_id=snapshot.pk, progress=progress)
        if snapshot.state != DatasetSnapshot.State.READY:
            raise CommandError(f"snapshot {snapshot.pk} failed: {snapshot.error}")
        self._report(snapshot)
        if options["out"]:
            self._copy(snapshot, options["out"])

    def _create(self, target, options) -> DatasetSnapshot:
        try:
            rules = json.loads(options["rules"]) if options["rules"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--rules: not valid JSON: {exc.msg}") from None
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user named {options['user']!r}")
        try:
            return snapshot_create(
                project=target, created_by=user, rules=rules, test_fraction=options["test_fraction"],
                seed=options["seed"], enqueue=False,
                options={"parquet": options["parquet"], "ranking_pairs": "best_vs_rest" if options["best_vs_rest"] else "all"},
            )
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(f"nothing built: {problems}") from None

    def _report(self, snapshot: DatasetSnapshot) -> None:
        counts = snapshot.counts
        self.stdout.write(f"snapshot {snapshot.pk}: {counts['items']} items, {counts['answers']} answers, "
                          f"{counts['pairs']} pairs, in {snapshot_folder(snapshot)}")
        for f in snapshot.files:
            self.stdout.write(f"{f['sha256']}  {f['name']}  ({f['rows']} rows)")
        self.stdout.write(f"fingerprint {snapshots.fingerprint(snapshot.files)}")

    def _copy(self, snapshot: DatasetSnapshot, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for f in snapshot.files:
            shutil.copyfile(snapshot_folder(snapshot) / f["name"], out / f["name"])
        self.stdout.write(f"copied {len(snapshot.files)} files to {out}")
