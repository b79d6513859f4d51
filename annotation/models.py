"""Projects, the items annotators see, and what they answer.

Assignment bookkeeping lives on the item row as counters (``n_submitted``,
``n_leased``, ``open_slots``) that every claim, submit, skip and reclaim changes in the
same transaction as the assignment row, so that ``next`` can pick an item from an index
instead of counting answers. ``open_slots = overlap - n_submitted - n_leased`` always.
"""

import hashlib
import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q


def default_criteria() -> list[str]:
    return ["helpfulness", "harmlessness", "honesty"]


class Project(models.Model):
    class Kind(models.TextChoices):
        DEMONSTRATION = "demonstration"
        PAIRWISE = "pairwise"
        RANKING = "ranking"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    guidelines = models.TextField(blank=True, help_text="Markdown shown to annotators.")
    annotations_per_item = models.PositiveSmallIntegerField(default=3, validators=[MinValueValidator(1)], help_text="Overlap.")
    ranking_size = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2), MaxValueValidator(9)], help_text="K, 2..9 (ranking only)."
    )
    allow_tie = models.BooleanField(default=True)
    criteria = models.JSONField(default=default_criteria, blank=True)
    gold_ratio = models.FloatField(
        default=0.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of assignments drawn from gold items.",
    )
    lease_seconds = models.PositiveIntegerField(default=1800, validators=[MinValueValidator(10)])
    min_demonstration_chars = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(100_000)],
        help_text="Demonstrations shorter than this (not counting surrounding spaces) are refused; 0: no minimum.",
    )
    gold_feedback = models.BooleanField(
        default=False, help_text="Tell an annotator, once their answer to a gold item is stored, whether it matched.",
    )
    curation_rules = models.JSONField(default=dict, blank=True, help_text="The project's saved curation rules.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(annotations_per_item__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(gold_ratio__gte=0) & Q(gold_ratio__lte=1), name="project_gold_ratio_0_1"),
            models.CheckConstraint(
                condition=Q(ranking_size__isnull=True) | (Q(ranking_size__gte=2) & Q(ranking_size__lte=9)),
                name="project_ranking_size_2_9",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.RANKING and self.ranking_size is None:
            raise ValidationError({"ranking_size": "a ranking project needs ranking_size (2..9)"})
        if self.kind != self.Kind.RANKING and self.ranking_size is not None:
            raise ValidationError({"ranking_size": "only ranking projects have a ranking_size"})
        if not isinstance(self.criteria, list) or not all(isinstance(c, str) and c for c in self.criteria):
            raise ValidationError({"criteria": "must be a list of names"})

    @property
    def responses_per_item(self) -> int:
        return {self.Kind.DEMONSTRATION: 0, self.Kind.PAIRWISE: 2}.get(self.kind, self.ranking_size or 0)


class Membership(models.Model):
    class Role(models.TextChoices):
        ANNOTATOR = "annotator"
        LEAD = "lead"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.project}"


class Prompt(models.Model):
    # No index of its own: the (project, external_id) unique constraint serves project lookups.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts", db_index=False)
    external_id = models.CharField(max_length=200)
    conversation = models.JSONField(help_text="[{role, content}, ...]; the last turn is the user's.")
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "external_id"], name="prompt_external_id_unique")]

    def __str__(self) -> str:
        return self.external_id


class Response(models.Model):
    class Source(models.TextChoices):
        IMPORTED = "imported"
        GENERATED = "generated"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="responses")
    text = models.TextField()
    model_name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.IMPORTED)
    # The training job that generated it; a plain id until the training app owns jobs.
    generated_by_job_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"response {self.pk} to {self.prompt_id}"


class Item(models.Model):
    """What an annotator sees: a prompt and its responses in their stored order."""

    # No index of its own: item_project_idx (project, id) serves project lookups.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="items", db_index=False)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="items")
    response_ids = models.JSONField(default=list, blank=True, help_text="Response ids in stored order.")
    is_gold = models.BooleanField(default=False)
    gold_answer = models.JSONField(null=True, blank=True, help_text="Expected answer, canonical form.")
    n_submitted = models.PositiveIntegerField(default=0)
    n_leased = models.PositiveIntegerField(default=0)
    open_slots = models.IntegerField(help_text="annotations_per_item - n_submitted - n_leased")
    agreement = models.FloatField(null=True, blank=True, help_text="Share of agreeing answer pairs.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # `next` walks this index: closest to completion first, then oldest.
            models.Index(
                fields=["project", "is_gold", "open_slots", "id"],
                name="item_next_idx",
                condition=Q(open_slots__gt=0),
            ),
            models.Index(fields=["project", "id"], name="item_project_idx"),
        ]

    def __str__(self) -> str:
        return f"item {self.pk}"

    @property
    def status(self) -> str:
        """open, in_progress or complete; needs_annotators where the lead's selector found no one left to answer."""
        if self.n_submitted < self.project.annotations_per_item and getattr(self, "no_one_left", False):
            return "needs_annotators"
        if self.n_submitted == 0:
            return "open"
        if self.n_submitted >= self.project.annotations_per_item:
            return "complete"
        return "in_progress"


