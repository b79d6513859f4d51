"""Rankings end to end: tied answers, their agreement, curation counts and snapshots."""

import json

import numpy as np
import pytest

from annotation.answers import AnswerError, AnswerShape, canonicalize, gold_score, ranking_relations
from annotation.models import Annotation, Item
from annotation.services.curation import curation_apply
from annotation.services.quality import agreement_report_get, agreement_run

from . import factories
from .test_assignment import make_annotators, next_item, submit
from .test_snapshots import annotators, answer, build, prefer, rows


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def artifacts(settings, tmp_path, monkeypatch):
    root = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT = root
    monkeypatch.setenv("ARTIFACT_ROOT", str(root))
    return root


def ranking_project(lead, **fields):
    return factories.project("ranking", members={lead: "lead"}, **fields)


# --- submitting ---

def test_a_project_that_allows_ties_takes_groups_and_stores_them_in_one_canonical_form(api, lead):
    project = ranking_project(lead, annotations_per_item=1)
    factories.items(project, 3)
    users = make_annotators(project, 1)
    client = api(users[0])
    stored = []
    for body in ([[0], [2, 1], [3]], [0, [3, 1], 2], [3, 2, 1, 0]):  # positions in the shown order
        data = next_item(client, project).json()
        shown = [r["id"] for r in data["item"]["responses"]]
        ranking = [[shown[i] for i in g] if isinstance(g, list) else shown[g] for g in body]
        r = submit(client, data["assignment"], {"ranking": ranking})
        assert r.status_code == 201, r.json()
        stored.append((shown, Annotation.objects.get(pk=r.json()["id"]).ranking))
    (s0, first), (s1, second), (s2, third) = stored
    assert first == [[s0[0]], sorted([s0[2], s0[1]]), [s0[3]]]  # groups best first, each group ascending
    assert second == [[s1[0]], sorted([s1[3], s1[1]]), [s1[2]]]  # a bare id is a group of one
    assert third == [s2[3], s2[2], s2[1], s2[0]]  # no tie: ids best first, as every earlier answer


def test_a_project_without_ties_refuses_a_tied_ranking_naming_the_field(api, lead):
    project = ranking_project(lead, allow_tie=False, criteria=["harmlessness"])
    factories.items(project, 1)
    client = api(make_annotators(project, 1)[0])
    data = next_item(client, project).json()
    ids = [r["id"] for r in data["item"]["responses"]]
    r = submit(client, data["assignment"], {"ranking": [[ids[0], ids[1]], ids[2], ids[3]]})
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "ranking", "message": "this project does not allow ties; "
                                                                  "list the responses one by one, best first"}]
    r = submit(client, data["assignment"], {"ranking": ids, "criteria": {"harmlessness": {"ranking": [ids[:2], ids[2:]]}}})
    assert r.status_code == 400 and [e["field"] for e in r.json()["errors"]] == ["criteria.harmlessness.ranking"]
    r = submit(client, data["assignment"], {"ranking": [[i] for i in ids]})  # groups of one are no tie
    assert r.status_code == 201 and Annotation.objects.get().ranking == ids


@pytest.mark.parametrize("ranking, message", [
    ([[1, 2], []], "must be a list"), ([[1, 2], [3, "4"]], "must be a list"), ([[1, 2], [2, 3], 4], "exactly once"),
    ([[1, 2, 3]], "exactly once"), ({"1": 1}, "must be a list"),
])
def test_malformed_groups_are_refused_naming_the_ranking(ranking, message):
    shape = AnswerShape(kind="ranking", response_ids=(1, 2, 3, 4), allow_tie=True, criteria=())
    with pytest.raises(AnswerError) as error:
        canonicalize({"ranking": ranking}, shape)
    assert error.value.errors[0]["field"] == "ranking" and message in error.value.errors[0]["message"]


def test_gold_scores_ties_as_a_relation_of_their_own():
    gold = [[1], [2, 3], [4]]
    assert gold_score("ranking", [[1], [2, 3], [4]], gold) == 1.0
    assert gold_score("ranking", [1, 2, 3, 4], gold) == pytest.approx(5 / 6)  # 2 > 3 where gold ties them
    assert gold_score("ranking", [1, 2, 3, 4], [1, 2, 3, 4]) == 1.0  # flat answers read as before
    assert ranking_relations([[3], [1, 2]]) == {(1, 2): 0, (1, 3): 1, (2, 3): 1}


# --- agreement ---

