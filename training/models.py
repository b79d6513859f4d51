"""Training jobs, what they log, and the model registry.

A job's state lives here, not in the broker: the worker claims a queued job with a
compare-and-set, heartbeats while the engine runs, and a periodic reconciler requeues or
fails a running job whose heartbeat went stale (its worker died).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Model(models.Model):
    """A registered model: a `save_pretrained` folder in the artifact store, and where it came from."""

    class Kind(models.TextChoices):
        BASE = "base"
        POLICY = "policy"
        REWARD = "reward"

    class Task(models.TextChoices):
        CAUSAL_LM = "causal-lm"
        SEQUENCE_CLASSIFICATION = "sequence-classification"
        ENCODER = "encoder"  # a bare encoder (MiniLM): a reward backbone once a head is put on it

    class Source(models.TextChoices):
        TRAINED = "trained"
        REGISTERED = "registered"
        BUILTIN = "builtin"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    task = models.CharField(max_length=40, choices=Task.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    architecture = models.CharField(max_length=200, blank=True)
    parameter_count = models.BigIntegerField(null=True, blank=True)
    storage_prefix = models.CharField(max_length=300, help_text="Folder of the files in the artifact store.")
    files = models.JSONField(default=list, blank=True, help_text="[{name, bytes}]")
    job = models.OneToOneField("TrainingJob", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="output_model")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               help_text="The model it was trained from.")
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class TrainingJob(models.Model):
    class Kind(models.TextChoices):
        SFT = "sft"
        REWARD = "reward"
        DPO = "dpo"
        KTO = "kto"
        PPO = "ppo"
        RLOO = "rloo"
        GRPO = "grpo"
        EVALUATE = "evaluate"
        GENERATE = "generate"
        AI_ANNOTATE = "ai_annotate"
        CONSTITUTIONAL = "constitutional"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    snapshot = models.ForeignKey("annotation.DatasetSnapshot", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="training_jobs")
    base_model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="jobs_as_base")
    reference_model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="jobs_as_reference")
    reward_model = models.ForeignKey(Model, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="jobs_as_reward")
    config = models.JSONField(default=dict, help_text="The resolved config: every default filled in.")
    step = models.PositiveIntegerField(default=0)
    max_steps = models.PositiveIntegerField(null=True, blank=True)
    latest_metrics = models.JSONField(default=dict, blank=True)
    evaluation = models.JSONField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Trainer's end-of-run figures (runtime, ...).")
    samples = models.JSONField(default=list, blank=True)
    artifacts = models.JSONField(default=list, blank=True, help_text="[{name, bytes}] in the artifact store.")
    log_tail = models.TextField(blank=True, help_text="The last lines of the engine's log, kept while it runs.")
    resumed_from_step = models.PositiveIntegerField(null=True, blank=True,
                                                    help_text="The checkpoint the current attempt resumed from.")
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=3)
    worker_host = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    cancelled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True, help_text="When the current attempt started.")
    first_step_at = models.DateTimeField(null=True, blank=True, help_text="When the first step was logged.")
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="job_status_heartbeat_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(attempts__lte=models.F("max_attempts")), name="job_attempts_bounded"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class Constitution(models.Model):
    """A lead's principles for Constitutional AI: each a critique request and a revision request."""

    project = models.ForeignKey("annotation.Project", on_delete=models.CASCADE, related_name="constitutions")
    name = models.CharField(max_length=200)
    principles = models.JSONField(help_text='[{"critique": "...", "revision": "..."}]')
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ModelAnnotator(models.Model):
    """The user a model answers as (`ai:<model name>`): marks that user's answers as a model's."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_annotator")
    model = models.OneToOneField(Model, on_delete=models.PROTECT, related_name="annotator")

    def __str__(self) -> str:
        return f"{self.user} ({self.model})"


class TrainingMetric(models.Model):
    """Every logged step of a job (train and eval values of one step merged)."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    values = models.JSONField(default=dict)
    logged_at = models.DateTimeField()

    class Meta:
        ordering = ["job", "step"]
        constraints = [models.UniqueConstraint(fields=["job", "step"], name="metric_once_per_step")]

    def __str__(self) -> str:
        return f"job {self.job_id} step {self.step}"