class Assignment(models.Model):
    class Status(models.TextChoices):
        LEASED = "leased"
        SUBMITTED = "submitted"
        SKIPPED = "skipped"
        EXPIRED = "expired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.LEASED)
    shown_order = models.JSONField(default=list, blank=True, help_text="Response ids in the order shown.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="assignment_once_per_annotator"),
            # One live lease per annotator and project, whatever twin requests race: `next` returns the one held.
            models.UniqueConstraint(fields=["annotator", "project"], condition=Q(status="leased"),
                                    name="assignment_live_idx"),
        ]
        indexes = [
            models.Index(fields=["annotator", "project", "status"], name="assignment_mine_idx"),
            models.Index(
                fields=["project", "expires_at"], name="assignment_lease_idx", condition=Q(status="leased")
            ),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk} ({self.status})"


class Annotation(models.Model):
    """One annotator's answer to one item, in canonical form.

    pairwise: ``preference`` in -3..3 relative to the item's stored response order
    (negative: the first stored response is better, 0: tie). ranking: ``ranking`` lists
    response ids best first. demonstration: ``text``.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="annotations")
    annotator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="annotations")
    assignment = models.OneToOneField(Assignment, on_delete=models.CASCADE, related_name="annotation")
    preference = models.SmallIntegerField(null=True, blank=True)
    both_bad = models.BooleanField(default=False)
    ranking = models.JSONField(null=True, blank=True)
    text = models.TextField(blank=True)
    criteria = models.JSONField(default=dict, blank=True, help_text="{criterion: canonical sub-answer}")
    rationale = models.TextField(blank=True)
    flags = models.JSONField(default=list, blank=True)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    time_spent_ms = models.PositiveIntegerField(null=True, blank=True)
    shown_order = models.JSONField(default=list, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "annotator"], name="annotation_once_per_annotator"),
            models.UniqueConstraint(
                fields=["annotator", "idempotency_key"],
                name="annotation_idempotency_key_unique",
                condition=Q(idempotency_key__isnull=False),
            ),
            models.CheckConstraint(
                condition=Q(preference__isnull=True) | (Q(preference__gte=-3) & Q(preference__lte=3)),
                name="annotation_preference_range",
            ),
            models.CheckConstraint(
                condition=Q(confidence__isnull=True) | (Q(confidence__gte=1) & Q(confidence__lte=5)),
                name="annotation_confidence_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "created_at"], name="annotation_project_time_idx"),
            models.Index(fields=["project", "updated_at"], name="annotation_project_changed_idx"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk} by {self.annotator_id} on {self.item_id}"


class Adjudication(models.Model):
    """A lead's ruling on an item: the answer that stands, in canonical form, and why.

    Curation reads it (rule ``adjudication: "use"``) as the item's consensus. One per item: a new ruling
    replaces the old one, and withdrawing it deletes the row.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="adjudications")
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="adjudication")
    preference = models.SmallIntegerField(null=True, blank=True, help_text="pairwise: -3..3, stored order")
    ranking = models.JSONField(null=True, blank=True, help_text="ranking: canonical, ids or groups best first")
    from_answer = models.ForeignKey(Annotation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="The submitted answer chosen; empty for the lead's own answer.")
    note = models.TextField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(preference__isnull=True) | (Q(preference__gte=-3) & Q(preference__lte=3)),
                name="adjudication_preference_range",
            ),
        ]
        indexes = [models.Index(fields=["project", "item"], name="adjudication_project_idx")]

    def __str__(self) -> str:
        return f"adjudication of {self.item_id}"


class AgreementReport(models.Model):
    """A computed agreement report for one project and one set of filters (criterion, dates, annotators).

    Computed by a worker; ``stamp`` records which answers it saw (their count and latest
    change), so a reader can tell at once whether it is current.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_reports")
    key = models.CharField(max_length=64, help_text="sha256 of the normalised filters")
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    stamp = models.CharField(max_length=100, blank=True, help_text="answers seen: count and last change")
    data = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="agreement_report_unique")]

    def __str__(self) -> str:
        return f"agreement of {self.project_id} ({self.status})"

    @staticmethod
    def key_for(filters: dict) -> str:
        """The key of the report for these (normalised) filters."""
        return hashlib.sha256(json.dumps(filters, sort_keys=True).encode()).hexdigest()


class DatasetSnapshot(models.Model):
    """A frozen, hashed export of a project's curated answers. Immutable once ready."""

    class State(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="snapshots")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    rules = models.JSONField(default=dict, blank=True, help_text="Curation rules exactly as given.")
    options = models.JSONField(default=dict, blank=True, help_text="Export options (ranking pairs, parquet, ...).")
    test_fraction = models.FloatField(default=0.1, validators=[MinValueValidator(0.0), MaxValueValidator(0.9)])
    seed = models.BigIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    files = models.JSONField(default=list, blank=True, help_text="[{name, rows, sha256, bytes}]")
    library_version = models.CharField(max_length=50, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"snapshot {self.pk} of {self.project_id} ({self.state})"


class AuditEvent(models.Model):
    """Who changed what and when: project settings, gold answers, curation rules, memberships, training jobs, users.

    Written by ``annotation.services.audit.record`` in the transaction of the change it records, so an event
    exists exactly when its change was committed; never edited afterwards.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text="Null for a command or a worker.")
    actor_name = models.CharField(max_length=150, blank=True, help_text="The actor's username then, kept as written.")
    action = models.CharField(max_length=50, help_text="e.g. project.update, membership.remove, job.cancel")
    target_type = models.CharField(max_length=50)
    target_id = models.CharField(max_length=200)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [before, after]}")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["project", "-id"], name="audit_project_idx"),
            models.Index(fields=["actor", "-id"], name="audit_actor_idx"),
            models.Index(fields=["action", "-id"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name or 'system'} {self.action} {self.target_type} {self.target_id}"
