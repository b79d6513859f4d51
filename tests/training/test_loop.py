"""Closing the loop on tiny models, through the API and a real worker: SFT → reward → PPO (and DPO) → evaluate →
generate a new round → the AI annotator and a person answer it → agreement → a new snapshot → the next reward
model. And the pieces: provenance, the AI annotator's rules, all-or-nothing imports, Constitutional AI."""

import json

import pytest

from annotation.models import Annotation, DatasetSnapshot, Item, Project, Response
from annotation.services.quality import agreement_report_get, agreement_run
from training.models import Constitution, ModelAnnotator, TrainingJob
from training.services.loop import ai_payload

from .. import factories
from .conftest import _answer, _snapshot, wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.training]
STEPS = {"max_steps": 4, "per_device_train_batch_size": 4, "max_length": 64, "save_steps": 4,
         "learning_rate": 3e-3}
REWARD = {**STEPS, "max_length": 512}  # the demo's pairs are long in the tiny model's tokens; the trainer drops longer


def run(api, user, worker, **body) -> TrainingJob:
    response = api(user).post("/api/training-jobs/", body, format="json")
    assert response.status_code == 201, response.json()
    job = wait_for_job(response.json()["id"], lambda j: j.is_finished, worker=worker)
    assert job.status == "succeeded", (job.kind, job.error, job.log_tail[-1500:])
    return job


@pytest.fixture
def demo_snapshots(artifacts):
    """`make run`'s demo data: the ready demonstration and preference snapshots, and the demo's lead."""
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from training.management.commands.load_training_demo import DEMONSTRATIONS, PREFERENCES

    call_command("load_demo", stdout=StringIO())
    call_command("load_training_demo", "--skip-models", stdout=StringIO())
    ready = DatasetSnapshot.objects.filter(state="ready")
    return (ready.get(project__name=DEMONSTRATIONS), ready.get(project__name=PREFERENCES),
            get_user_model().objects.get(username="lead"))


