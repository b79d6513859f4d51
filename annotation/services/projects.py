from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ..answers import AnswerShape, canonicalize
from ..models import Item, Membership, Project
from . import audit
from .annotations import answer_shape
from .assignments import leases_end

User = get_user_model()


@transaction.atomic
def project_create(*, created_by, **fields) -> Project:
    project = Project(created_by=created_by, **fields)
    project.full_clean()
    project.save()
    audit.record(actor=created_by, action="project.create", target=project, project=project,
                 changes=audit.diff({}, fields))
    return project


@transaction.atomic
def project_update(*, project: Project, actor=None, **fields) -> Project:
    overlap_before = project.annotations_per_item
    before = {name: getattr(project, name) for name in fields}
    for name, value in fields.items():
        setattr(project, name, value)
    project.full_clean()
    project.save()
    if project.annotations_per_item != overlap_before:
        # Keep open_slots = overlap - submitted - leased for every item, under the same lock order as claims.
        Item.objects.filter(project=project).update(
            open_slots=project.annotations_per_item - F("n_submitted") - F("n_leased")
        )
    if changes := audit.diff(before, fields):
        audit.record(actor=actor, action="project.update", target=project, project=project, changes=changes)
    return project


def _locked_leads(project: Project) -> list[int]:
    """The project's lead memberships, locked first and in one order: two leads removing each other at once are
    serialised, so the second sees that the first left."""
    return list(Membership.objects.select_for_update().filter(project=project, role=Membership.Role.LEAD)
                .order_by("id").values_list("id", flat=True))


def _keep_a_lead(membership: Membership | None, leads: list[int], *, field: str, doing: str) -> None:
    """Refuse to take away the project's last lead: nobody but an admin could manage it then."""
    if membership is not None and leads == [membership.id]:
        raise ValidationError({field: f"{membership.user.username!r} is the project's last lead and cannot be "
                                      f"{doing}: make another member lead first"})


@transaction.atomic
def membership_set(*, project: Project, username: str, role: str, actor=None) -> Membership:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise ValidationError({"user": f"no user named {username!r}"})
    if role not in Membership.Role.values:
        raise ValidationError({"role": f"must be one of {Membership.Role.values}"})
    if role != Membership.Role.LEAD:
        leads = _locked_leads(project)
        current = Membership.objects.select_related("user").filter(user=user, project=project).first()
        _keep_a_lead(current, leads, field="role", doing="made an annotator")
    before = Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
    membership, created = Membership.objects.update_or_create(user=user, project=project, defaults={"role": role})
    if before != role:
        audit.record(actor=actor, action="membership.add" if created else "membership.change", target=user,
                     project=project, changes={"role": [before, role]})
    return membership


@transaction.atomic
def membership_remove(*, project: Project, username: str, actor=None) -> int:
    """Remove a member; their live leases end and give their slots back. Returns how many were removed."""
    leads = _locked_leads(project)
    membership = Membership.objects.select_related("user").filter(project=project, user__username=username).first()
    if membership is None:
        return 0
    _keep_a_lead(membership, leads, field="user", doing="removed")
    membership.delete()
    leases_end(project_id=project.id, annotator_id=membership.user_id)
    audit.record(actor=actor, action="membership.remove", target=membership.user, project=project,
                 changes={"role": [membership.role, None]})
    return 1


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", is_staff: bool = False, actor=None):
    user = User.objects.create_user(username=username, password=password, email=email, is_staff=is_staff)
    audit.record(actor=actor, action="user.create", target=user,
                 changes={"username": [None, username], "email": [None, email], "is_staff": [None, is_staff]})
    return user


@transaction.atomic
def item_set_gold(*, item: Item, is_gold: bool, expected: dict | None, actor=None) -> Item:
    """Mark an item gold with its expected answer (given in the submit payload form)."""
    project = item.project
    before = {"is_gold": item.is_gold, "gold_answer": item.gold_answer}
    if is_gold:
        if project.kind == Project.Kind.DEMONSTRATION:
            raise ValidationError({"is_gold": "demonstration items have no single right answer to check"})
        if expected is None:
            raise ValidationError({"expected": "required when is_gold is true"})
        shape: AnswerShape = answer_shape(project, item)
        answer = canonicalize(expected, shape)
        item.gold_answer = answer.preference if project.kind == Project.Kind.PAIRWISE else answer.ranking
    else:
        item.gold_answer = None
    item.is_gold = is_gold
    item.save(update_fields=["is_gold", "gold_answer"])
    if changes := audit.diff(before, {"is_gold": item.is_gold, "gold_answer": item.gold_answer}):
        audit.record(actor=actor, action="item.gold", target=item, project=project, changes=changes)
    return item
