"""Bounds on the work a lead can queue per project: snapshot builds and filtered agreement recomputes answer 429
in the API's error shape beyond their limit, and free a place when one finishes. (Training jobs per admin:
tests/training/test_training_faults.py::test_the_per_admin_limit_on_active_jobs.)"""

import threading

import pytest
from django.db import connection

from annotation.models import AgreementReport, DatasetSnapshot
from annotation.services.snapshots import snapshot_create

from . import factories


def snapshot_post(api, user, project):
    return api(user).post(f"/api/projects/{project.pk}/snapshots/", {}, format="json")


def agreement_get(api, user, project, since):
    return api(user).get(f"/api/projects/{project.pk}/agreement/?since={since}")


def assert_queue_full(response, setting):
    assert response.status_code == 429
    message = response.json()["errors"][0]["message"]
    assert response.json()["errors"][0]["field"] is None
    assert "limit is 2" in message and setting in message and "wait for one to finish" in message


@pytest.mark.django_db
def test_a_project_queues_at_most_the_limit_of_snapshot_builds(api, lead, pairwise_project, settings):
    settings.SNAPSHOT_MAX_ACTIVE_PER_PROJECT = 2
    assert [snapshot_post(api, lead, pairwise_project).status_code for _ in range(2)] == [202, 202]
    assert_queue_full(snapshot_post(api, lead, pairwise_project), "SNAPSHOT_MAX_ACTIVE_PER_PROJECT")
    assert DatasetSnapshot.objects.filter(project=pairwise_project).count() == 2  # the refused one wrote nothing

    other = factories.project("pairwise", members={lead: "lead"})
    assert snapshot_post(api, lead, other).status_code == 202  # per project

    DatasetSnapshot.objects.filter(project=pairwise_project).filter(
        pk=DatasetSnapshot.objects.filter(project=pairwise_project).order_by("id").first().pk
    ).update(state=DatasetSnapshot.State.FAILED)
    assert snapshot_post(api, lead, pairwise_project).status_code == 202  # a place came free


@pytest.mark.django_db(transaction=True)
def test_simultaneous_snapshot_requests_never_pass_the_limit(requires_postgres, lead, pairwise_project, settings):
    settings.SNAPSHOT_MAX_ACTIVE_PER_PROJECT = 2
    outcomes, barrier = [], threading.Barrier(6)

    def request():
        barrier.wait()
        try:
            snapshot_create(project=pairwise_project, created_by=lead, enqueue=False)
            outcomes.append("created")
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test reads
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["QueueFull"] * 4 + ["created"] * 2
    assert DatasetSnapshot.objects.filter(project=pairwise_project).count() == 2


@pytest.mark.django_db
def test_a_project_recomputes_at_most_the_limit_of_filtered_agreement_reports(api, lead, pairwise_project, settings):
    settings.AGREEMENT_MAX_ACTIVE_PER_PROJECT = 2
    assert agreement_get(api, lead, pairwise_project, "2026-01-01").status_code == 202
    assert agreement_get(api, lead, pairwise_project, "2026-01-02").status_code == 202
    assert agreement_get(api, lead, pairwise_project, "2026-01-02").status_code == 202  # the same one, still pending
    assert_queue_full(agreement_get(api, lead, pairwise_project, "2026-01-03"), "AGREEMENT_MAX_ACTIVE_PER_PROJECT")
    assert not AgreementReport.objects.filter(project=pairwise_project, status="pending",
                                              filters__since__startswith="2026-01-03").exists()

    # The project's own unfiltered report is never refused: the lead's dashboard reads it.
    assert api(lead).get(f"/api/projects/{pairwise_project.pk}/agreement/").status_code == 202
    assert AgreementReport.objects.filter(project=pairwise_project, status="pending").count() == 3

    AgreementReport.objects.filter(project=pairwise_project, filters__since__startswith="2026-01-01").update(
        status=AgreementReport.Status.READY)
    assert agreement_get(api, lead, pairwise_project, "2026-01-03").status_code == 202
