"""The audit trail: one event per change of project settings, gold answers, curation rules, memberships,
training jobs and users, written in the transaction of the change.

A service that changes one of these calls ``record`` after its write and before it returns, so the event and
the change are committed (or rolled back) together.
"""

from django.db import transaction
from django.db.models import Model

from ..models import AuditEvent, Project


def diff(before: dict, after: dict) -> dict:
    """{field: [before, after]} for the fields whose value changed."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


def record(*, actor, action: str, target: Model, project: Project | int | None = None,
           changes: dict | None = None) -> AuditEvent:
    """Write one event; `actor` None is a command or a worker. Must run inside the change's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"audit.record({action!r}) outside a transaction: the event could outlive its change")
    signed_in = actor is not None and actor.is_authenticated
    return AuditEvent.objects.create(
        actor=actor if signed_in else None, actor_name=actor.get_username() if signed_in else "",
        action=action, target_type=target._meta.model_name, target_id=str(target.pk),
        project_id=project.pk if isinstance(project, Project) else project, changes=changes or {},
    )
