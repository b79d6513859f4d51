"""A project keeps a lead; who may learn which usernames exist."""

from annotation.models import Membership

from . import factories


def members_url(project, username: str = "") -> str:
    return f"/api/projects/{project.id}/members/" + (f"{username}/" if username else "")


def test_the_last_lead_cannot_remove_themselves(api, lead, pairwise_project):
    r = api(lead).delete(members_url(pairwise_project, lead.username))
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "user", "message": "'lead1' is the project's last lead and cannot be "
                                                               "removed: make another member lead first"}]
    assert Membership.objects.filter(project=pairwise_project, user=lead, role="lead").exists()


def test_the_last_lead_cannot_be_made_an_annotator(api, lead, pairwise_project):
    r = api(lead).post(members_url(pairwise_project), {"user": lead.username, "role": "annotator"}, format="json")
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "role" and "last lead" in r.json()["errors"][0]["message"]
    assert Membership.objects.get(project=pairwise_project, user=lead).role == "lead"


def test_not_even_an_admin_removes_the_last_lead(api, admin_user, lead, pairwise_project):
    r = api(admin_user).delete(members_url(pairwise_project, lead.username))
    assert r.status_code == 400 and "last lead" in r.json()["errors"][0]["message"]


def test_with_another_lead_a_lead_may_step_down_or_be_removed(api, lead, annotator, pairwise_project):
    second = factories.user("lead2")
    assert api(lead).post(members_url(pairwise_project), {"user": "lead2", "role": "lead"},
                          format="json").status_code == 201
    assert api(lead).post(members_url(pairwise_project), {"user": "lead1", "role": "annotator"},
                          format="json").status_code == 201
    assert api(second).delete(members_url(pairwise_project, "lead1")).status_code == 204
    assert list(Membership.objects.filter(project=pairwise_project, role="lead").values_list("user__username",
                                                                                             flat=True)) == ["lead2"]
    assert api(second).delete(members_url(pairwise_project, "lead2")).status_code == 400


def test_only_leads_and_admins_learn_whether_a_username_exists(api, lead, admin_user, annotator, outsider,
                                                               pairwise_project):
    for user in (annotator, outsider):  # the same neutral answer whether the user exists or not
        answers = [api(user).post(members_url(pairwise_project), {"user": name, "role": "annotator"}, format="json")
                   for name in ("ann2", "nobody-by-this-name")]
        assert [r.status_code for r in answers] == [404, 404]
        assert answers[0].json() == answers[1].json() == {"detail": "Not found.",
                                                          "errors": [{"field": None, "message": "Not found."}]}
    for user in (lead, admin_user):
        r = api(user).post(members_url(pairwise_project), {"user": "nobody-by-this-name", "role": "annotator"},
                           format="json")
        assert r.status_code == 400
        assert r.json()["errors"] == [{"field": "user", "message": "no user named 'nobody-by-this-name'"}]
