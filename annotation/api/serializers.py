from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..answers import ANSWER_COLUMNS, ANSWER_FIELDS
from ..models import Adjudication, Annotation, Assignment, Item, Membership, Project
from ..selectors import item_shown, remaining_for_user, user_list_for_admin
from .answer_in import AdjudicationIn, AnswerCriterionIn, AnswerIn  # noqa: F401 (the API's serializers, all here)

User = get_user_model()


class UserOut(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined",
                  "last_login"]


class UserMembershipOut(serializers.ModelSerializer):
    project_name = serializers.CharField(source="project.name")

    class Meta:
        model = Membership
        fields = ["project", "project_name", "role"]


class UserDetailOut(UserOut):
    memberships = UserMembershipOut(many=True, read_only=True)

    class Meta(UserOut.Meta):
        fields = [*UserOut.Meta.fields, "memberships"]


class UserPatch(serializers.Serializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    email = serializers.EmailField(required=False, allow_blank=True)
    is_staff = serializers.BooleanField(required=False, help_text="admin")


class PasswordIn(serializers.Serializer):
    password = serializers.CharField(required=False, write_only=True, help_text="the new password")
    generate = serializers.BooleanField(required=False, default=False,
                                        help_text="true: a one-time password, answered once and never stored in clear")

    def validate(self, attrs):
        if bool(attrs.get("password")) == attrs["generate"]:
            raise serializers.ValidationError({"password": "give a new password, or generate: true (not both)"})
        return attrs


class UserIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", error_messages={"invalid": "letters, digits and @/./+/-/_ only"})
    password = serializers.CharField(min_length=8, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    is_staff = serializers.BooleanField(required=False, default=False)

    def validate_username(self, value: str) -> str:
        if user_list_for_admin().filter(username=value).exists():
            raise serializers.ValidationError("a user with this username already exists")
        return value


class LoginIn(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(write_only=True)


class ProjectOut(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    my_progress = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", "name", "kind", "guidelines", "annotations_per_item", "ranking_size", "allow_tie",
                  "criteria", "gold_ratio", "lease_seconds", "min_demonstration_chars", "gold_feedback", "created_at",
                  "role", "my_progress"]

    def get_role(self, project) -> str | None:
        return self.context.get("roles", {}).get(project.id)

    def get_my_progress(self, project) -> dict | None:
        progress = self.context.get("progress", {}).get(project.id)
        request = self.context.get("request")
        if progress is None or request is None:
            return progress
        return {**progress, "remaining": remaining_for_user(project, request.user)}


class ProjectIn(serializers.ModelSerializer):
    class Meta:
        model = Project
        fields = ["name", "kind", "guidelines", "annotations_per_item", "ranking_size", "allow_tie",
                  "criteria", "gold_ratio", "lease_seconds", "min_demonstration_chars", "gold_feedback"]


class ProjectPatch(ProjectIn):
    class Meta(ProjectIn.Meta):
        # The kind decides the shape of every stored answer: it is fixed at creation.
        read_only_fields = ["kind"]

    def validate(self, attrs):
        kind = self.initial_data.get("kind") if hasattr(self.initial_data, "get") else None
        if kind is not None and kind != self.instance.kind:  # refused aloud, not dropped: the caller meant it
            raise serializers.ValidationError({"kind": f"cannot change (this is a {self.instance.kind} project): "
                                                       "the kind decides the shape of every answer; create a new project"})
        return attrs


class MembershipOut(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "role"]


class MembershipIn(serializers.Serializer):
    user = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class ResponseShown(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()


class ItemShown(serializers.Serializer):
    """The item as an annotator sees it: no gold flag, no other answers."""

    id = serializers.IntegerField()
    conversation = serializers.JSONField()
    responses = ResponseShown(many=True)


class AssignmentOut(serializers.Serializer):
    assignment = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    item = ItemShown()


class SkipIn(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


# An answer as the API returns it: the declared answer fields (annotation.answers) with their help, and the order
# the responses were shown in. (A comment, not a docstring: the schema would give it to every subclass.)
class AnswerOut(serializers.ModelSerializer):
    class Meta:
        model = Annotation
        fields = ["id", "item", *ANSWER_FIELDS, "shown_order", "created_at", "updated_at"]
        extra_kwargs = {column.name: {"help_text": column.help} for column in ANSWER_COLUMNS}


class MyAnnotationOut(AnswerOut):
    project = serializers.IntegerField(source="project_id")

    class Meta(AnswerOut.Meta):
        fields = ["project", *AnswerOut.Meta.fields]


def prompt_preview(conversation) -> str:
    """The last user turn, cut to a line's length: enough to recognise an item in a list."""
    turns = [t.get("content", "") for t in conversation or [] if isinstance(t, dict) and t.get("role") == "user"]
    text = " ".join(str(turns[-1]).split()) if turns else ""
    return text if len(text) <= 160 else text[:159] + "…"


class MyAnnotationListOut(MyAnnotationOut):
    """One's own answer as the history lists it: the prompt to recognise it by, and whether it can still change."""

    prompt = serializers.SerializerMethodField()
    editable = serializers.SerializerMethodField()
    stored_order = serializers.JSONField(source="item.response_ids", read_only=True,
                                         help_text="the order `preference` is relative to")

    class Meta(MyAnnotationOut.Meta):
        fields = [*MyAnnotationOut.Meta.fields, "prompt", "editable", "stored_order"]

    def get_prompt(self, annotation) -> str:
        return prompt_preview(annotation.item.prompt.conversation)

    def get_editable(self, annotation) -> bool:  # the rule of services.annotations.annotation_update
        return annotation.item.n_submitted < annotation.project.annotations_per_item


class MyAnnotationDetailOut(MyAnnotationListOut):
    """With the item as it was shown, so that the answer can be read and changed beside it."""

    shown = serializers.SerializerMethodField()

    class Meta(MyAnnotationListOut.Meta):
        fields = [*MyAnnotationListOut.Meta.fields, "shown"]

    def get_shown(self, annotation) -> dict:
        conversation, texts = item_shown(annotation.item_id)
        order = annotation.shown_order or annotation.item.response_ids
        return {"id": annotation.item_id, "conversation": conversation,
                "responses": [{"id": rid, "text": texts[rid]} for rid in order if rid in texts]}


class MySkippedOut(serializers.ModelSerializer):
    assignment = serializers.IntegerField(source="id")
    project = serializers.IntegerField(source="project_id")
    item = serializers.IntegerField(source="item_id")
    reason = serializers.CharField(source="skip_reason")
    skipped_at = serializers.DateTimeField(source="finished_at")
    prompt = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["assignment", "project", "item", "reason", "skipped_at", "prompt"]

    def get_prompt(self, assignment) -> str:
        return prompt_preview(assignment.item.prompt.conversation)


class LeadAnnotationOut(AnswerOut):
    annotator = serializers.CharField(source="annotator.username")

    class Meta(AnswerOut.Meta):
        fields = ["annotator", *AnswerOut.Meta.fields]


class ItemLeadOut(serializers.ModelSerializer):
    external_id = serializers.CharField(source="prompt.external_id")
    conversation = serializers.JSONField(source="prompt.conversation")
    status = serializers.CharField()

    class Meta:
        model = Item
        fields = ["id", "external_id", "conversation", "response_ids", "is_gold", "gold_answer", "n_submitted",
                  "n_leased", "status", "agreement", "adjudicated", "created_at"]

    adjudicated = serializers.BooleanField(default=False, read_only=True)


class AdjudicationOut(serializers.ModelSerializer):
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = Adjudication
        fields = ["preference", "ranking", "from_answer", "note", "decided_by", "decided_at"]



class ItemResponseOut(serializers.Serializer):
    id = serializers.IntegerField()
    text = serializers.CharField()
    model = serializers.CharField(source="model_name")


class ItemNeighboursOut(serializers.Serializer):
    previous = serializers.IntegerField(allow_null=True)
    next = serializers.IntegerField(allow_null=True)


class ItemDetailOut(ItemLeadOut):
    """The item as the lead's item page shows it: its responses, answers and ruling, and its neighbours in the list
    the same filters give."""

    # From selectors.item_detail_get_for_lead; the neighbours come in the context.

    responses = ItemResponseOut(many=True, source="shown_responses", help_text="in the stored order")
    metadata = serializers.JSONField(source="prompt.metadata")
    answers = LeadAnnotationOut(many=True, source="lead_answers")
    adjudication = AdjudicationOut(allow_null=True)
    neighbours = serializers.SerializerMethodField()

    class Meta(ItemLeadOut.Meta):
        fields = [*ItemLeadOut.Meta.fields, "responses", "metadata", "answers", "adjudication", "neighbours"]

    @extend_schema_field(ItemNeighboursOut)
    def get_neighbours(self, item) -> dict:
        return self.context["neighbours"]


class GoldIn(serializers.Serializer):
    is_gold = serializers.BooleanField()
    expected = serializers.JSONField(required=False, allow_null=True, default=None)


class ImportResult(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    skipped_ids = serializers.ListField(child=serializers.CharField())


class ImportProblem(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True)
    field = serializers.CharField()
    message = serializers.CharField()


class ImportPreviewRow(serializers.Serializer):
    line = serializers.IntegerField()
    external_id = serializers.CharField()
    conversation = serializers.ListField(child=serializers.DictField())
    responses = serializers.ListField(child=serializers.DictField())
    metadata = serializers.DictField()


class ImportPreview(serializers.Serializer):
    ok = serializers.BooleanField(help_text="true: importing this would succeed, with the counts below")
    created = serializers.IntegerField(allow_null=True, help_text="items it would create (null when not ok)")
    skipped = serializers.IntegerField(allow_null=True, help_text="lines whose external_id the project already has")
    skipped_ids = serializers.ListField(child=serializers.CharField())
    rows = ImportPreviewRow(many=True, help_text="the first valid lines, as they would be stored (texts clipped)")
    errors = ImportProblem(many=True, help_text="every problem: the first 100, then one line counting the rest")
    error_count = serializers.IntegerField()
