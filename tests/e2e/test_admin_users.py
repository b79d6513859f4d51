"""An admin manages a user from the Users screen: edits them, sees their projects, deactivates and reactivates them,
and gives them a one-time password that then signs them in."""

import pytest
from django.contrib.auth import get_user_model

from annotation.models import AuditEvent
from tests import factories

from .browser import login, shot

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_fails(page, base_url: str, username: str, password: str) -> bool:
    page.goto(base_url + "/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=wrong username or password")
    return True


def test_an_admin_edits_deactivates_reactivates_and_resets_a_user(live_server, new_page, admin_user, annotator,
                                                                  pairwise_project):
    base = live_server.url
    watched = new_page()
    page = watched.page
    login(page, base, admin_user.username, factories.PASSWORD)
    page.goto(f"{base}/manage/users")

    page.get_by_role("button", name="Manage admin1").click()
    panel = page.get_by_test_id("user-panel")
    panel.get_by_text("You cannot deactivate yourself").wait_for()
    assert panel.get_by_role("button", name="Deactivate").count() == 0

    page.get_by_role("button", name="Manage ann1").click()
    panel.get_by_role("link", name=pairwise_project.name).wait_for()
    panel.get_by_label("First name").fill("Ann")
    panel.get_by_label("Email").fill("ann@lab.example")
    panel.get_by_role("button", name="Save").click()
    page.locator("[data-user=ann1] >> text=ann@lab.example").wait_for()

    panel.get_by_role("button", name="Deactivate").click()
    panel.get_by_role("button", name="Reactivate").wait_for()
    page.locator("[data-user=ann1] >> text=deactivated").wait_for()
    shot(page, "14-admin-user-panel")
    other = new_page().page
    assert sign_in_fails(other, base, "ann1", factories.PASSWORD)

    panel.get_by_role("button", name="Reactivate").click()
    panel.get_by_role("button", name="Deactivate").wait_for()
    panel.get_by_label("New password").fill("password")
    panel.get_by_role("button", name="Set password").click()
    panel.get_by_text("This password is too common.").wait_for()
    panel.get_by_role("button", name="Generate a one-time password").click()
    password = panel.get_by_test_id("generated-password").locator("code").inner_text()
    assert len(password) >= 12

    assert sign_in_fails(other, base, "ann1", factories.PASSWORD)  # the old password is gone
    login(other, base, "ann1", password)

    user = get_user_model().objects.get(username="ann1")
    assert (user.first_name, user.email, user.is_active) == ("Ann", "ann@lab.example", True)
    assert list(AuditEvent.objects.filter(target_id=str(user.pk)).order_by("id").values_list("action", flat=True)) == [
        "user.update", "user.deactivate", "user.reactivate", "user.password_reset"]
    assert watched.dialogs == [] and watched.page_errors == []
