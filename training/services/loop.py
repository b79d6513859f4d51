"""Closing the loop, the worker's side: what the `generate`, `ai_annotate` and `constitutional` engines read
(written from the database before the run) and what their outputs become (items, answers, a snapshot), all or
nothing, in the same transaction as the job's success."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils import timezone

from annotation import importing, snapshots
from annotation.answers import AnswerError, canonicalize
from annotation.artifacts import snapshot_folder, snapshot_prefix
from annotation.models import Annotation, Assignment, DatasetSnapshot, Item, Membership, Project, Prompt, Response
from annotation.services.annotations import answer_shape
from annotation.services.imports import items_import
from annotation.services.quality import agreement_refresh_after_answer

from ..engine.data import read_rows
from ..engine.files import JobFiles, read_jsonl, write_jsonl
from ..models import Constitution, Model, ModelAnnotator, TrainingJob

ANSWERABLE = (Project.Kind.PAIRWISE, Project.Kind.RANKING)


# --- launch checks -------------------------------------------------------------------------------------------------

def _project(config: dict, key: str, *, kinds=None) -> Project:
    project = Project.objects.filter(pk=config.get(key)).first() if config.get(key) else None
    if project is None:
        raise ValidationError({f"config.{key}": "required: the id of a project"})
    if kinds and project.kind not in kinds:
        raise ValidationError({f"config.{key}": f"{project.name} is a {project.kind} project; this needs "
                                                f"{' or '.join(kinds)}"})
    return project


def loop_validate(kind: str, *, config: dict, snapshot, base_model) -> None:
    """The launch checks of the loop kinds; ValidationError naming the field."""
    if kind == TrainingJob.Kind.GENERATE:
        target = _project(config, "target_project", kinds=ANSWERABLE)
        k = config["candidates_per_prompt"] or target.responses_per_item
        if k != target.responses_per_item:
            raise ValidationError({"config.candidates_per_prompt": f"{target.name} shows {target.responses_per_item} "
                                                                   "responses per item"})
        config["candidates_per_prompt"] = k  # stored resolved, like every default
        if (snapshot is None) == (config["source_project"] is None):
            raise ValidationError({"snapshot": "give the prompts' source: a snapshot or config.source_project"})
        if config["source_project"] is not None:
            _project(config, "source_project")
        elif snapshot.state != DatasetSnapshot.State.READY:
            raise ValidationError({"snapshot": f"snapshot {snapshot.pk} is {snapshot.state}, not ready"})
        if config["compare_with_model"] is not None:
            other = Model.objects.filter(pk=config["compare_with_model"]).first()
            if other is None or other.task != Model.Task.CAUSAL_LM:
                raise ValidationError({"config.compare_with_model": "must be the id of a causal-lm model"})
    elif kind == TrainingJob.Kind.AI_ANNOTATE:
        _project(config, "project", kinds=ANSWERABLE)
    elif kind == TrainingJob.Kind.CONSTITUTIONAL:
        project = _project(config, "project")
        if not Constitution.objects.filter(pk=config.get("constitution"), project=project).exists():
            raise ValidationError({"config.constitution": f"must be the id of a constitution of {project.name}"})
        if config["destination"] == "project":
            _project(config, "target_project", kinds=(Project.Kind.PAIRWISE,))


def generation_preview(*, config: dict, snapshot) -> dict:
    """How many prompts, items and responses a `generate` job would create (before it runs)."""
    target = Project.objects.get(pk=config["target_project"])
    if config.get("source_project"):
        n = Prompt.objects.filter(project_id=config["source_project"]).count()
    else:  # the snapshot's own row counts: no file is read
        n = sum(f["rows"] for f in snapshot.files if f["name"] in ("prompts-train.jsonl", "prompts-test.jsonl"))
    n = min(n, config["max_prompts"])
    k = config["candidates_per_prompt"] or target.responses_per_item
    return {"prompts": n, "items": n, "responses": n * k, "target_project": target.pk,
            "candidates_per_prompt": k}


# --- inputs ---------------------------------------------------------------------------------------------------------

def _source_prompts(config: dict, folder: Path | None) -> list[dict]:
    limit = config["max_prompts"]
    if config.get("source_project"):
        rows = Prompt.objects.filter(project_id=config["source_project"]).order_by("id").values_list(
            "external_id", "conversation")[:limit]
        return [{"prompt_id": pid, "prompt": conversation} for pid, conversation in rows]
    rows = [r for split in ("train", "test") for r in read_rows(folder, "prompts", split)]
    return [{"prompt_id": r["prompt_id"], "prompt": r["prompt"]} for r in rows[:limit]]


def loop_inputs(job: TrainingJob, files: JobFiles, local_folder) -> dict:
    """Spec entries the engine needs, written from the database into the work folder."""
    cfg = job.config
    if job.kind == TrainingJob.Kind.GENERATE:
        from annotation import artifacts

        # the snapshot's files may be in a bucket: read them where this worker has them
        folder = artifacts.materialize(snapshot_prefix(job.snapshot_id)) if job.snapshot_id else None
        extra = {"prompts_file": write_jsonl(files.root / "prompts.jsonl", _source_prompts(cfg, folder))}
        if cfg["compare_with_model"]:
            other = Model.objects.get(pk=cfg["compare_with_model"])
            extra.update(compare_model_dir=str(local_folder(other)), compare_model_name=other.name)
        return extra
    if job.kind == TrainingJob.Kind.AI_ANNOTATE:
        project = Project.objects.get(pk=cfg["project"])
        user = _model_user(job.reward_model)
        items = Item.objects.filter(project=project).exclude(annotations__annotator=user).select_related(
            "prompt").order_by("id")[: cfg["max_items"]]
        texts = dict(Response.objects.filter(prompt__project=project).values_list("id", "text"))
        rows = ({"item_id": item.pk, "prompt": item.prompt.conversation,
                 "responses": [{"id": rid, "text": texts[rid]} for rid in item.response_ids]} for item in items)
        return {"items_file": write_jsonl(files.root / "items.jsonl", rows)}
    if job.kind == TrainingJob.Kind.CONSTITUTIONAL:
        constitution = Constitution.objects.get(pk=cfg["constitution"])
        prompts = Prompt.objects.filter(project_id=cfg["project"]).order_by("id").values_list(
            "external_id", "conversation")[: cfg["max_prompts"]]
        return {"prompts_file": write_jsonl(files.root / "prompts.jsonl", (
            {"prompt_id": pid, "prompt": c} for pid, c in prompts)),
                "constitution": {"name": constitution.name, "principles": constitution.principles}}
    return {}


# --- outputs (inside the job's success transaction) -----------------------------------------------------------------

def loop_outputs(job: TrainingJob, files: JobFiles) -> dict:
    """Turn the engine's output into items, answers or a snapshot; returns figures for the job's evaluation."""
    if job.kind == TrainingJob.Kind.GENERATE:
        return _import_round(job, files)
    if job.kind == TrainingJob.Kind.AI_ANNOTATE:
        return _record_answers(job, files)
    if job.kind == TrainingJob.Kind.CONSTITUTIONAL:
        return _constitutional_outputs(job, files)
    return {}


def _import_as_generated(job: TrainingJob, project: Project, lines: list[dict]) -> dict:
    """New items, every response marked generated by this job (with its model)."""
    raw = list(enumerate(lines, start=1))
    result = items_import(project=project, lines=importing.validate_lines(
        raw, kind=project.kind, responses_per_item=project.responses_per_item))
    Response.objects.filter(prompt__project=project, prompt__external_id__in=[ln["external_id"] for ln in lines]) \
        .update(source=Response.Source.GENERATED, generated_by_job_id=job.pk)
    return result


def _import_round(job: TrainingJob, files: JobFiles) -> dict:
    project = Project.objects.get(pk=job.config["target_project"])
    lines = [{"external_id": f"gen-{job.pk}-{row['prompt_id']}"[:200], "conversation": row["prompt"],
              "responses": row["responses"], "metadata": {"generated_by_job": job.pk, "source_prompt": row["prompt_id"]}}
             for row in read_jsonl(files.output / "generations.jsonl")]
    result = _import_as_generated(job, project, lines) if lines else {"created": 0, "skipped": 0}
    return {"target_project": project.pk, "items_created": result["created"]}


def _model_user(model: Model):
    """The user `ai:<model name>` a model answers as, created once and marked as a model."""
    existing = ModelAnnotator.objects.select_related("user").filter(model=model).first()
    if existing:
        return existing.user
    user = get_user_model().objects.create_user(f"ai:{model.name}"[:150], password=secrets.token_urlsafe(32))
    user.set_unusable_password()
    user.save(update_fields=["password"])
    ModelAnnotator.objects.create(user=user, model=model)
    return user


def ai_payload(project: Project, item: Item, scores: dict[int, float], *, tie_margin: float,
               strength_step: float) -> dict:
    """A person's answer from the scores: pairwise preference and strength from the difference, rankings by score
    (ties kept apart: the lower id first)."""
    if project.kind == Project.Kind.RANKING:
        return {"ranking": sorted(item.response_ids, key=lambda rid: (-scores[rid], rid))}
    first, second = item.response_ids[:2]
    difference = scores[second] - scores[first]
    if abs(difference) < tie_margin and project.allow_tie:
        return {"tie": True}
    strength = min(3, 1 + int(abs(difference) // strength_step))
    return {"chosen": second if difference > 0 else first, "strength": strength}


def _record_answers(job: TrainingJob, files: JobFiles) -> dict:
    cfg = job.config
    project = Project.objects.get(pk=cfg["project"])
    user = _model_user(job.reward_model)
    Membership.objects.get_or_create(user=user, project=project, defaults={"role": Membership.Role.ANNOTATOR})
    scores = {row["item_id"]: {int(k): v for k, v in row["scores"].items()} for row in
              read_jsonl(files.output / "scores.jsonl")}
    items = Item.objects.filter(pk__in=scores).exclude(annotations__annotator=user)
    now = timezone.now()
    written = 0
    for item in items:
        payload = ai_payload(project, item, scores[item.pk], tie_margin=cfg["tie_margin"],
                             strength_step=cfg["strength_step"])
        try:
            answer = canonicalize(payload, answer_shape(project, item))
        except AnswerError:
            continue  # an item whose responses changed since it was scored
        if cfg["take_overlap_slots"]:
            if not Item.objects.filter(pk=item.pk, open_slots__gt=0).update(n_submitted=F("n_submitted") + 1,
                                                                             open_slots=F("open_slots") - 1):
                continue  # the lead let it take slots: only free ones
        assignment = Assignment.objects.create(project=project, item=item, annotator=user,
                                               status=Assignment.Status.SUBMITTED, shown_order=list(item.response_ids),
                                               expires_at=now + timedelta(seconds=1), finished_at=now)
        Annotation.objects.create(project=project, item=item, annotator=user, assignment=assignment,
                                  shown_order=list(item.response_ids), preference=answer.preference,
                                  ranking=answer.ranking, both_bad=answer.both_bad,
                                  rationale=f"scored by {job.reward_model.name} (job {job.pk})")
        written += 1
    if written:
        agreement_refresh_after_answer(project.pk)
    return {"project": project.pk, "answers": written, "annotator": user.username}


def _constitutional_outputs(job: TrainingJob, files: JobFiles) -> dict:
    cfg = job.config
    rows = [r for r in read_jsonl(files.output / "constitutional.jsonl")
            if r["original"] and r["revision"] and r["original"] != r["revision"]]
    if cfg["destination"] == "project":
        project = Project.objects.get(pk=cfg["target_project"])
        model = job.base_model.name
        lines = [{"external_id": f"cai-{job.pk}-{r['prompt_id']}"[:200], "conversation": r["prompt"],
                  "responses": [{"text": r["original"], "model": f"{model} (original)"},
                                {"text": r["revision"], "model": f"{model} (revision)"}],
                  "metadata": {"constitutional_job": job.pk, "critique": r["critique"],
                               "principle": r["principle"]}} for r in rows]
        result = _import_as_generated(job, project, lines) if lines else {"created": 0}
        return {"target_project": project.pk, "items_created": result["created"]}
    return {"snapshot": _preference_snapshot(job, rows).pk, "pairs": len(rows)}


def _preference_snapshot(job: TrainingJob, rows: list[dict]) -> DatasetSnapshot:
    """A ready snapshot of (revision preferred over original) pairs, which reward and DPO jobs train on."""
    from annotation import artifacts
    from annotation.snapshots import rows as row_shapes

    project = Project.objects.get(pk=job.config["project"])
    snapshot = DatasetSnapshot.objects.create(project=project, state=DatasetSnapshot.State.BUILDING,
                                              rules={}, options={"source": "constitutional", "job": job.pk},
                                              test_fraction=0.0, created_by=job.created_by)
    files_ = snapshots.SnapshotFiles(snapshot_folder(snapshot).parent, str(snapshot.pk))
    verdict = row_shapes.Verdict(1, 1.0, None, 0)  # direction, margin, agreement, annotators: the revision wins
    for r in rows:
        files_.write("preference", "train", row_shapes.preference_row(
            conversation=r["prompt"], chosen=r["revision"], rejected=r["original"], verdict=verdict,
            prompt_id=r["prompt_id"], item_id=0))
        files_.write("prompts", "train", row_shapes.prompt_row(conversation=r["prompt"], prompt_id=r["prompt_id"]))
    infos = files_.publish()
    if not artifacts.is_local():
        artifacts.upload_folder(snapshot_folder(snapshot), snapshot_prefix(snapshot.pk))
    DatasetSnapshot.objects.filter(pk=snapshot.pk).update(
        state=DatasetSnapshot.State.READY, files=[i.to_dict() for i in infos], finished_at=timezone.now(),
        counts={"pairs": len(rows), "items": len(rows), "source": "constitutional"})
    snapshot.refresh_from_db()
    return snapshot


