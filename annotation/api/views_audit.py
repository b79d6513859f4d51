"""`/api/audit/`: the audit trail, for admins (everyone else 403, as every admin-only route)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets

from ..models import AuditEvent
from ..services.audit import event_list
from .permissions import IsAdmin


class AuditEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_name", help_text="Username; empty for a command or a worker.")

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "action", "target_type", "target_id", "project", "changes"]


class AuditFilters(serializers.Serializer):
    project = serializers.IntegerField(required=False, min_value=1)
    actor = serializers.CharField(required=False, max_length=150)
    action = serializers.RegexField(r"^[a-z_]+(\.[a-z_]+)?$", required=False, max_length=50,
                                    error_messages={"invalid": "an action (membership.remove) or a family (membership)"})


class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = AuditEventOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        filters = AuditFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return event_list(**filters.validated_data)

    @extend_schema(parameters=[OpenApiParameter("project", int), OpenApiParameter("actor", str, description="username"),
                               OpenApiParameter("action", str, description="e.g. membership.remove, or membership")],
                   summary="Who changed what, newest first (admins)")
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