def rank(item: Item, positions) -> dict:
    """A ranking payload by stored positions: [0, [1, 2], 3] ties the second and third stored responses."""
    ids = item.response_ids
    return {"ranking": [[ids[i] for i in p] if isinstance(p, list) else ids[p] for p in positions]}


@pytest.fixture
def ranked(lead):
    """Three items of three responses, ranked by five annotators.

    Item 0: the pairwise majority prefers response 0 to 1 (3 votes to 2) while Bradley-Terry, over all
    votes, puts 1 ahead of 0. Item 1: everyone ties responses 0 and 1 above 2. Item 2: unanimous.
    """
    project = ranking_project(lead, ranking_size=3, annotations_per_item=5)
    factories.items(project, 3)
    items = list(Item.objects.filter(project=project).order_by("id"))
    users = annotators(project, 5)
    plans = {0: [[0, 1, 2], [0, 1, 2], [1, 2, 0], [1, 2, 0], [2, 0, 1]],
             1: [[[0, 1], 2]] * 5,
             2: [[2, 1, 0]] * 5}
    for index, positions in plans.items():
        for user, p in zip(users, positions, strict=True):
            answer(user, items[index], rank(items[index], p))
    return project, items


def test_ranking_items_get_their_agreement_so_leads_can_filter_the_contested_ones(api, lead, ranked):
    project, items = ranked
    report = agreement_run(report_id=agreement_report_get(project=project, filters={}).pk)
    stored = dict(Item.objects.filter(project=project).values_list("id", "agreement"))
    # Item 0, pair (0, 1): 3 votes one way, 2 the other -> 4 of 10 vote pairs agree; (0, 2): 2-3 -> 4; (1, 2): 4-1 -> 6.
    assert stored[items[0].id] == pytest.approx(14 / 30)
    assert stored[items[1].id] == 1.0 and stored[items[2].id] == 1.0  # ties agree with ties
    data = report.data
    assert data["item_agreement_histogram"]["counts"][4] == 1 and sum(data["item_agreement_histogram"]["counts"]) == 3
    assert [row["item"] for row in data["contested_items"]] == [items[0].id, items[1].id, items[2].id]
    assert data["contested_items"][1]["consensus_groups"] == [sorted(items[1].response_ids[:2]),
                                                              [items[1].response_ids[2]]]
    contested = api(lead).get(f"/api/projects/{project.id}/items/?max_agreement=0.5").json()
    assert [row["id"] for row in contested["results"]] == [items[0].id]
    assert data["percent_agreement"]["with_ties"] is not None and "krippendorff_alpha_ordinal" in data[
        "confidence_intervals"]


# --- curation counts ---

def test_the_ranking_preview_counts_items_answers_pairs_and_pair_votes_each_by_name(api, lead, ranked):
    project, items = ranked
    flagged = Annotation.objects.filter(item=items[2]).first()
    Annotation.objects.filter(pk=flagged.pk).update(flags=["other"])
    preview = api(lead).post(f"/api/projects/{project.id}/curation/preview/",
                             {"rules": {"exclude_flagged": True}}, format="json").json()
    assert preview["initial"] == {"answers": 15, "items": 3, "pairs": 9, "pair_votes": 45}
    step = next(s for s in preview["preview"] if s["rule"] == "exclude_flagged")
    assert (step["removed_answers"], step["removed_items"], step["removed_pairs"], step["removed_pair_votes"]) == (
        1, 0, 0, 3)
    remaining = preview["remaining"]
    assert (remaining["answers"], remaining["items"], remaining["pairs"], remaining["pair_votes"]) == (14, 3, 9, 42)
    assert remaining["consensus"]["tie"] == 1  # item 1's tied pair, by the consensus ranking
    assert remaining["consensus"]["first"] + remaining["consensus"]["second"] == 8
    assert preview["units"]["answers"] == "rankings" and preview["units"]["items"] == "ranked items"
    assert set(preview["units"]) >= {"pairs", "pair_votes"}


# --- snapshots ---

