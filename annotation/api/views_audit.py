"""`/api/audit/`: the audit trail, for admins (everyone else 403, as every admin-only route)."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets

from ..models import AuditEvent
from ..selectors import audit_event_list_for_admin
from .permissions import IsAdmin


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", help_text="Username; empty for a command or a worker.")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "project", "changes"]


class AuditFilters(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1)
    actor = serializers.CharField(required=False, max_length=150, help_text="username")
    action = serializers.RegexField(r"^[a-z_]+(\.[a-z_]+)?$", required=False, max_length=50,
                                    help_text="e.g. membership.remove, or membership",
                                    error_messages={"invalid": "an action (membership.remove) or a family (membership)"})


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AuditEventOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        filters = AuditFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return audit_event_list_for_admin(**filters.validated_data)

    @extend_schema(parameters=[AuditFilters], summary="Who changed what, newest first (admins)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
