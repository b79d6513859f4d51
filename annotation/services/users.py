"""Admins manage accounts: edit, deactivate and reactivate, reset a password. Each change is audited.

There is always at least one active admin: a change that would leave none is refused, under a lock on the
active admins' rows, so two admins demoting each other at once cannot both succeed. A user's own API token is
made here too (`token_get_or_create`), and ends with a password reset or a deactivation.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from ..models import Assignment
from . import audit
from .assignments import leases_end

User = get_user_model()
EDITABLE = ("first_name", "last_name", "email", "is_staff")


def _keep_an_admin(user, *, field: str, doing: str) -> None:
    """Refuse a change that leaves no active admin (call before saving it)."""
    admins = list(User.objects.select_for_update().filter(is_staff=True, is_active=True).order_by("pk")
                  .values_list("pk", flat=True))
    if admins == [user.pk]:
        raise ValidationError({field: f"{user.username!r} is the last active admin and cannot be {doing}: "
                                      "make another user admin first"})


@transaction.atomic
def user_update(*, user, actor, **fields):
    """Change a user's name, email or admin flag."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: "cannot be changed here"})
    if user.is_staff and fields.get("is_staff") is False:
        _keep_an_admin(user, field="is_staff", doing="made a non-admin")
    before = {name: getattr(user, name) for name in fields}
    for name, value in fields.items():
        setattr(user, name, value)
    user.save(update_fields=list(fields) or None)
    if changes := audit.diff(before, fields):
        audit.record(actor=actor, action="user.update", target=user, changes=changes)
    return user


@transaction.atomic
def user_set_active(*, user, actor, active: bool):
    """Deactivate (they can no longer sign in; their tokens and live leases end) or reactivate a user."""
    if user.is_active == active:
        return user
    if not active:
        if user.pk == actor.pk:
            raise ValidationError({"user": "you cannot deactivate yourself: ask another admin"})
        if user.is_staff:
            _keep_an_admin(user, field="user", doing="deactivated")
        Token.objects.filter(user=user).delete()
        leased = Assignment.objects.filter(annotator=user, status=Assignment.Status.LEASED)
        for project_id in set(leased.values_list("project_id", flat=True)):
            leases_end(project_id=project_id, annotator_id=user.pk)
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit.record(actor=actor, action="user.reactivate" if active else "user.deactivate", target=user,
                 changes={"is_active": [not active, active]})
    return user


def token_get_or_create(*, user) -> Token:
    """The user's API token, made on their first ask; the same one after (until a reset or deactivation)."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


@transaction.atomic
def user_set_password(*, user, actor, password: str | None = None) -> str:
    """Set a new password (Django's validators decide), or generate one; returns it. Ends the user's tokens;
    their sessions end by themselves, as a session is bound to the password it began with."""
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(12)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    audit.record(actor=actor, action="user.password_reset", target=user,
                 changes={"password": [None, "generated" if generated else "set"]})
    return password
