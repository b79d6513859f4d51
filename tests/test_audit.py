"""The audit trail: each change of settings, gold, curation rules, memberships and users leaves exactly one event
with who, what and the values before and after; admins read it, nobody else."""

import pytest

from annotation.models import AuditEvent

from . import factories

pytestmark = pytest.mark.django_db


def only_event(**match) -> AuditEvent:
    events = list(AuditEvent.objects.all())
    assert len(events) == 1, [str(e) for e in events]
    event = events[0]
    for name, value in match.items():
        assert getattr(event, name) == value, (name, getattr(event, name))
    return event


@pytest.fixture
def project(pairwise_project):
    AuditEvent.objects.all().delete()  # the fixture's own setup is no one's change
    return pairwise_project


def test_a_settings_change_records_the_fields_that_changed(api, lead, project):
    response = api(lead).patch(f"/api/projects/{project.pk}/", {"gold_ratio": 0.2, "name": project.name},
                               format="json")
    assert response.status_code == 200
    only_event(actor=lead, actor_name="lead1", action="project.update", target_type="project",
               target_id=str(project.pk), project=project, changes={"gold_ratio": [0.0, 0.2]})


def test_a_patch_that_changes_nothing_records_nothing(api, lead, project):
    assert api(lead).patch(f"/api/projects/{project.pk}/", {"name": project.name}, format="json").status_code == 200
    assert not AuditEvent.objects.exists()


def test_a_refused_change_records_nothing(api, lead, project):
    assert api(lead).patch(f"/api/projects/{project.pk}/", {"gold_ratio": 5}, format="json").status_code == 400
    assert not AuditEvent.objects.exists()


def test_setting_and_clearing_gold_each_record_one_event(api, lead, project):
    item = project.items.order_by("id").first()
    url = f"/api/projects/{project.pk}/items/{item.pk}/gold/"
    body = {"is_gold": True, "expected": {"chosen": item.response_ids[1], "strength": 3}}
    assert api(lead).post(url, body, format="json").status_code == 200
    only_event(actor=lead, action="item.gold", target_type="item", target_id=str(item.pk), project=project,
               changes={"is_gold": [False, True], "gold_answer": [None, 3]})
    AuditEvent.objects.all().delete()
    assert api(lead).post(url, {"is_gold": False}, format="json").status_code == 200
    only_event(action="item.gold", changes={"is_gold": [True, False], "gold_answer": [3, None]})


def test_saving_curation_rules_records_the_old_and_new_rules(api, lead, project):
    rules = {"min_answers_per_item": 2}
    assert api(lead).put(f"/api/projects/{project.pk}/curation/", {"rules": rules}, format="json").status_code == 200
    only_event(actor=lead, action="curation.save", target_type="project", project=project,
               changes={"rules": [{}, rules]})


@pytest.mark.parametrize("step", ["add", "change", "remove"])
def test_each_membership_change_records_one_event(api, lead, project, step):
    newcomer = factories.user("newcomer")
    members = f"/api/projects/{project.pk}/members/"
    if step != "add":
        assert api(lead).post(members, {"user": "newcomer", "role": "annotator"}, format="json").status_code == 201
        AuditEvent.objects.all().delete()
    if step == "remove":
        assert api(lead).delete(f"{members}newcomer/").status_code == 204
    else:
        role = "annotator" if step == "add" else "lead"
        assert api(lead).post(members, {"user": "newcomer", "role": role}, format="json").status_code == 201
    expected = {"add": [None, "annotator"], "change": ["annotator", "lead"], "remove": ["annotator", None]}[step]
    only_event(actor=lead, action=f"membership.{step}", target_type="user", target_id=str(newcomer.pk),
               project=project, changes={"role": expected})


def test_setting_the_same_role_again_records_nothing(api, lead, annotator, project):
    response = api(lead).post(f"/api/projects/{project.pk}/members/", {"user": "ann1", "role": "annotator"},
                              format="json")
    assert response.status_code == 201
    assert not AuditEvent.objects.exists()


def test_an_event_and_its_change_roll_back_together(lead, project):
    from django.db import transaction

    from annotation.services.projects import project_update

    with pytest.raises(RuntimeError), transaction.atomic():
        project_update(project=project, actor=lead, gold_ratio=0.3)
        assert AuditEvent.objects.count() == 1
        raise RuntimeError("the request failed after the write")
    assert not AuditEvent.objects.exists()
    project.refresh_from_db()
    assert project.gold_ratio == 0.0


def test_admins_read_the_trail_filtered_and_paginated(api, admin_user, lead, project):
    api(lead).patch(f"/api/projects/{project.pk}/", {"gold_ratio": 0.1}, format="json")
    api(lead).put(f"/api/projects/{project.pk}/curation/", {"rules": {"exclude_flagged": True}}, format="json")
    api(admin_user).patch(f"/api/projects/{project.pk}/", {"lease_seconds": 60}, format="json")
    other = factories.project("pairwise", members={lead: "lead"})
    api(lead).patch(f"/api/projects/{other.pk}/", {"gold_ratio": 0.5}, format="json")

    def read(query=""):
        response = api(admin_user).get(f"/api/audit/{query}")
        assert response.status_code == 200, response.json()
        return response.json()

    everything = read()
    assert everything["count"] == 4
    assert [e["action"] for e in read(f"?project={project.pk}")["results"]] == [
        "project.update", "curation.save", "project.update"]
    assert [e["changes"] for e in read(f"?project={project.pk}&actor=admin1")["results"]] == [
        {"lease_seconds": [1800, 60]}]
    assert {e["project"] for e in read("?action=project.update&actor=lead1")["results"]} == {project.pk, other.pk}
    assert read("?action=curation")["count"] == 1
    first = everything["results"][0]
    assert set(first) == {"id", "created_at", "actor", "action", "target_type", "target_id", "project", "changes"}


@pytest.mark.parametrize("query, field", [("?project=abc", "project"), ("?action=DROP TABLE", "action"),
                                          ("?actor=a%00b", "actor")])
def test_bad_filters_answer_400_naming_the_parameter(api, admin_user, query, field):
    response = api(admin_user).get(f"/api/audit/{query}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_no_one_but_an_admin_reads_the_trail(api, lead, annotator, outsider, project):
    api(lead).patch(f"/api/projects/{project.pk}/", {"gold_ratio": 0.1}, format="json")
    for user in (lead, annotator, outsider):
        response = api(user).get(f"/api/audit/?project={project.pk}")
        assert response.status_code == 403 and "results" not in response.json()
    assert api(None).get("/api/audit/").status_code == 401



def test_creating_a_project_records_who_and_its_settings(api, admin_user):
    body = {"name": "Tone", "kind": "pairwise", "gold_ratio": 0.1}
    response = api(admin_user).post("/api/projects/", body, format="json")
    assert response.status_code == 201
    event = only_event(actor=admin_user, action="project.create", target_id=str(response.json()["id"]))
    assert event.project_id == response.json()["id"]
    assert event.changes == {"name": [None, "Tone"], "kind": [None, "pairwise"], "gold_ratio": [None, 0.1]}
