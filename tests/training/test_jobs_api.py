"""Launching jobs: the config schema, refusals that name the field, and who may see what. No worker needed."""

import pytest

from annotation.models import DatasetSnapshot
from training.models import Model, TrainingJob

from .. import factories

pytestmark = pytest.mark.django_db


def launch(api, user, **body):
    return api(user).post("/api/training-jobs/", body, format="json")


def test_each_kind_serves_a_schema_with_defaults_and_help_on_every_field(api, admin):
    kinds = {k["kind"]: k for k in api(admin).get("/api/training-jobs/kinds/").json()}
    assert set(kinds) == {"sft", "reward", "dpo", "kto", "ppo", "rloo", "grpo", "evaluate",
                           "generate", "ai_annotate", "constitutional"}
    assert kinds["ppo"]["reward_model"] and kinds["ppo"]["snapshot_format"] == "prompts"
    assert kinds["dpo"]["snapshot_format"] == "preference" and kinds["dpo"]["reference_model"] is True
    for kind in kinds.values():
        properties = kind["schema"]["properties"]
        assert kind["schema"]["additionalProperties"] is False
        assert all(p["description"] and "default" in p for p in properties.values())
    dpo = kinds["dpo"]["schema"]["properties"]
    assert dpo["beta"] == {"type": "number", "default": 0.1, "exclusiveMinimum": 0, "maximum": 1000,
                           "description": dpo["beta"]["description"]}
    assert dpo["loss_type"]["enum"][0] == "sigmoid"
    assert kinds["sft"]["schema"]["properties"]["eval_steps"]["type"] == ["integer", "null"]


