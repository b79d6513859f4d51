"""Reads shared by views and tasks. Visibility rules live here: what a user may not see
is simply not in the queryset, so it answers 404."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    TextField,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce

from . import artifacts
from .loading import annotator_speed_and_gold
from .models import (
    Adjudication,
    Annotation,
    Assignment,
    AuditEvent,
    DatasetSnapshot,
    Item,
    Membership,
    Project,
    Response,
)
from .sql import columns, from_db_json, instances, rows


def project_list_for_user(user) -> QuerySet[Project]:
    if user.is_staff:
        return Project.objects.all()
    return Project.objects.filter(Exists(Membership.objects.filter(project=OuterRef("pk"), user=user)))


def project_get_for_user(user, pk) -> Project | None:
    """The project if the user may see it, with their role as `my_role` ('admin', 'lead' or 'annotator'), in one
    query; None otherwise."""
    role = Value("admin") if user.is_staff else Subquery(
        Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1])
    return project_list_for_user(user).annotate(my_role=role).filter(pk=pk).first()


def in_visible_project(user) -> Q:
    """Rows (assignments, answers) of the projects the user may see: a member's, or any for admins."""
    if user.is_staff:
        return Q()
    return Q(Exists(Membership.objects.filter(project=OuterRef("project"), user=user)))


def project_for_member(user, project_id: int) -> Project | None:
    """The project if the user may see it, in one query: the hot path of `next` starts here."""
    found = instances(
        Project,
        f"SELECT {columns(Project, 'p')} FROM annotation_project p WHERE p.id = %s AND (%s OR EXISTS ("
        "SELECT 1 FROM annotation_membership m WHERE m.project_id = p.id AND m.user_id = %s))",
        [project_id, user.is_staff, user.pk],
    )
    return found[0] if found else None


def item_shown(item_id: int) -> tuple[list, dict[int, str]]:
    """What an annotator sees of an item: its conversation and its responses' texts by id, in one query."""
    # No joins, only lookups by the item's prompt: planning a join let PostgreSQL 15 probe the ends of the indexes,
    # which after a large delete (a removed project) cost milliseconds per call until the next VACUUM.
    found = rows(
        "SELECT p.conversation, NULL, NULL FROM annotation_prompt p "
        "WHERE p.id = (SELECT prompt_id FROM annotation_item WHERE id = %s) "
        "UNION ALL SELECT NULL, r.id, r.text FROM annotation_response r "
        "WHERE r.prompt_id = (SELECT prompt_id FROM annotation_item WHERE id = %s)",
        [item_id, item_id],
    )
    conversations = [conversation for conversation, rid, _ in found if rid is None]
    if not conversations:
        raise Item.DoesNotExist(f"item {item_id} does not exist")
    return from_db_json(conversations[0]), {rid: text for _, rid, text in found if rid is not None}


def user_list_for_admin(*, with_memberships: bool = False) -> QuerySet:
    """Every user by username; `with_memberships`: their memberships too, with the projects, by project."""
    users = get_user_model().objects.order_by("username")
    if with_memberships:
        users = users.prefetch_related(
            Prefetch("memberships", Membership.objects.select_related("project").order_by("project_id")))
    return users


def project_member(project: Project, username: str):
    """The user of that name if they belong to the project or answered in it (a removed member's answers stay)."""
    return get_user_model().objects.filter(
        Q(Exists(Membership.objects.filter(project=project, user=OuterRef("pk"))))
        | Q(Exists(Annotation.objects.filter(project=project, annotator=OuterRef("pk")))),
        username=username).first()


def project_roles_for_user(user) -> dict[int, str]:
    """{project id: the user's role}: their memberships', and 'admin' on every other project for an admin."""
    roles = dict(Membership.objects.filter(user=user).values_list("project_id", "role"))
    if user.is_staff:
        roles.update({pid: "admin" for pid in Project.objects.exclude(pk__in=list(roles)).values_list("id", flat=True)})
    return roles


