"""Dataset snapshots: immutable, hashed, reproducible exports of the curated answers."""

import hashlib
import io
import json
import os
import stat
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from annotation.artifacts import snapshot_folder
from annotation.models import Annotation, Assignment, DatasetSnapshot, Item, Prompt, Response
from annotation.services.annotations import annotation_submit
from annotation.services.snapshots import snapshot_build, snapshot_create

from . import factories
from .conftest import wait_for


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """These tests create many users; hashing their passwords properly is not what they test."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def artifacts(settings, tmp_path, monkeypatch):
    """A private ARTIFACT_ROOT, for this process and for any worker it starts."""
    root = tmp_path / "artifacts"
    settings.ARTIFACT_ROOT = root
    monkeypatch.setenv("ARTIFACT_ROOT", str(root))
    return root


def answer(user, item: Item, payload: dict) -> Annotation:
    """Submit an answer to a chosen item through the same service the API uses."""
    assignment = Assignment.objects.create(project=item.project, item=item, annotator=user,
                                           shown_order=list(reversed(item.response_ids)),
                                           expires_at=timezone.now() + timedelta(hours=1))
    Item.objects.filter(pk=item.pk).update(n_leased=F("n_leased") + 1, open_slots=F("open_slots") - 1)
    return annotation_submit(assignment_id=assignment.pk, user=user, payload=payload)[0]


def prefer(item: Item, value: int, **extra) -> dict:
    """The payload for a canonical preference (-3..3 relative to stored order; 0 a tie)."""
    if value == 0:
        return {"tie": True, **extra}
    return {"chosen": item.response_ids[0 if value < 0 else 1], "strength": abs(value), **extra}


def annotators(project, n: int) -> list:
    users = [factories.user() for _ in range(n)]
    for u in users:
        project.memberships.create(user=u, role="annotator")
    return users


def build(project, user, **kw) -> DatasetSnapshot:
    snapshot = snapshot_create(project=project, created_by=user, enqueue=False, **kw)
    return snapshot_build(snapshot_id=snapshot.pk)


def rows(snapshot: DatasetSnapshot, name: str) -> list[dict]:
    path = snapshot_folder(snapshot) / name
    return [json.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []


def file_hashes(snapshot: DatasetSnapshot) -> dict[str, str]:
    return {f["name"]: f["sha256"] for f in snapshot.files}


@pytest.fixture
def answered(pairwise_project, lead):
    """Five items, three annotators: a clear win, a weak win, a tie, a both-bad vote, and a lone answer."""
    a, b, c = annotators(pairwise_project, 3)
    items = list(Item.objects.filter(project=pairwise_project).order_by("id"))
    votes = {0: [-3, -3, 1], 1: [2, 1, 3], 2: [0, -1, 1], 3: [-2, -1, -1], 4: [3]}
    for index, values in votes.items():
        for user, value in zip((a, b, c), values, strict=False):
            extra = {"both_bad": True} if (index, user) == (3, a) else {}
            answer(user, items[index], prefer(items[index], value, **extra))
    return pairwise_project, items, (a, b, c)


@pytest.mark.worker
def test_post_answers_202_at_once_and_a_real_worker_builds_the_snapshot(artifacts, live_worker, api, lead, annotator,
                                                                        outsider, admin_user):
    project = factories.project("pairwise", members={lead: "lead", annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 4)
    client = api(annotator)
    while (r := client.post(f"/api/projects/{project.id}/next/")).status_code == 200:
        data = r.json()
        chosen = data["item"]["responses"][0]["id"]
        assert client.post(f"/api/assignments/{data['assignment']}/submit/", {"chosen": chosen, "strength": 2},
                           format="json").status_code == 201

    r = api(lead).post(f"/api/projects/{project.id}/snapshots/", {"rules": {}, "test_fraction": 0.5, "seed": 3},
                       format="json")
    assert r.status_code == 202 and r.json()["state"] == "pending" and r.json()["files"] == []
    url = f"/api/snapshots/{r.json()['id']}/"
    wait_for(lambda: api(lead).get(url).json()["state"] in ("ready", "failed"), timeout=60,
             what="the worker to build the snapshot", log_path=live_worker.log_path)

    snapshot = api(lead).get(url).json()
    assert snapshot["state"] == "ready", snapshot["error"]
    assert snapshot["counts"]["items"] == 4 and snapshot["counts"]["pairs"] == 4
    assert {"raw-all.jsonl", "prompts-test.jsonl", "prompts-train.jsonl"} <= {f["name"] for f in snapshot["files"]}
    for f in snapshot["files"]:
        download = api(lead).get(f["url"])
        assert download.status_code == 200
        assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == f["sha256"]
    assert api(admin_user).get(url).status_code == 200
    for user in (annotator, outsider):
        assert api(user).get(url).status_code == 404
        assert api(user).get(snapshot["files"][0]["url"]).status_code == 404


def test_only_leads_and_admins_list_and_create_a_projects_snapshots(artifacts, api, pairwise_project, lead,
                                                                    annotator, outsider, admin_user):
    url = f"/api/projects/{pairwise_project.id}/snapshots/"
    for user in (annotator, outsider):
        assert api(user).get(url).status_code == 404
        assert api(user).post(url, {}, format="json").status_code == 404
    created = api(admin_user).post(url, {"seed": 1}, format="json")
    assert created.status_code == 202
    listed = api(lead).get(url)
    assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [created.json()["id"]]
    assert listed.json()[0]["created_by"] == "admin1" and listed.json()[0]["rules"] == {}


def test_same_rules_and_seed_give_byte_identical_files(artifacts, answered, lead):
    project, _, _ = answered
    rules = {"ties": "keep"}
    first = build(project, lead, rules=rules, seed=11, test_fraction=0.4, options={"parquet": True})
    again = build(project, lead, rules=rules, seed=11, test_fraction=0.4, options={"parquet": True})
    assert first.state == again.state == "ready"
    assert file_hashes(first) == file_hashes(again) and len(first.files) >= 8
    assert first.library_version.startswith("rlhf 0.1.0; numpy ") and "pyarrow" in first.library_version
    for f in first.files:
        assert (snapshot_folder(first) / f["name"]).read_bytes() == (snapshot_folder(again) / f["name"]).read_bytes()
    other_seed = build(project, lead, rules=rules, seed=12, test_fraction=0.4)
    assert file_hashes(other_seed)["raw-all.jsonl"] != file_hashes(first)["raw-all.jsonl"]  # new pseudonyms


def test_no_prompt_appears_in_both_train_and_test(artifacts, lead, annotator):
    project = factories.project("pairwise", members={lead: "lead", annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 40)
    for prompt in Prompt.objects.filter(project=project).order_by("id")[:20]:  # a second round of responses
        new = [Response.objects.create(prompt=prompt, text=f"Round 2, {k}: {prompt.external_id}").pk for k in (1, 2)]
        Item.objects.create(project=project, prompt=prompt, response_ids=new, open_slots=1)
    for item in Item.objects.filter(project=project):
        answer(annotator, item, prefer(item, -1 if item.id % 2 else 2))
    snapshot = build(project, lead, test_fraction=0.3, seed=5)
    assert snapshot.counts["items"] == 60
    prompt_ids = {split: set() for split in ("train", "test")}
    for f in snapshot.files:
        fmt, split = f["name"].split(".")[0].split("-")
        if split != "all":
            prompt_ids[split] |= {row["prompt_id"] for row in rows(snapshot, f["name"])}
    assert prompt_ids["train"] and prompt_ids["test"]
    assert not prompt_ids["train"] & prompt_ids["test"]
    assert len(prompt_ids["train"]) + len(prompt_ids["test"]) == 40
    written = [row["prompt_id"] for split in ("train", "test") for row in rows(snapshot, f"prompts-{split}.jsonl")]
    assert sorted(written) == sorted(prompt_ids["train"] | prompt_ids["test"])  # each prompt once
    splits = snapshot.counts["splits"]
    assert (splits["train"]["prompts"], splits["test"]["prompts"]) == (len(prompt_ids["train"]), len(prompt_ids["test"]))
    raw_split = {row["prompt_id"]: row["split"] for row in rows(snapshot, "raw-all.jsonl")}
    assert {p for p, s in raw_split.items() if s == "test"} == prompt_ids["test"]


def test_a_ranking_of_four_yields_six_pairs_with_the_right_chosen_and_rejected(artifacts, lead, annotator):
    project = factories.project("ranking", members={lead: "lead", annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 1)
    item = Item.objects.get(project=project)
    ranking = [item.response_ids[2], item.response_ids[0], item.response_ids[3], item.response_ids[1]]
    answer(annotator, item, {"ranking": ranking})
    text = dict(item.prompt.responses.values_list("id", "text"))
    place = {text[r]: i for i, r in enumerate(ranking)}

    snapshot = build(project, lead, test_fraction=0.0)
    pairs = rows(snapshot, "preference-train.jsonl")
    assert len(pairs) == 6 and snapshot.counts["pairs"] == 6
    for row in pairs:
        chosen, rejected = row["chosen"][0]["content"], row["rejected"][0]["content"]
        assert place[chosen] < place[rejected]
        assert (row["chosen_rank"], row["rejected_rank"]) == (place[chosen] + 1, place[rejected] + 1)
        assert row["ranking_id"] == item.id and row["ranking_size"] == 4
    assert len({(r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in pairs}) == 6
    kto = rows(snapshot, "kto-train.jsonl")
    assert [(r["completion"][0]["content"], r["label"]) for r in kto] == [
        (text[ranking[0]], True), (text[ranking[1]], True), (text[ranking[2]], False), (text[ranking[3]], False)]

    best = build(project, lead, test_fraction=0.0, options={"ranking_pairs": "best_vs_rest"})
    best_pairs = rows(best, "preference-train.jsonl")
    assert len(best_pairs) == 3 and {r["chosen"][0]["content"] for r in best_pairs} == {text[ranking[0]]}


@pytest.mark.parametrize("rules", [{}, {"ties": "drop", "exclude_both_bad": True, "min_answers_per_item": 2},
                                   {"min_item_agreement": 0.5, "min_abs_strength": 1.5}])
def test_rules_change_counts_exactly_as_the_preview_said(artifacts, api, answered, lead, rules):
    project, _, _ = answered
    preview = api(lead).post(f"/api/projects/{project.id}/curation/preview/", {"rules": rules}, format="json").json()
    snapshot = build(project, lead, rules=rules, test_fraction=0.5, seed=1)
    remaining, counts = preview["remaining"], snapshot.counts
    assert counts["curation"]["remaining"] == remaining
    assert (counts["answers"], counts["items"]) == (remaining["answers"], remaining["items"])
    assert counts["pairs"] == remaining["consensus"]["first"] + remaining["consensus"]["second"]
    assert counts["skipped_ties"] == remaining["consensus"]["tie"]
    written = sum(f["rows"] for f in snapshot.files if f["name"].startswith("preference-"))
    assert written == counts["pairs"] == sum(s["pairs"] for s in counts["splits"].values())
    assert counts["raw_answers"] == Annotation.objects.filter(project=project).count() == 13
    if rules:
        assert counts["answers"] < 13  # these rules do remove answers


def test_preference_rows_carry_the_consensus_margin_agreement_and_annotator_count(artifacts, answered, lead):
    project, items, _ = answered
    snapshot = build(project, lead, test_fraction=0.0)
    by_item = {row["item_id"]: row for row in rows(snapshot, "preference-train.jsonl")}
    texts = dict(items[0].prompt.responses.values_list("id", "text"))
    clear = by_item[items[0].id]  # answers -3, -3, +1: first response wins
    assert clear["chosen"] == [{"role": "assistant", "content": texts[items[0].response_ids[0]]}]
    assert clear["rejected"] == [{"role": "assistant", "content": texts[items[0].response_ids[1]]}]
    assert clear["prompt"] == items[0].prompt.conversation
    # margin: the strength behind the chosen side, averaged over all three answers: (3 + 3 + 0) / 3.
    assert (clear["margin"], clear["agreement"], clear["n_annotators"]) == (2.0, round(1 / 3, 6), 3)
    assert items[2].id not in by_item and snapshot.counts["skipped_ties"] == 1  # the tie: no chosen side
    assert by_item[items[4].id]["agreement"] is None  # a lone answer has no agreement
    kto = rows(snapshot, "kto-train.jsonl")
    assert len(kto) == 2 * len(by_item) and {r["label"] for r in kto} == {True, False}


def test_raw_keeps_every_answer_with_a_pseudonym_its_time_and_display_order(artifacts, answered, lead):
    project, items, users = answered
    snapshot = build(project, lead, rules={"exclude_both_bad": True}, test_fraction=0.0)
    raw = rows(snapshot, "raw-all.jsonl")
    assert len(raw) == 13 and [r["answer_id"] for r in raw] == sorted(r["answer_id"] for r in raw)
    names = {r["annotator"] for r in raw}
    assert len(names) == 3 and all(n.startswith("annotator-") for n in names)
    assert not names & {u.username for u in users}
    stored = {a.pk: a for a in Annotation.objects.filter(project=project)}
    for row in raw:
        assert row["shown_order"] == stored[row["answer_id"]].shown_order
        assert row["created_at"].endswith("Z") and row["created_at"][:19] == stored[row["answer_id"]].created_at.strftime("%Y-%m-%dT%H:%M:%S")
        assert row["kept"] is not row["both_bad"]
    assert [r["split"] for r in raw] == ["train"] * 13


def test_sft_rows_are_the_conversation_plus_the_written_reply(artifacts, lead, annotator):
    project = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(project, 2)
    for item in Item.objects.filter(project=project):
        answer(annotator, item, {"text": f"Reply to {item.prompt.external_id}", "flags": ["pii"] if item.prompt.external_id == "p-1" else []})
    snapshot = build(project, lead, rules={"exclude_flagged": True}, test_fraction=0.0)
    sft = rows(snapshot, "sft-train.jsonl")
    prompt = Item.objects.get(project=project, prompt__external_id="p-0").prompt
    assert sft == [{"messages": [*prompt.conversation, {"role": "assistant", "content": "Reply to p-0"}],
                    "prompt_id": "p-0", "item_id": sft[0]["item_id"], "answer_id": sft[0]["answer_id"]}]
    assert len(rows(snapshot, "raw-all.jsonl")) == 2 and snapshot.counts["answers"] == 1


def test_datasets_load_every_file(artifacts, answered, lead, annotator, tmp_path):
    datasets = pytest.importorskip("datasets")
    project, _, _ = answered
    demo = factories.project("demonstration", members={lead: "lead", annotator: "annotator"})
    factories.items(demo, 3)
    for item in Item.objects.filter(project=demo):
        answer(annotator, item, {"text": "A demonstration."})
    snapshots_ = [build(project, lead, test_fraction=0.5, seed=2, options={"parquet": True}),
                  build(demo, lead, test_fraction=0.5, seed=2)]
    loaded = 0
    for snapshot in snapshots_:
        for f in snapshot.files:
            builder = "parquet" if f["name"].endswith(".parquet") else "json"
            ds = datasets.load_dataset(builder, data_files=str(snapshot_folder(snapshot) / f["name"]), split="train",
                                       cache_dir=str(tmp_path / "hf"))
            assert ds.num_rows == f["rows"], f["name"]
            loaded += 1
    assert loaded >= 12
    pref = datasets.load_dataset("json", data_files=str(snapshot_folder(snapshots_[0]) / "preference-train.jsonl"),
                                 split="train", cache_dir=str(tmp_path / "hf"))
    assert {"prompt", "chosen", "rejected", "margin"} <= set(pref.column_names)


def test_deleting_answers_later_does_not_alter_the_snapshot(artifacts, api, answered, lead):
    project, _, _ = answered
    snapshot = build(project, lead, test_fraction=0.5)
    before = api(lead).get(f"/api/snapshots/{snapshot.pk}/").json()
    contents = {f["name"]: (snapshot_folder(snapshot) / f["name"]).read_bytes() for f in snapshot.files}
    Annotation.objects.filter(project=project).delete()
    after = api(lead).get(f"/api/snapshots/{snapshot.pk}/").json()
    assert after == before and after["counts"]["answers"] > 0
    for name, data in contents.items():
        assert (snapshot_folder(snapshot) / name).read_bytes() == data


def test_snapshot_files_are_read_only_and_the_api_never_changes_or_deletes_a_snapshot(artifacts, api, answered, lead,
                                                                                      admin_user):
    project, _, _ = answered
    snapshot = build(project, lead)
    for f in snapshot.files:
        assert stat.S_IMODE((snapshot_folder(snapshot) / f["name"]).stat().st_mode) == 0o444
    url = f"/api/snapshots/{snapshot.pk}/"
    for user in (lead, admin_user):
        assert api(user).patch(url, {"seed": 9}, format="json").status_code == 405
        assert api(user).put(url, {"seed": 9}, format="json").status_code == 405
        assert api(user).delete(url).status_code == 405
        assert api(user).delete(f"{url}files/raw-all.jsonl").status_code == 405
    assert api(lead).get(f"{url}files/..%2F..%2Fsecrets").status_code == 404
    assert api(lead).get(f"{url}files/nope.jsonl").status_code == 404
    snapshot.refresh_from_db()
    assert snapshot.seed == 0 and snapshot.state == "ready"


@pytest.mark.parametrize("body, field", [
    ({"test_fraction": 1.5}, "test_fraction"),
    ({"test_fraction": "lots"}, "test_fraction"),
    ({"seed": -1}, "seed"),
    ({"rules": {"min_votes": 2}}, "min_votes"),
    ({"rules": {"ties": "sometimes"}}, "ties"),
    ({"options": {"parquet": "yes"}}, "options.parquet"),
    ({"options": {"ranking_pairs": "some"}}, "options.ranking_pairs"),
    ({"options": {"zip": True}}, "options.zip"),
])
def test_bad_input_is_refused_naming_the_field(artifacts, api, pairwise_project, lead, body, field):
    r = api(lead).post(f"/api/projects/{pairwise_project.id}/snapshots/", body, format="json")
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert not DatasetSnapshot.objects.exists()


def test_a_failed_build_leaves_no_files_and_says_why(artifacts, answered, lead, monkeypatch):
    project, _, _ = answered

    def full_disk(**kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("annotation.snapshots.kto_rows_from_pair", full_disk)
    snapshot = build(project, lead, options={"parquet": True})
    assert snapshot.state == "failed" and "No space left on device" in snapshot.error
    assert snapshot.files == [] and snapshot.finished_at is not None
    assert list((artifacts / "snapshots").iterdir()) == []


def test_building_twice_builds_once(artifacts, answered, lead):
    project, _, _ = answered
    snapshot = build(project, lead)
    again = snapshot_build(snapshot_id=snapshot.pk)
    assert (again.state, again.finished_at, again.files) == ("ready", snapshot.finished_at, snapshot.files)
    assert snapshot_build(snapshot_id=10**9) is None


def test_export_snapshot_command_builds_and_prints_the_hashes(artifacts, answered, lead, tmp_path):
    project, _, _ = answered
    out = io.StringIO()
    call_command("export_snapshot", str(project.id), "--rules", '{"ties": "drop"}', "--seed", "4",
                 "--user", lead.username, "--out", str(tmp_path / "copy"), stdout=out, stderr=io.StringIO())
    snapshot = DatasetSnapshot.objects.get()
    assert snapshot.state == "ready" and snapshot.rules == {"ties": "drop"} and snapshot.created_by == lead
    for f in snapshot.files:
        assert f"{f['sha256']}  {f['name']}" in out.getvalue()
        assert hashlib.sha256((tmp_path / "copy" / f["name"]).read_bytes()).hexdigest() == f["sha256"]


def test_a_build_whose_worker_died_is_marked_failed_and_a_live_one_is_left_alone(artifacts, answered, lead):
    import os
    import subprocess
    import sys

    from annotation.services.snapshots import snapshots_reconcile

    from .conftest import test_database_url

    project, _, _ = answered
    live = snapshot_create(project=project, created_by=lead)
    dead = snapshot_create(project=project, created_by=lead)
    DatasetSnapshot.objects.filter(pk__in=[live.pk, dead.pk]).update(state="building")
    script = ("import django, sys, time; django.setup()\n"
              "from annotation.services.snapshots import builder_lock\n"
              "with builder_lock(int(sys.argv[1]), wait=True):\n"
              "    print('locked', flush=True); time.sleep(120)\n")
    env = {**os.environ, "DATABASE_URL": test_database_url(), "ARTIFACT_ROOT": str(artifacts),
           "DJANGO_SETTINGS_MODULE": "rlhf_site.settings"}
    builders = {s.pk: subprocess.Popen([sys.executable, "-c", script, str(s.pk)], env=env, stdout=subprocess.PIPE,
                                       text=True) for s in (live, dead)}
    try:
        for proc in builders.values():
            assert proc.stdout.readline().strip() == "locked"
        builders[dead.pk].kill()  # the worker dies mid-build: no chance to clean up
        builders[dead.pk].wait()
        assert snapshots_reconcile() == [dead.pk]
        dead.refresh_from_db()
        live.refresh_from_db()
        assert dead.state == "failed" and "stopped" in dead.error
        assert live.state == "building"
        assert snapshots_reconcile() == []  # safe to run twice
    finally:
        for proc in builders.values():
            proc.kill()
            proc.wait()


def _jsonl(snapshot: DatasetSnapshot) -> dict[str, bytes]:
    return {f["name"]: (snapshot_folder(snapshot) / f["name"]).read_bytes() for f in snapshot.files
            if f["name"].endswith(".jsonl")}


def test_a_jsonl_only_build_writes_the_bytes_the_row_dicts_write(artifacts, answered, lead):
    """JSONL alone goes straight to lines (`snapshots.lines`); with Parquet the rows go through dicts. Same bytes,
    whatever the answers hold: a rationale with quotes and emoji, flags, criteria, no time, a whole-second time."""
    project, items, (a, b, _) = answered
    Prompt.objects.filter(pk=items[0].prompt_id).update(conversation=[{"role": "user", "content": 'Wie "spät"\n🙂?'}])
    Response.objects.filter(pk=items[1].response_ids[0]).update(text="tab\there, \u2028 and \\ too")
    first, second = Annotation.objects.filter(project=project).order_by("id")[:2]
    Annotation.objects.filter(pk=first.pk).update(rationale='weil "so"\n🙂', flags=["pii", "other"], confidence=4,
                                                  time_spent_ms=None, criteria={"zeta": 1, "Ä b": -2})
    Annotation.objects.filter(pk=second.pk).update(created_at=first.created_at.replace(microsecond=0))
    from annotation.services.adjudications import adjudication_set
    adjudication_set(item=items[2], decided_by=lead, payload={"chosen": items[2].response_ids[1], "strength": 2,
                                                              "note": 'tie "broken"'})
    rules = {"exclude_flagged": True, "adjudication": "use"}
    lines = build(project, lead, rules=rules, seed=5, test_fraction=0.5)
    dicts = build(project, lead, rules=rules, seed=5, test_fraction=0.5, options={"parquet": True})
    assert lines.state == dicts.state == "ready"
    assert _jsonl(lines) == _jsonl(dicts) and len(_jsonl(lines)) >= 5
    stored = {pk: at.isoformat().replace("+00:00", "Z") for pk, at in
              Annotation.objects.filter(project=project).values_list("id", "created_at")}
    raw = [json.loads(line) for line in _jsonl(lines)["raw-all.jsonl"].split(b"\n") if line]  # not splitlines: U+2028
    assert {row["answer_id"]: row["created_at"] for row in raw} == stored
    assert stored[second.pk].endswith(f":{first.created_at.second:02d}Z")


def test_a_ranking_projects_raw_rows_are_the_same_bytes_either_way(artifacts, lead, annotator):
    project = factories.project("ranking", members={lead: "lead", annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 2)
    for item in Item.objects.filter(project=project).order_by("id"):
        answer(annotator, item, {"ranking": [item.response_ids[1], item.response_ids[0], *item.response_ids[2:]]})
    lines = build(project, lead, test_fraction=0.0)
    dicts = build(project, lead, test_fraction=0.0, options={"parquet": True})
    assert _jsonl(lines) == _jsonl(dicts) and "raw-all.jsonl" in _jsonl(lines)


def test_the_build_reads_the_answers_once_and_its_spool_is_gone_after_success_and_failure(artifacts, answered, lead,
                                                                                           monkeypatch):
    """Curation's numbers and the raw rows come from one query of the answers (issue #15), not one more per chunk
    of items; the rows wait in a spool beside the build's folder, which no build leaves behind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, _, _ = answered
    monkeypatch.setattr("annotation.services.snapshots.CHUNK", 2)  # the five items in three chunks
    spools: list[list[str]] = []

    def spooled(done, total):
        spools.append([p.name for p in (artifacts / "snapshots").glob(".*-building-answers-*")])

    for options in ({}, {"parquet": True}):
        snapshot = snapshot_create(project=project, created_by=lead, enqueue=False, options=options,
                                   rules={"exclude_flagged": True})
        with CaptureQueriesContext(connection) as queries:
            built = snapshot_build(snapshot_id=snapshot.pk, progress=spooled)
        assert built.state == "ready", built.error
        reads = [q["sql"] for q in queries.captured_queries if '"annotation_annotation"' in q["sql"]]
        assert len(reads) == 1, reads
        assert len(spools) == 3 and all(len(names) == 1 for names in spools)  # there while the items stream
        assert [p.name for p in (artifacts / "snapshots").iterdir() if p.name.startswith(".")] == []
        assert rows(built, "raw-all.jsonl") and len(rows(built, "raw-all.jsonl")) == built.counts["raw_answers"] == 13
        spools.clear()

    def full_disk(**kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr("annotation.snapshots.kto_rows_from_pair", full_disk)
    failed = build(project, lead, options={"parquet": True})
    assert failed.state == "failed" and "No space left on device" in failed.error
    assert [p.name for p in (artifacts / "snapshots").iterdir()
            if p.name.startswith(f".{failed.pk}-") or p.name == str(failed.pk)] == []


def _spread_over_chunks(project, items, users):
    """Another item of the first item's prompt, four items later in id order (so in another chunk of two): one
    prompt line for both, wherever each is built."""
    extra = Item.objects.create(project=project, prompt_id=items[0].prompt_id, response_ids=items[0].response_ids,
                                open_slots=project.annotations_per_item)
    for user, value in zip(users, (-2, -1), strict=False):
        answer(user, extra, prefer(extra, value))


# A build is split over processes only on PostgreSQL, whose workers join the build's exported snapshot.
parallel_builds = pytest.mark.skipif("postgresql" not in django_settings.DATABASES["default"]["ENGINE"],
                                     reason="builds split over processes need PostgreSQL; on SQLite one process builds")


@parallel_builds
def test_a_build_split_over_processes_writes_the_files_and_counts_of_a_one_process_build(
        transactional_db, artifacts, answered, lead, settings, monkeypatch):
    """Forked workers read and write chunks of items in the build's own snapshot; the writer puts their lines in
    order. Same bytes and counts as one process, whatever the answers hold (quotes, emoji, U+2028, flags, criteria,
    no time, a whole-second time, a ruling), with a prompt whose items fall in chunks of different workers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    project, items, (a, b, _) = answered
    _spread_over_chunks(project, items, (a, b))
    Prompt.objects.filter(pk=items[0].prompt_id).update(conversation=[{"role": "user", "content": 'Wie "spät"\n🙂?'}])
    Response.objects.filter(pk=items[1].response_ids[0]).update(text="tab\there, \u2028 and \\ too")
    first, second = Annotation.objects.filter(project=project).order_by("id")[:2]
    Annotation.objects.filter(pk=first.pk).update(rationale='weil "so"\n🙂', flags=["pii"], confidence=4,
                                                  time_spent_ms=None, criteria={"zeta": 1, "Ä b": -2})
    Annotation.objects.filter(pk=second.pk).update(created_at=first.created_at.replace(microsecond=0))
    from annotation.services.adjudications import adjudication_set
    adjudication_set(item=items[2], decided_by=lead, payload={"chosen": items[2].response_ids[1], "strength": 2,
                                                              "note": 'tie "broken"'})
    monkeypatch.setattr("annotation.services.snapshots.CHUNK", 2)  # six items, three chunks
    settings.SNAPSHOT_PARALLEL_MIN_ITEMS = 0
    built = {}
    for processes in (1, 2, 3):
        settings.SNAPSHOT_BUILD_PROCESSES = processes
        # With three, slots of shared memory far smaller than a chunk's lines: they go in pieces, a line split too.
        monkeypatch.setattr("annotation.snapshots.transport.SLOT_BYTES", 700 if processes == 3 else 16 << 20)
        progress = []
        snapshot = snapshot_create(project=project, created_by=lead, enqueue=False, seed=5, test_fraction=0.5,
                                   rules={"adjudication": "use", "min_answers_per_item": 2})
        with CaptureQueriesContext(connection) as queries:
            built[processes] = snapshot_build(snapshot_id=snapshot.pk, progress=lambda *p, seen=progress: seen.append(p))
        assert built[processes].state == "ready", built[processes].error
        exported = any("pg_export_snapshot" in q["sql"] for q in queries.captured_queries)
        assert exported == (processes > 1) and progress[-1] == (6, 6)
    one, *split = built.values()
    prompts = [row["prompt_id"] for split in ("train", "test") for row in rows(one, f"prompts-{split}.jsonl")]
    assert len(prompts) == len(set(prompts)) == one.counts["prompts"] == 4  # the lone answer's item is left out
    assert one.counts["raw_answers"] == 15
    for other in split:
        assert _jsonl(other) == _jsonl(one) and other.counts == one.counts
        assert [(f["name"], f["rows"], f["sha256"]) for f in other.files] == \
            [(f["name"], f["rows"], f["sha256"]) for f in one.files]
    assert [p.name for p in (artifacts / "snapshots").iterdir() if p.name.startswith(".")] == []


@parallel_builds
def test_a_builds_workers_make_no_reference_cycles(transactional_db, artifacts, answered, lead, settings, monkeypatch,
                                                   tmp_path):
    """A worker runs without the cyclic collector (`transport.fork`), so whatever it makes must be freed by
    reference counting alone: after its work, a collection finds nothing, in either phase, over several chunks."""
    import gc

    from annotation.snapshots import transport

    project, _, _ = answered
    monkeypatch.setattr("annotation.services.snapshots.CHUNK", 2)
    settings.SNAPSHOT_PARALLEL_MIN_ITEMS, settings.SNAPSHOT_BUILD_PROCESSES = 0, 2
    fork, found = transport.fork, tmp_path / "found"
    found.mkdir()

    def checked(work, on_error):
        def run():
            assert not gc.isenabled()
            work()
            (found / str(os.getpid())).write_text(str(gc.collect()))
        return fork(run, on_error)

    monkeypatch.setattr(transport, "fork", checked)
    built = build(project, lead, rules={"exclude_flagged": True})
    assert built.state == "ready", built.error
    assert sorted(int(p.read_text()) for p in found.iterdir()) == [0, 0, 0, 0]  # two workers in each phase


@parallel_builds
@pytest.mark.parametrize("where", ["reading the answers", "writing the lines"])
def test_a_worker_that_fails_fails_the_build_with_its_error_and_leaves_nothing(
        transactional_db, artifacts, answered, lead, settings, monkeypatch, where):
    import os

    project, _, _ = answered
    monkeypatch.setattr("annotation.services.snapshots.CHUNK", 2)
    settings.SNAPSHOT_PARALLEL_MIN_ITEMS, settings.SNAPSHOT_BUILD_PROCESSES = 0, 2

    def broken(*args, **kwargs):
        raise OSError(f"disk gone while {where}")

    if where == "reading the answers":
        monkeypatch.setattr("annotation.services.snapshots.answers_scan_part", broken)
    else:
        monkeypatch.setattr("annotation.snapshots.lines.raw_fill", broken)
    from annotation.snapshots import transport
    forked, fork = [], transport.fork
    monkeypatch.setattr(transport, "fork", lambda *args: forked.append(fork(*args)) or forked[-1])
    failed = build(project, lead)
    assert failed.state == "failed" and "a snapshot worker failed" in failed.error
    assert f"OSError: disk gone while {where}" in failed.error
    assert [p.name for p in (artifacts / "snapshots").iterdir()] == []
    assert len(forked) == (2 if where == "reading the answers" else 4)
    for pid in forked:  # every worker ended and reaped
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


@parallel_builds
@pytest.mark.worker
@pytest.mark.parametrize("live_worker", [{"pool": "prefork", "env": {"SNAPSHOT_PARALLEL_MIN_ITEMS": "0",
                                                                     "SNAPSHOT_BUILD_PROCESSES": "2"}}],
                         indirect=True)
def test_a_celery_pool_process_builds_a_snapshot_over_forked_workers(artifacts, live_worker, lead, annotator):
    """The shipped worker's pool processes are daemons, which `multiprocessing` refuses to let start children: the
    build forks its own. 1,001 items make two chunks of items, so two workers."""
    project = factories.project("pairwise", members={lead: "lead", annotator: "annotator"}, annotations_per_item=1)
    factories.items(project, 1001)
    for item in Item.objects.filter(project=project).order_by("id")[::100]:
        answer(annotator, item, prefer(item, -2))
    snapshot = snapshot_create(project=project, created_by=lead, test_fraction=0.5)
    wait_for(lambda: DatasetSnapshot.objects.get(pk=snapshot.pk).state in ("ready", "failed"), timeout=120,
             what="the worker to build the snapshot", log_path=live_worker.log_path)
    snapshot.refresh_from_db()
    assert snapshot.state == "ready", snapshot.error
    assert "2 workers read the answers" in live_worker.log_path.read_text()
    assert snapshot.counts["pairs"] == snapshot.counts["raw_answers"] == len(rows(snapshot, "raw-all.jsonl")) == 11
    assert snapshot.counts["prompts"] == 11
