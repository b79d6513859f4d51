from django.contrib import admin

from .models import (
    Adjudication,
    AgreementReport,
    Annotation,
    Assignment,
    AuditEvent,
    DatasetSnapshot,
    Item,
    Membership,
    Project,
    Prompt,
    Response,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "kind", "annotations_per_item", "gold_ratio", "created_at"]
    list_filter = ["kind"]
    search_fields = ["name"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role"]
    list_filter = ["role", "project"]
    autocomplete_fields = ["user", "project"]


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "external_id", "created_at"]
    search_fields = ["external_id"]
    list_filter = ["project"]
    raw_id_fields = ["project"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ["id", "prompt", "model_name", "source"]
    list_filter = ["source"]
    raw_id_fields = ["prompt"]


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "prompt", "is_gold", "n_submitted", "n_leased", "open_slots", "agreement"]
    list_filter = ["project", "is_gold"]
    raw_id_fields = ["prompt", "project"]
    # Counters are maintained by the assignment services; editing them by hand breaks the overlap guarantee.
    readonly_fields = ["n_submitted", "n_leased", "open_slots", "agreement"]
    fields = ["project", "prompt", "response_ids", "is_gold", "gold_answer", *readonly_fields]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "annotator", "status", "expires_at"]
    list_filter = ["status", "project"]
    raw_id_fields = ["item", "annotator", "project"]


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "annotator", "preference", "both_bad", "created_at"]
    list_filter = ["project", "both_bad"]
    raw_id_fields = ["item", "annotator", "project", "assignment"]


@admin.register(Adjudication)
class AdjudicationAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "item", "preference", "decided_by", "decided_at"]
    list_filter = ["project"]
    raw_id_fields = ["item", "project", "from_answer", "decided_by"]


@admin.register(AgreementReport)
class AgreementReportAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "status", "stamp", "computed_at", "seconds"]
    list_filter = ["status"]
    readonly_fields = ["data"]


@admin.register(DatasetSnapshot)
class DatasetSnapshotAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "state", "created_by", "created_at"]
    list_filter = ["state", "project"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # snapshots are immutable


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is written by the services (this site's own edits go to Django's admin log)."""

    list_display = ["id", "created_at", "actor_name", "action", "target_type", "target_id", "project"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
