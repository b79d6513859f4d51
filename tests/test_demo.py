from django.contrib.auth import authenticate
from django.core.management import call_command

from annotation.management.commands.load_demo import DEMO_PASSWORD
from annotation.models import Item, Project


def test_the_demo_loads_three_projects_and_five_users_and_a_second_load_keeps_everything(db, api):
    call_command("load_demo", verbosity=0)
    counts = {p.kind: p.items.count() for p in Project.objects.all()}
    assert counts["pairwise"] >= 24 and counts["ranking"] >= 24 and counts["demonstration"] >= 24
    assert Item.objects.filter(is_gold=True).count() == 3
    ranking = Project.objects.get(kind="ranking")
    assert ranking.ranking_size == 4 and all(len(i.response_ids) == 4 for i in ranking.items.all())
    assert any(len(i.prompt.conversation) > 1 for i in Item.objects.all())  # some multi-turn
    for name in ("admin", "lead", "alice", "bob", "carol"):
        assert authenticate(username=name, password=DEMO_PASSWORD) is not None, name
    lead = authenticate(username="lead", password=DEMO_PASSWORD)
    assert len(api(lead).get("/api/projects/").json()["results"]) == 3

    call_command("load_demo", verbosity=0)
    assert {p.kind: p.items.count() for p in Project.objects.all()} == counts
    assert Project.objects.count() == 3