def test_one_consensus_ranking_decides_every_pair_and_its_ranks(artifacts, lead, ranked):
    project, items = ranked
    snapshot = build(project, lead, test_fraction=0.0)
    pairs = rows(snapshot, "preference-train.jsonl")
    assert pairs and all(row["chosen_rank"] < row["rejected_rank"] for row in pairs)
    text = {}
    for item in items:
        text.update(dict(item.prompt.responses.values_list("text", "id")))
    first = [row for row in pairs if row["item_id"] == items[0].id]
    ids = items[0].response_ids
    order = {(text[r["chosen"][0]["content"]], text[r["rejected"][0]["content"]]): r for r in first}
    # Bradley-Terry: 1 > 0 > 2 although 3 of 5 rankings put 0 before 1.
    assert set(order) == {(ids[1], ids[0]), (ids[1], ids[2]), (ids[0], ids[2])}
    assert order[ids[1], ids[0]]["margin"] == 0.4 and order[ids[1], ids[0]]["chosen_rank"] == 1
    assert all(0 <= row["margin"] <= 1 for row in pairs)  # a ranking's vote is 1: the margin is a share of votes
    tied = [row for row in pairs if row["item_id"] == items[1].id]
    assert len(tied) == 2 and {row["chosen_rank"] for row in tied} == {1} and {row["rejected_rank"] for row in tied} == {3}
    assert snapshot.counts["skipped_ties"] == 1 and snapshot.counts["pairs"] == len(pairs) == 8
    assert (snapshot.counts["items"], snapshot.counts["answers"], snapshot.counts["pair_votes"]) == (3, 15, 45)
    remaining = snapshot.counts["curation"]["remaining"]
    assert remaining["consensus"]["first"] + remaining["consensus"]["second"] == snapshot.counts["pairs"]
    assert (remaining["items"], remaining["answers"]) == (snapshot.counts["items"], snapshot.counts["answers"])
    assert snapshot.counts["units"]["answers"] == "rankings"


def test_tied_pairs_are_no_preference_pairs_but_the_raw_file_keeps_the_ties(artifacts, lead, ranked):
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    project, items = ranked
    snapshot = build(project, lead, test_fraction=0.0, options={"parquet": True, "ranking_pairs": "best_vs_rest"})
    tied_item = items[1]
    best = [row for row in rows(snapshot, "preference-train.jsonl") if row["item_id"] == tied_item.id]
    assert len(best) == 2  # each of the two tied best against the third; not one against the other
    expected = [sorted(tied_item.response_ids[:2]), [tied_item.response_ids[2]]]
    raw = [row for row in rows(snapshot, "raw-all.jsonl") if row["item_id"] == tied_item.id]
    assert len(raw) == 5 and all(row["ranking"] == expected and row["kept"] for row in raw)
    table = pyarrow_parquet.read_table(f"{artifacts}/snapshots/{snapshot.pk}/raw-all.parquet").to_pylist()
    assert [json.loads(row["ranking"]) for row in table if row["item_id"] == tied_item.id] == [expected] * 5
    kto = [row for row in rows(snapshot, "kto-train.jsonl") if row["item_id"] == tied_item.id]
    assert [row["label"] for row in kto] == [False]  # the tied pair straddles the middle: left out whole


def test_with_dawid_skene_every_margin_is_the_non_negative_strength_behind_the_chosen_side(artifacts, lead):
    """Two careful annotators who answer 'slightly', two careless ones who answer 'much'.

    Dawid-Skene trusts the careful pair, so on some items its consensus goes against the mean
    answer; the old margin (mean value toward the consensus) was then negative or zero.
    """
    project = factories.project("pairwise", members={lead: "lead"}, annotations_per_item=4)
    factories.items(project, 40)
    users = annotators(project, 4)
    rng = np.random.default_rng(0)
    items = list(Item.objects.filter(project=project).order_by("id"))
    for item in items:
        truth = rng.choice([-1, 1])
        for k, user in enumerate(users):
            right = rng.random() < (0.95 if k < 2 else 0.55)
            answer(user, item, prefer(item, int(truth if right else -truth) * (1 if k < 2 else 3)))
    rules = {"consensus": "dawid_skene"}
    result = curation_apply(project=project, rules=rules).result
    assert (result.strength <= 0).any() and (result.consensus != 0).all()  # the case the old margin got wrong
    snapshot = build(project, lead, rules=rules, test_fraction=0.0)
    values = {}
    for item_id, preference in Annotation.objects.filter(project=project).values_list("item_id", "preference"):
        values.setdefault(item_id, []).append(preference)
    by_item = dict(zip(result.items.tolist(), result.consensus.tolist(), strict=True))
    written = rows(snapshot, "preference-train.jsonl")
    assert len(written) == 40
    for row in written:
        d = by_item[row["item_id"]]
        behind = sum(abs(v) for v in values[row["item_id"]] if np.sign(v) == d) / len(values[row["item_id"]])
        assert row["margin"] == round(behind, 6) and row["margin"] > 0
