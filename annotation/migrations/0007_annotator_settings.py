import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0006_audit_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="min_demonstration_chars",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Demonstrations shorter than this (not counting surrounding spaces) are refused; 0: no minimum.",
                validators=[django.core.validators.MaxValueValidator(100000)],
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="gold_feedback",
            field=models.BooleanField(
                default=False,
                help_text="Tell an annotator, once their answer to a gold item is stored, whether it matched.",
            ),
        ),
    ]