def test_a_launch_stores_the_fully_resolved_config(api, admin, tiny_model, preference_snapshot, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = launch(api, admin, kind="dpo", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
                          config={"beta": 0.5, "max_steps": 3})
    assert response.status_code == 201, response.json()
    job = response.json()
    assert job["status"] == "queued" and job["config"]["beta"] == 0.5 and job["config"]["max_steps"] == 3
    assert job["config"]["learning_rate"] == 1e-6 and job["config"]["loss_type"] == "sigmoid"
    assert job["snapshot"]["fingerprint"] and job["snapshot"]["project"] == preference_snapshot.project_id
    assert TrainingJob.objects.get(pk=job["id"]).config == job["config"]


@pytest.mark.parametrize("config, field, words", [
    ({"bogus": 1}, "config.bogus", "unknown setting"),
    ({"beta": "high"}, "config.beta", "must be a number"),
    ({"beta": 0}, "config.beta", "greater than 0"),
    ({"max_steps": 2.5}, "config.max_steps", "whole number"),
    ({"per_device_train_batch_size": 0}, "config.per_device_train_batch_size", "at least 1"),
    ({"loss_type": "nope"}, "config.loss_type", "must be one of"),
    ({"use_peft": "yes"}, "config.use_peft", "true or false"),
    ({"num_sample_generations": None}, "config.num_sample_generations", "must not be null"),
])
def test_bad_configs_are_refused_naming_the_field(api, admin, tiny_model, preference_snapshot, config, field, words):
    response = launch(api, admin, kind="dpo", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
                      config=config)
    assert response.status_code == 400
    errors = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert words in errors[field], errors
    assert not TrainingJob.objects.exists()


def test_a_config_that_is_not_an_object_is_refused(api, admin, tiny_model, preference_snapshot):
    response = launch(api, admin, kind="sft", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
                      config=[1, 2])
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "config"


def test_a_snapshot_of_the_wrong_shape_is_refused_at_launch(api, admin, tiny_model, preference_snapshot,
                                                            sft_snapshot):
    wrong = {"sft": preference_snapshot, "reward": sft_snapshot, "dpo": sft_snapshot, "kto": sft_snapshot}
    for kind, snapshot in wrong.items():
        response = launch(api, admin, kind=kind, snapshot=snapshot.pk, base_model=tiny_model.pk)
        assert response.status_code == 400, kind
        message = response.json()["errors"][0]
        assert message["field"] == "snapshot" and "needs" in message["message"] and "rows" in message["message"]
    DatasetSnapshot.objects.filter(pk=sft_snapshot.pk).update(state="building")
    response = launch(api, admin, kind="sft", snapshot=sft_snapshot.pk, base_model=tiny_model.pk)
    assert response.json()["errors"][0] == {"field": "snapshot", "message": f"snapshot {sft_snapshot.pk} is building, not ready"}


def test_models_of_the_wrong_task_are_refused(api, admin, tiny_model, preference_snapshot):
    encoder = Model.objects.create(name="enc", kind="base", task="encoder", source="registered", storage_prefix="x")
    response = launch(api, admin, kind="dpo", snapshot=preference_snapshot.pk, base_model=encoder.pk)
    assert response.json()["errors"][0]["field"] == "base_model"
    response = launch(api, admin, kind="sft", snapshot=preference_snapshot.pk, base_model=tiny_model.pk,
                      reference_model=tiny_model.pk)
    assert response.json()["errors"][0]["field"] in ("snapshot", "reference_model")
    response = launch(api, admin, kind="reward", snapshot=preference_snapshot.pk, base_model=encoder.pk,
                      reference_model=tiny_model.pk)
    assert response.json()["errors"][0] == {"field": "reference_model", "message": "a reward job takes no reference model"}


def test_only_admins_launch_and_leads_of_the_project_read(api, admin, tiny_model, preference_snapshot,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = launch(api, admin, kind="reward", snapshot=preference_snapshot.pk, base_model=tiny_model.pk).json()
    lead, other_lead, annotator = preference_snapshot.lead, factories.user(), factories.user()
    factories.project("pairwise", members={other_lead: "lead"})
    preference_snapshot.project.memberships.create(user=annotator, role="annotator")
    assert launch(api, lead, kind="reward", snapshot=preference_snapshot.pk,
                  base_model=tiny_model.pk).status_code == 403
    assert api(lead).get(f"/api/training-jobs/{job['id']}/").status_code == 200
    assert [j["id"] for j in api(lead).get("/api/training-jobs/").json()["results"]] == [job["id"]]
    assert api(lead).post(f"/api/training-jobs/{job['id']}/cancel/").status_code == 403
    for user in (other_lead, annotator):
        assert api(user).get(f"/api/training-jobs/{job['id']}/").status_code == 404
        assert api(user).get("/api/training-jobs/").json()["results"] == []
        assert api(user).get(f"/api/training-jobs/{job['id']}/metrics/").status_code == 404
    assert api(None).get("/api/training-jobs/").status_code == 401
    assert api(lead).get(f"/api/projects/{preference_snapshot.project_id}/models/").status_code == 200
    assert api(annotator).get(f"/api/projects/{preference_snapshot.project_id}/models/").status_code == 404


def test_list_filters_are_checked(api, admin):
    assert api(admin).get("/api/training-jobs/?status=bogus").status_code == 400
    assert api(admin).get("/api/training-jobs/?project=abc").status_code == 400
    assert api(admin).get("/api/models/?kind=nope").status_code == 400
    assert api(admin).get("/api/training-jobs/?status=queued&kind=sft").json()["count"] == 0


def test_a_queued_job_cancels_at_once_and_a_finished_one_cannot(api, admin, tiny_model, sft_snapshot,
                                                                django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        job = launch(api, admin, kind="sft", snapshot=sft_snapshot.pk, base_model=tiny_model.pk).json()
    cancelled = api(admin).post(f"/api/training-jobs/{job['id']}/cancel/").json()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_by"] == admin.username
    assert api(admin).post(f"/api/training-jobs/{job['id']}/cancel/").status_code == 409
    with django_capture_on_commit_callbacks(execute=False):
        retried = api(admin).post(f"/api/training-jobs/{job['id']}/retry/").json()
    assert retried["status"] == "queued" and retried["attempts"] == 0
    assert api(admin).post(f"/api/training-jobs/{job['id']}/retry/").status_code == 409


def test_ppo_takes_several_gpus_and_the_one_process_loops_refuse_them(api, admin, tiny_model, preference_snapshot,
                                                                       django_capture_on_commit_callbacks):
    reward = Model.objects.create(name="rm", kind="reward", task="sequence-classification", source="registered",
                                  storage_prefix="x")
    models = {"snapshot": preference_snapshot.pk, "base_model": tiny_model.pk, "reward_model": reward.pk}
    with django_capture_on_commit_callbacks(execute=False):
        ppo = launch(api, admin, kind="ppo", config={"num_gpus": 2}, **models)
    assert ppo.status_code == 201 and ppo.json()["config"]["num_gpus"] == 2
    refused = launch(api, admin, kind="evaluate", config={"num_gpus": 2}, reference_model=tiny_model.pk, **models)
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["field"] == "config.num_gpus" and "one device" in error["message"]