def test_the_whole_loop(api, admin, tiny_model, demo_snapshots, training_worker):
    """On the demo data, as a new user of `make run` would go round it."""
    sft_snapshot, preference_snapshot, lead = demo_snapshots
    worker = training_worker()
    sft = run(api, admin, worker, kind="sft", snapshot=sft_snapshot.pk, base_model=tiny_model.pk,
              config={**STEPS, "num_sample_generations": 0})
    policy = sft.output_model
    reward = run(api, admin, worker, kind="reward", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
                 config=REWARD)
    ppo = run(api, admin, worker, kind="ppo", snapshot=preference_snapshot.pk, base_model=policy.pk,
              reward_model=reward.output_model.pk,
              config={"max_steps": 2, "rollout_batch_size": 4, "per_device_train_batch_size": 4, "num_ppo_epochs": 1,
                      "response_length": 6, "save_steps": 2, "num_sample_generations": 1, "max_new_tokens": 4,
                      "checkpoint_eval_prompts": 2})
    run(api, admin, worker, kind="dpo", snapshot=preference_snapshot.pk, base_model=policy.pk,
        config={**STEPS, "num_sample_generations": 0})
    new_policy = ppo.output_model
    evaluation = run(api, admin, worker, kind="evaluate", snapshot=preference_snapshot.pk, base_model=new_policy.pk,
                     reward_model=reward.output_model.pk, config={"num_prompts": 4, "max_new_tokens": 4,
                                                                   "best_of_n": 0})
    assert evaluation.reference_model_id == policy.pk and "win_rate" in evaluation.evaluation

    # The next round: the new policy against the previous one, in a pairwise project of the lead's.
    person = factories.user("round-annotator")
    round2 = factories.project("pairwise", members={lead: "lead", person: "annotator"}, annotations_per_item=2,
                               name="round 2")
    generate = {"kind": "generate", "base_model": new_policy.pk,
                "config": {"target_project": round2.pk, "source_project": preference_snapshot.project_id,
                           "compare_with_model": policy.pk, "max_prompts": 8, "max_new_tokens": 6}}
    preview = api(lead).post("/api/training-jobs/preview/", generate, format="json")
    assert preview.status_code == 200, preview.json()
    assert preview.json() == {"prompts": 8, "items": 8, "responses": 16, "target_project": round2.pk,
                              "candidates_per_prompt": 2}
    assert not Item.objects.filter(project=round2).exists()  # a preview writes nothing
    job = run(api, lead, worker, **generate)  # a lead starts a round into their own project
    items = list(Item.objects.filter(project=round2))
    assert 0 < len(items) == job.evaluation["items_created"] <= 8
    responses = Response.objects.filter(prompt__project=round2)
    assert responses.count() == 2 * len(items)
    assert set(responses.values_list("source", "generated_by_job_id").distinct()) == {("generated", job.pk)}
    assert {tuple(sorted(Response.objects.filter(pk__in=i.response_ids).values_list("model_name", flat=True)))
            for i in items} == {tuple(sorted((new_policy.name, policy.name)))}

    # The AI annotator answers beside a person, taking no overlap slot.
    ai = run(api, lead, worker, kind="ai_annotate", reward_model=reward.output_model.pk,
             config={"project": round2.pk})
    model_user = ModelAnnotator.objects.get(model=reward.output_model).user
    assert model_user.username == f"ai:{reward.output_model.name}" and not model_user.has_usable_password()
    assert Annotation.objects.filter(project=round2, annotator=model_user).count() == len(items)
    assert all(i.open_slots == 2 and i.n_submitted == 0 for i in Item.objects.filter(project=round2))
    for item in items:
        _answer(person, item, {"chosen": item.response_ids[0], "strength": 2})
    run(api, lead, worker, kind="ai_annotate", reward_model=reward.output_model.pk, config={"project": round2.pk})
    assert Annotation.objects.filter(project=round2, annotator=model_user).count() == len(items)  # once per item
    assert ai.evaluation["answers"] == len(items)

    report = agreement_report_get(project=round2, filters={})
    agreement_run(report_id=report.pk)
    report.refresh_from_db()
    assert {a["annotator"] for a in report.data["annotators"]} >= {person.username, model_user.username}
    assert any(set(k["annotators"]) == {person.username, model_user.username} for k in report.data["cohen_kappa"])

    strengths = api(lead).get(f"/api/projects/{round2.pk}/model-strengths/").json()["models"]
    assert {s["model"] for s in strengths} == {new_policy.name, policy.name}
    assert all(s["ci_low"] <= s["strength"] <= s["ci_high"] and s["comparisons"] == 2 * len(items) for s in strengths)

    # A new snapshot of the round, and the next reward model trained on it.
    snapshot = _snapshot(round2, admin)
    assert snapshot.state == "ready" and any(f["name"] == "preference-train.jsonl" for f in snapshot.files)
    run(api, admin, worker, kind="reward", snapshot=snapshot.pk, base_model=tiny_model.pk, config=REWARD)

    graph = api(lead).get(f"/api/projects/{round2.pk}/lineage/").json()
    kinds = {n["type"] for n in graph["nodes"]}
    assert {"job", "model", "round", "snapshot"} <= kinds
    assert {"from": f"job:{job.pk}", "to": f"round:{job.pk}", "label": "wrote"} in graph["edges"]
    assert {"from": f"round:{job.pk}", "to": f"snapshot:{snapshot.pk}", "label": "answered into"} in graph["edges"]


