from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation import snapshots
from annotation.api.params import Choice, WholeNumber
from annotation.models import DatasetSnapshot

from ..engine.config import KINDS
from ..models import Constitution, Model, TrainingJob, TrainingMetric


class JobFiltersIn(serializers.Serializer):
    kind = Choice(sorted(KINDS))
    status = Choice(sorted(TrainingJob.Status.values))
    project = WholeNumber(help_text="jobs of this project's snapshots or rounds")
    model = WholeNumber(help_text="jobs that read this model")


class ModelFiltersIn(serializers.Serializer):
    kind = Choice(sorted(Model.Kind.values))
    task = Choice(sorted(Model.Task.values))


class MetricsQueryIn(serializers.Serializer):
    after = WholeNumber(help_text="only steps after this one")


class LogQueryIn(serializers.Serializer):
    lines = WholeNumber(minimum=1, help_text="how many of the last lines (200 when left out)")


class JobIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(KINDS))
    snapshot = serializers.PrimaryKeyRelatedField(queryset=DatasetSnapshot.objects.select_related("project"),
                                                  required=False, allow_null=True)
    base_model = serializers.PrimaryKeyRelatedField(queryset=Model.objects.all(), required=False, allow_null=True)
    reference_model = serializers.PrimaryKeyRelatedField(queryset=Model.objects.all(), required=False,
                                                         allow_null=True)
    reward_model = serializers.PrimaryKeyRelatedField(queryset=Model.objects.all(), required=False, allow_null=True)
    config = serializers.JSONField(required=False, default=dict,
                                   help_text="Settings of the kind (GET /api/training-jobs/kinds/ has their schema); "
                                             "left out: defaults.")


class ModelRef(serializers.ModelSerializer):
    class Meta:
        model = Model
        fields = ["id", "name", "kind", "task"]


class SnapshotRef(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name")
    fingerprint = serializers.SerializerMethodField()

    class Meta:
        model = DatasetSnapshot
        fields = ["id", "project", "project_name", "fingerprint", "rules", "counts", "created_at"]

    def get_fingerprint(self, snapshot) -> str:
        return snapshots.fingerprint(snapshot.files)


class ProgressOut(serializers.Serializer):
    step = serializers.IntegerField()
    max_steps = serializers.IntegerField(allow_null=True)
    fraction = serializers.FloatField(allow_null=True)
    eta_seconds = serializers.FloatField(allow_null=True)


class JobOut(serializers.ModelSerializer):
    snapshot = SnapshotRef(read_only=True)
    base_model = ModelRef(read_only=True)
    reference_model = ModelRef(read_only=True)
    reward_model = ModelRef(read_only=True)
    output_model = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cancelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    can_cancel = serializers.SerializerMethodField()
    can_retry = serializers.SerializerMethodField()

    class Meta:
        model = TrainingJob
        fields = ["id", "kind", "status", "snapshot", "base_model", "reference_model", "reward_model", "output_model",
                  "config", "progress", "latest_metrics", "evaluation", "summary", "samples", "artifacts", "attempts", "resumed_from_step",
                  "max_attempts", "worker_host", "heartbeat_at", "error", "created_by", "cancelled_by", "created_at",
                  "queued_at", "started_at", "first_step_at", "finished_at", "cancel_requested_at", "can_cancel",
                  "can_retry"]

    @extend_schema_field(ModelRef(allow_null=True))
    def get_output_model(self, job) -> dict | None:
        model = getattr(job, "output_model", None)
        return ModelRef(model).data if model else None

    @extend_schema_field(ProgressOut)
    def get_progress(self, job) -> dict:
        fraction = job.step / job.max_steps if job.max_steps else None
        eta = None
        if job.status == TrainingJob.Status.RUNNING and job.first_step_at and job.step and job.max_steps:
            from django.utils import timezone

            done = max(job.step - (job.resumed_from_step or 0), 1)  # steps taken by this attempt
            per_step = (timezone.now() - job.first_step_at).total_seconds() / done
            eta = round(per_step * (job.max_steps - job.step), 1)
        return {"step": job.step, "max_steps": job.max_steps, "fraction": fraction, "eta_seconds": eta}

    def get_can_cancel(self, job) -> bool:
        return job.status in (TrainingJob.Status.QUEUED, TrainingJob.Status.RUNNING) and not job.cancel_requested_at

    def get_can_retry(self, job) -> bool:
        return job.status in (TrainingJob.Status.FAILED, TrainingJob.Status.CANCELLED)


class MetricOut(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="logged_at")

    class Meta:
        model = TrainingMetric
        fields = ["step", "time", "values"]


class MetricsOut(serializers.Serializer):
    results = MetricOut(many=True)
    last_step = serializers.IntegerField(allow_null=True)


class LogOut(serializers.Serializer):
    text = serializers.CharField()
    lines = serializers.IntegerField()


class KindOut(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    snapshot_format = serializers.CharField()
    output_kind = serializers.CharField()
    base_model_kinds = serializers.ListField(child=serializers.CharField())
    base_model_tasks = serializers.ListField(child=serializers.CharField())
    reference_model = serializers.BooleanField()
    reward_model = serializers.BooleanField()
    schema = serializers.DictField()


class LineageOut(serializers.Serializer):
    job = serializers.DictField(allow_null=True)
    snapshot = serializers.DictField(allow_null=True)
    project = serializers.DictField(allow_null=True)


class ModelOut(serializers.ModelSerializer):
    lineage = serializers.SerializerMethodField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Model
        fields = ["id", "name", "kind", "task", "source", "architecture", "parameter_count", "files", "job", "parent",
                  "description", "created_by", "created_at", "lineage"]

    @extend_schema_field(LineageOut(allow_null=True))
    def get_lineage(self, model) -> dict | None:
        job = model.job
        if job is None:
            return None
        snapshot = job.snapshot
        return {"job": {"id": job.pk, "kind": job.kind, "status": job.status},
                "snapshot": {"id": snapshot.pk, "fingerprint": snapshots.fingerprint(snapshot.files),
                             "rules": snapshot.rules} if snapshot else None,
                "project": {"id": snapshot.project_id, "name": snapshot.project.name} if snapshot else None}


class PreviewOut(serializers.Serializer):
    prompts = serializers.IntegerField()
    items = serializers.IntegerField()
    responses = serializers.IntegerField()
    target_project = serializers.IntegerField()
    candidates_per_prompt = serializers.IntegerField()


class PrincipleIn(serializers.Serializer):
    critique = serializers.CharField(max_length=4000, help_text="The critique request, e.g. 'Point out anything "
                                                                "harmful in your last answer.'")
    revision = serializers.CharField(max_length=4000, help_text="The revision request, e.g. 'Rewrite it without "
                                                                "the harmful parts.'")


class ConstitutionIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    principles = PrincipleIn(many=True, allow_empty=False)


class ConstitutionOut(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Constitution
        fields = ["id", "project", "name", "principles", "created_by", "created_at"]


class StrengthOut(serializers.Serializer):
    model = serializers.CharField()
    strength = serializers.FloatField()
    ci_low = serializers.FloatField()
    ci_high = serializers.FloatField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    ties = serializers.IntegerField()
    comparisons = serializers.IntegerField()


class StrengthsOut(serializers.Serializer):
    models = StrengthOut(many=True)


class LineageGraphOut(serializers.Serializer):
    nodes = serializers.ListField(child=serializers.DictField())
    edges = serializers.ListField(child=serializers.DictField())
