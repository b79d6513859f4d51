"""`make run`'s training demo: answered projects with ready snapshots that every job kind accepts."""

from io import StringIO

import pytest
from django.core.management import call_command

from annotation.models import Annotation, DatasetSnapshot, Project
from training.management.commands.load_training_demo import DEMONSTRATIONS, PREFERENCES
from training.models import Model
from training.services.jobs import job_validate

pytestmark = pytest.mark.django_db


def test_the_training_demo_gives_snapshots_every_kind_accepts(artifacts, tiny_folder):
    call_command("load_demo", stdout=StringIO())
    call_command("load_training_demo", "--skip-models", stdout=StringIO())
    call_command("load_training_demo", "--skip-models", stdout=StringIO())  # idempotent
    preferences, demonstrations = Project.objects.get(name=PREFERENCES), Project.objects.get(name=DEMONSTRATIONS)
    assert Annotation.objects.filter(project=preferences).count() == 3 * preferences.items.count()
    pref_snapshot = DatasetSnapshot.objects.get(project=preferences, state="ready")
    sft_snapshot = DatasetSnapshot.objects.get(project=demonstrations, state="ready")
    assert DatasetSnapshot.objects.filter(project=preferences).count() == 1
    from training.services.registry import model_register

    model = model_register(name="tiny", folder=tiny_folder)
    for kind, snapshot in (("sft", sft_snapshot), ("reward", pref_snapshot), ("dpo", pref_snapshot),
                           ("kto", pref_snapshot)):
        assert job_validate(kind=kind, snapshot=snapshot, base_model=model)["max_steps"] > 0
    assert not Model.objects.filter(source="builtin").exists()  # --skip-models