def my_progress_for_user(user, project_ids: list[int]) -> dict[int, dict]:
    rows = (
        Assignment.objects.filter(annotator=user, project_id__in=project_ids)
        .values("project_id")
        .annotate(done=Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
                  skipped=Count("id", filter=Q(status=Assignment.Status.SKIPPED)))
    )
    out = {pid: {"done": 0, "skipped": 0} for pid in project_ids}
    for row in rows:
        out[row["project_id"]] = {"done": row["done"], "skipped": row["skipped"]}
    return out


def remaining_for_user(project: Project, user) -> int:
    """The items `next` still has for this user: those they have not touched that need answers, and, when the
    project mixes gold in, every gold item they have not touched (each annotator gets each gold item once).

    Gold counts like any item, so that the figure drops by one with every lease: by it an annotator must not
    be able to tell a gold item from another (services.assignments hands out exactly these)."""
    touched = Assignment.objects.filter(project=project, annotator=user).exclude(status=Assignment.Status.EXPIRED).values("item_id")
    waiting = Q(is_gold=False, open_slots__gt=0)
    if project.gold_ratio > 0:
        waiting |= Q(is_gold=True)
    return Item.objects.filter(waiting, project=project).exclude(id__in=touched).count()


def items_for_lead(project: Project) -> QuerySet[Item]:
    """The project's items with what the lead's screens derive: `no_one_left` (not complete, no live lease, and
    every annotator of the project has answered or skipped it: it needs more annotators) and `adjudicated`."""
    annotators = Membership.objects.filter(project=project, role=Membership.Role.ANNOTATOR).values("user")
    # Counted, not "no annotator without an assignment": one range scan of the (item, annotator) index per item.
    touched = (Assignment.objects.filter(item=OuterRef("pk"), annotator__in=annotators,
                                         status__in=[Assignment.Status.SUBMITTED, Assignment.Status.SKIPPED,
                                                     Assignment.Status.LEASED])
               .order_by().values("item").annotate(n=Count("id")).values("n"))
    stuck = Q(n_submitted__lt=project.annotations_per_item, n_leased=0, annotators_done__gte=annotators.count())
    return (Item.objects.filter(project=project).select_related("prompt", "project")
            .alias(annotators_done=Coalesce(Subquery(touched), 0))
            .annotate(no_one_left=ExpressionWrapper(stuck, output_field=BooleanField()),
                      adjudicated=Exists(Adjudication.objects.filter(item=OuterRef("pk")))))


class ItemStatus(TextChoices):
    """The lead's item filter: where an item stands against its overlap (derived from counters, not stored)."""
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    NEEDS_ANNOTATORS = "needs_annotators"
    COMPLETE = "complete"


def item_list_for_lead(project: Project, *, status: str | None = None, is_gold: bool | None = None,
                       min_agreement: float | None = None, max_agreement: float | None = None,
                       q: str | None = None, metadata: dict[str, str] | None = None, annotator=None,
                       flagged: bool | None = None, model: str | None = None,
                       adjudicated: bool | None = None) -> QuerySet[Item]:
    """Items by id, filtered as the lead's list asks (each filter already validated by the view)."""
    items = items_for_lead(project).order_by("id")
    overlap = project.annotations_per_item
    if status == ItemStatus.OPEN:
        items = items.filter(n_submitted=0, no_one_left=False)
    elif status == ItemStatus.IN_PROGRESS:
        items = items.filter(n_submitted__gt=0, n_submitted__lt=overlap, no_one_left=False)
    elif status == ItemStatus.COMPLETE:
        items = items.filter(n_submitted__gte=overlap)
    elif status == ItemStatus.NEEDS_ANNOTATORS:
        items = items.filter(no_one_left=True)
    if is_gold is not None:
        items = items.filter(is_gold=is_gold)
    if min_agreement is not None:
        items = items.filter(agreement__gte=min_agreement)
    if max_agreement is not None:
        items = items.filter(agreement__lte=max_agreement)
    if q:
        items = items.filter(Q(prompt__conversation__icontains=q)
                             | Exists(Response.objects.filter(prompt=OuterRef("prompt"), text__icontains=q)))
    # Compared as text: "3" finds 3, "true" true. The cast makes it a text comparison on SQLite too, where
    # a key's exact lookup would otherwise read the value given as JSON (and `forum` is not JSON).
    for n, (key, value) in enumerate((metadata or {}).items()):
        items = items.alias(**{f"metadata_{n}": Cast(KeyTextTransform(key, "prompt__metadata"), TextField())}).filter(
            **{f"metadata_{n}": value})
    if annotator is not None:
        items = items.filter(Exists(Annotation.objects.filter(item=OuterRef("pk"), annotator=annotator)))
    if flagged is not None:
        flags = Annotation.objects.filter(item=OuterRef("pk")).exclude(flags=[])
        items = items.filter(Exists(flags) if flagged else ~Exists(flags))
    if model:
        items = items.filter(Exists(Response.objects.filter(prompt=OuterRef("prompt"), model_name=model)))
    if adjudicated is not None:
        items = items.filter(adjudicated=adjudicated)
    return items