@pytest.mark.django_db
def test_the_ai_annotators_answers_follow_the_scores():
    pairwise = Project(kind="pairwise", allow_tie=True)
    item = Item(response_ids=[10, 11])
    assert ai_payload(pairwise, item, {10: 0.2, 11: 1.9}, tie_margin=0.05, strength_step=0.5) == \
        {"chosen": 11, "strength": 3}
    assert ai_payload(pairwise, item, {10: 0.6, 11: 0.2}, tie_margin=0.05, strength_step=0.5) == \
        {"chosen": 10, "strength": 1}
    assert ai_payload(pairwise, item, {10: 0.5, 11: 0.52}, tie_margin=0.05, strength_step=0.5) == {"tie": True}
    ranking = Project(kind="ranking", ranking_size=3)
    assert ai_payload(ranking, Item(response_ids=[1, 2, 3]), {1: 0.1, 2: 0.9, 3: 0.1}, tie_margin=0,
                      strength_step=1) == {"ranking": [2, 1, 3]}


def test_a_failed_generation_writes_no_items(api, admin, tiny_model, preference_snapshot, training_worker,
                                             settings):
    """The engine's output is imported all or nothing: one bad candidate set fails the job and writes nothing."""
    from django.utils import timezone

    from training.engine.files import JobFiles, write_json_atomic
    from training.services.runner import _finish

    target = factories.project("pairwise", name="target")
    job = TrainingJob.objects.create(kind="generate", base_model=tiny_model, created_by=admin, status="running",
                                     started_at=timezone.now(), config={"target_project": target.pk})
    files = JobFiles(settings.TRAINING_WORK_ROOT / str(job.pk))
    files.output.mkdir(parents=True)
    good = {"prompt_id": "p1", "prompt": [{"role": "user", "content": "hi"}],
            "responses": [{"text": "a", "model": "m1"}, {"text": "b", "model": "m2"}]}
    broken = {**good, "prompt_id": "p2", "responses": [{"text": "a", "model": "m1"}]}  # one response for a pair
    (files.output / "generations.jsonl").write_text("\n".join(json.dumps(r) for r in (good, broken)) + "\n")
    write_json_atomic(files.result, {"status": "succeeded", "step": 1, "evaluation": {}, "samples": [],
                                     "summary": {}})
    assert _finish(job, files, 0) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "responses" in job.error
    assert not Item.objects.filter(project=target).exists() and not Response.objects.filter(
        prompt__project=target).exists()


