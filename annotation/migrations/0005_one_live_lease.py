"""assignment_live_idx becomes unique: at most one live lease per annotator and project.

Twin `next` calls could each create one before; the extra ones (all but the newest) end as expired
and give their slots back, as a reclaim would, so that the unique index can be built.
"""

from django.db import migrations, models
from django.db.models import Count, F, Max
from django.utils import timezone


def end_extra_live_leases(apps, schema_editor):
    Assignment = apps.get_model("annotation", "Assignment")
    Item = apps.get_model("annotation", "Item")
    doubled = (Assignment.objects.filter(status="leased").values("annotator_id", "project_id")
               .annotate(n=Count("id"), newest=Max("id")).filter(n__gt=1))
    for row in doubled:
        extra = (Assignment.objects.filter(status="leased", annotator_id=row["annotator_id"],
                                           project_id=row["project_id"]).exclude(id=row["newest"]))
        for item_id in list(extra.values_list("item_id", flat=True)):
            Item.objects.filter(id=item_id).update(n_leased=F("n_leased") - 1, open_slots=F("open_slots") + 1)
        extra.update(status="expired", finished_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ("annotation", "0004_lease_index"),
    ]

    operations = [
        migrations.RunPython(end_extra_live_leases, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="assignment", name="assignment_live_idx"),
        migrations.AddConstraint(
            model_name="assignment",
            constraint=models.UniqueConstraint(condition=models.Q(("status", "leased")), fields=("annotator", "project"),
                                               name="assignment_live_idx"),
        ),
    ]