def prompt_excerpts(item_ids: list[int], length: int) -> dict[int, str]:
    """item id -> the start of its prompt's last user turn (what the annotators were asked), at most `length`."""
    out = {}
    for item_id, conversation in Item.objects.filter(pk__in=item_ids).values_list("id", "prompt__conversation"):
        asked = [turn.get("content", "") for turn in conversation or [] if turn.get("role") == "user"]
        text = " ".join((asked[-1] if asked else "").split())
        out[item_id] = text if len(text) <= length else text[:length - 1] + "…"
    return out


def contested_item_list_for_lead(rows: list[dict] | None, *, excerpt: int = 120) -> list[dict]:
    """An agreement report's most contested items, each with an excerpt of its prompt (read now: reports keep ids)."""
    rows = rows or []
    prompts = prompt_excerpts([row["item"] for row in rows], excerpt)
    return [{**row, "prompt": prompts.get(row["item"], "")} for row in rows]


def item_get_for_lead(project: Project, item_id: int) -> Item:
    """One item of the project, with its prompt, to change (gold, a ruling); Item.DoesNotExist (a 404) otherwise."""
    return Item.objects.select_related("prompt", "project").get(pk=item_id, project=project)


def item_detail_get_for_lead(project: Project, item_id: int) -> Item:
    """One item as the lead's item page shows it: what the list derives, plus `shown_responses` (its responses in
    stored order), its answers oldest first (`lead_answers`) and the lead's ruling, in a few queries."""
    item = (items_for_lead(project).select_related("adjudication__decided_by")
            .prefetch_related("prompt__responses",
                              Prefetch("annotations", Annotation.objects.select_related("annotator").order_by("created_at"),
                                       to_attr="lead_answers"))
            .get(pk=item_id))
    responses = {response.pk: response for response in item.prompt.responses.all()}
    item.shown_responses = [responses[rid] for rid in item.response_ids if rid in responses]
    return item


def item_neighbours_for_lead(project: Project, item: Item, **filters) -> dict[str, int | None]:
    """The ids before and after the item in the lead's list as `filters` (item_list_for_lead's) give it."""
    listed = item_list_for_lead(project, **filters).values_list("id", flat=True)
    return {"previous": listed.filter(id__lt=item.id).order_by("-id").first(),
            "next": listed.filter(id__gt=item.id).order_by("id").first()}


