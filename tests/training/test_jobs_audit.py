"""Launching, cancelling and retrying a job each leave exactly one audit event naming who, the job and its project.
No worker: the wake-ups wait for a commit that never comes."""

import pytest

from annotation.models import AuditEvent
from training.models import TrainingJob

pytestmark = pytest.mark.django_db


def only_event() -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, [str(e) for e in events]
    return events[0]


def test_launch_cancel_and_retry_are_each_recorded_once(api, admin, tiny_model, sft_snapshot,
                                                        django_capture_on_commit_callbacks):
    AuditEvent.objects.all().delete()
    body = {"kind": "sft", "snapshot": sft_snapshot.pk, "base_model": tiny_model.pk}
    with django_capture_on_commit_callbacks(execute=False):
        response = api(admin).post("/api/training-jobs/", body, format="json")
    assert response.status_code == 201
    job_id = response.json()["id"]
    event = only_event()
    assert (event.actor, event.action, event.target_type, event.target_id, event.project_id) == (
        admin, "job.launch", "trainingjob", str(job_id), sft_snapshot.project_id)
    assert event.changes == {"kind": [None, "sft"], "status": [None, "queued"]}

    AuditEvent.objects.all().delete()
    assert api(admin).post(f"/api/training-jobs/{job_id}/cancel/").status_code == 200
    event = only_event()
    assert (event.actor_name, event.action, event.changes) == ("trainer", "job.cancel",
                                                               {"status": ["queued", "cancelled"]})

    AuditEvent.objects.all().delete()
    assert api(admin).post(f"/api/training-jobs/{job_id}/cancel/").status_code == 409  # nothing to cancel
    assert not AuditEvent.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        assert api(admin).post(f"/api/training-jobs/{job_id}/retry/").status_code == 200
    event = only_event()
    assert (event.actor, event.action, event.changes) == (admin, "job.retry", {"status": ["cancelled", "queued"]})


def test_a_stop_request_to_a_running_job_is_recorded_once(api, admin, tiny_model, sft_snapshot):
    job = TrainingJob.objects.create(kind="sft", snapshot=sft_snapshot, base_model=tiny_model, config={},
                                     created_by=admin, status=TrainingJob.Status.RUNNING)
    AuditEvent.objects.all().delete()
    for _ in range(2):  # the second asks again: nothing new happens, nothing new is recorded
        assert api(admin).post(f"/api/training-jobs/{job.pk}/cancel/").status_code == 200
    event = only_event()
    assert (event.action, event.changes, event.project_id) == ("job.cancel", {"cancel_requested": [False, True]},
                                                               sft_snapshot.project_id)