def test_constitutional_ai_writes_pairs_with_their_critiques_to_a_dataset_and_to_a_project(
        api, admin, tiny_model, preference_snapshot, training_worker):
    worker = training_worker()
    source = preference_snapshot.project
    bad = api(admin).post(f"/api/projects/{source.pk}/constitutions/", {"name": "x", "principles": []},
                          format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("principles")
    created = api(admin).post(f"/api/projects/{source.pk}/constitutions/", {"name": "harmless", "principles": [
        {"critique": "Point out anything harmful or rude in your last answer.",
         "revision": "Rewrite your answer without anything harmful or rude."}]}, format="json")
    assert created.status_code == 201
    constitution = Constitution.objects.get(pk=created.json()["id"])
    common = {"project": source.pk, "constitution": constitution.pk, "max_prompts": 4, "max_new_tokens": 6}
    to_dataset = run(api, admin, worker, kind="constitutional", base_model=tiny_model.pk, config=common)
    assert to_dataset.samples and {"original", "critique", "revision", "principle"} <= set(to_dataset.samples[0])
    assert any(a["name"] == "constitutional.jsonl" for a in to_dataset.artifacts)
    snapshot = DatasetSnapshot.objects.get(pk=to_dataset.evaluation["snapshot"])
    assert snapshot.state == "ready" and snapshot.options["source"] == "constitutional"
    assert {f["name"] for f in snapshot.files} >= {"preference-train.jsonl"} or to_dataset.evaluation["pairs"] == 0

    target = factories.project("pairwise", name="confirm revisions")
    to_project = run(api, admin, worker, kind="constitutional", base_model=tiny_model.pk,
                     config={**common, "destination": "project", "target_project": target.pk})
    created_items = Item.objects.filter(project=target).select_related("prompt")
    assert created_items.count() == to_project.evaluation["items_created"]
    for item in created_items:
        assert item.prompt.metadata["critique"] is not None and item.prompt.metadata["principle"]["revision"]
        names = list(Response.objects.filter(pk__in=item.response_ids).values_list("model_name", flat=True))
        assert sorted(names) == [f"{tiny_model.name} (original)", f"{tiny_model.name} (revision)"]


@pytest.mark.django_db
def test_curation_can_leave_model_annotators_out_and_snapshots_say_which_answers_a_model_gave(
        artifacts, admin, tiny_model):
    from django.contrib.auth import get_user_model

    from annotation.artifacts import snapshot_folder
    from annotation.services.curation import curation_apply, curation_preview
    from training.models import Model

    person = factories.user("person")
    project = factories.project("pairwise", members={person: "annotator"}, annotations_per_item=2)
    factories.items(project, 4)
    reward = Model.objects.create(name="rm-x", kind="reward", task="sequence-classification", source="registered",
                                  storage_prefix="x")
    model_user = get_user_model().objects.create_user("ai:rm-x")
    ModelAnnotator.objects.create(user=model_user, model=reward)
    project.memberships.create(user=model_user, role="annotator")
    for item in Item.objects.filter(project=project):
        _answer(person, item, {"chosen": item.response_ids[0], "strength": 2})
        _answer(model_user, item, {"chosen": item.response_ids[1], "strength": 1})
    included = curation_apply(project=project, rules={})
    excluded = curation_apply(project=project, rules={"model_annotators": "exclude"})
    assert included.result.answer_ids.size == 8 and excluded.result.answer_ids.size == 4
    steps = curation_preview(project=project, rules={"model_annotators": "exclude"})["preview"]
    assert steps[0]["rule"] == "model_annotators" and steps[0]["removed_answers"] == 4
    snapshot = _snapshot(project, admin)
    raw = [json.loads(line) for line in (snapshot_folder(snapshot) / "raw-all.jsonl").read_bytes().splitlines()]
    assert sorted(r["annotator_is_model"] for r in raw) == [False] * 4 + [True] * 4


def test_the_ai_annotator_takes_overlap_slots_only_when_the_lead_says_so(transactional_db, admin, tiny_model,
                                                                       artifacts, settings):
    from django.utils import timezone

    from annotation.services.assignments import assignment_next
    from training.engine.files import JobFiles, write_json_atomic
    from training.models import Model
    from training.services.runner import _finish

    person = factories.user("slot-person")
    project = factories.project("pairwise", members={person: "annotator"}, annotations_per_item=1)
    factories.items(project, 3)
    reward = Model.objects.create(name="rm-slots", kind="reward", task="sequence-classification",
                                  source="registered", storage_prefix="x")
    items = list(Item.objects.filter(project=project).order_by("id"))
    job = TrainingJob.objects.create(kind="ai_annotate", reward_model=reward, created_by=admin, status="running",
                                     started_at=timezone.now(), config={"project": project.pk,
                                                                        "take_overlap_slots": True,
                                                                        "tie_margin": 0.05, "strength_step": 0.5})
    files = JobFiles(settings.TRAINING_WORK_ROOT / str(job.pk))
    files.output.mkdir(parents=True)
    scores = [{"item_id": i.pk, "scores": {str(i.response_ids[0]): 1.0, str(i.response_ids[1]): 0.0}}
              for i in items[:2]]
    (files.output / "scores.jsonl").write_text("".join(json.dumps(s) + "\n" for s in scores))
    write_json_atomic(files.result, {"status": "succeeded", "step": 2, "evaluation": {}, "samples": [],
                                     "summary": {}})
    assert _finish(job, files, 0) == "succeeded"
    assert TrainingJob.objects.get(pk=job.pk).evaluation["answers"] == 2
    refreshed = {i.pk: i for i in Item.objects.filter(project=project)}
    assert [refreshed[i.pk].open_slots for i in items] == [0, 0, 1]  # the lead let it take the slots it answered
    lease = assignment_next(project=project, user=person)
    assert lease is not None and lease.item_id == items[2].pk  # people get what is left