def membership_list_for_lead(project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("user__username")


def snapshot_list_for_user(user) -> QuerySet[DatasetSnapshot]:
    """Snapshots the user may see: those of projects they lead; all for admins."""
    snapshots = DatasetSnapshot.objects.select_related("project", "created_by")
    if user.is_staff:
        return snapshots
    return snapshots.filter(project__memberships__user=user, project__memberships__role=Membership.Role.LEAD)


def snapshot_list_for_lead(project: Project) -> QuerySet[DatasetSnapshot]:
    return DatasetSnapshot.objects.filter(project=project).select_related("project", "created_by")


def snapshot_file_path(*, snapshot: DatasetSnapshot, name: str) -> Path | None:
    """The path of one of a ready snapshot's files; None for any other name."""
    if snapshot.state != DatasetSnapshot.State.READY or name not in {f["name"] for f in snapshot.files}:
        return None
    return artifacts.snapshot_folder(snapshot) / name


def audit_event_list_for_admin(*, project: int | None = None, actor: str | None = None,
                               action: str | None = None) -> QuerySet[AuditEvent]:
    """Newest first. `action` is one action (membership.remove) or a family (membership)."""
    events = AuditEvent.objects.all()
    if project is not None:
        events = events.filter(project_id=project)
    if actor:
        events = events.filter(actor_name=actor)
    if action:
        events = events.filter(action=action) if "." in action else events.filter(action__startswith=action + ".")
    return events.order_by("-id")


def annotation_list_for_annotator(user, *, project_id: int | None = None) -> QuerySet[Annotation]:
    qs = (Annotation.objects.filter(in_visible_project(user), annotator=user)
          .select_related("item__prompt", "project").order_by("-created_at"))
    if project_id is not None:
        qs = qs.filter(project_id=project_id)
    return qs


def skipped_list_for_annotator(user, *, project_id: int | None = None) -> QuerySet[Assignment]:
    qs = (Assignment.objects.filter(in_visible_project(user), annotator=user, status=Assignment.Status.SKIPPED)
          .select_related("item__prompt").order_by("-finished_at", "-id"))
    return qs if project_id is None else qs.filter(project_id=project_id)


def project_progress(project: Project) -> dict:
    overlap = project.annotations_per_item
    items = Item.objects.filter(project=project).aggregate(
        total=Count("id"),
        open=Count("id", filter=Q(n_submitted=0)),
        complete=Count("id", filter=Q(n_submitted__gte=overlap)),
    )
    stuck = items_for_lead(project).filter(no_one_left=True).aggregate(
        n=Count("id"), unanswered=Count("id", filter=Q(n_submitted=0)))
    items["open"] -= stuck["unanswered"]  # skipped by everyone: it needs annotators, it is not open
    items["needs_annotators"] = stuck["n"]
    items["in_progress"] = items["total"] - items["open"] - items["complete"] - items["needs_annotators"]
    items["adjudicated"] = Adjudication.objects.filter(project=project).count()
    per_user: dict[int, dict] = {}
    assignment_counts = (
        Assignment.objects.filter(project=project)
        .values("annotator_id", "annotator__username")
        .annotate(
            done=Count("id", filter=Q(status=Assignment.Status.SUBMITTED)),
            skipped=Count("id", filter=Q(status=Assignment.Status.SKIPPED)),
            in_progress=Count("id", filter=Q(status=Assignment.Status.LEASED)),
        )
    )
    for row in assignment_counts:
        per_user[row["annotator_id"]] = {
            "username": row["annotator__username"], "done": row["done"], "skipped": row["skipped"],
            "in_progress": row["in_progress"],
        }
    # Speed and gold accuracy: the agreement report's own computation (one place), not a second one here.
    figures = annotator_speed_and_gold(project)
    annotators = []
    for user_id, row in sorted(per_user.items(), key=lambda pair: pair[1]["username"]):
        mine = figures.get(user_id)
        row["median_seconds"] = round(mine.median_seconds, 2) if mine and mine.median_seconds is not None else None
        row["gold_answered"] = mine.gold_answered if mine else 0
        row["gold_accuracy"] = round(mine.gold_accuracy, 4) if mine and mine.gold_accuracy is not None else None
        annotators.append(row)
    total_answers = sum(r["done"] for r in annotators)
    return {"items": items, "annotations": total_answers, "annotators": annotators}
