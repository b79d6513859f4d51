import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0005_one_live_lease"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("actor_name", models.CharField(blank=True, help_text="The actor's username then, kept as written.",
                                                max_length=150)),
                ("action", models.CharField(help_text="e.g. project.update, membership.remove, job.cancel",
                                            max_length=50)),
                ("target_type", models.CharField(max_length=50)),
                ("target_id", models.CharField(max_length=200)),
                ("changes", models.JSONField(blank=True, default=dict, help_text="{field: [before, after]}")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("actor", models.ForeignKey(blank=True, help_text="Null for a command or a worker.", null=True,
                                            on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                                            to=settings.AUTH_USER_MODEL)),
                ("project", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                              related_name="+", to="annotation.project")),
            ],
            options={
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["project", "-id"], name="audit_project_idx"),
                    models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
                    models.Index(fields=["action", "-id"], name="audit_action_idx"),
                ],
            },
        ),
    ]
