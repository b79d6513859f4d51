"""The pure snapshot writers: split, pseudonyms, row shapes, canonical bytes, atomic publish."""

import hashlib
import json
import stat
from datetime import UTC, datetime

import pytest

from annotation import snapshots
from annotation.snapshots.rows import PairVotes, Verdict

CONVERSATION = [{"role": "user", "content": "Wie spät ist es?"}]


def verdict(direction: int, margin: float = 1.0) -> Verdict:
    return Verdict(direction=direction, margin=margin, agreement=1.0, n_annotators=1)


def votes(direction: int) -> PairVotes:
    """One vote on a pair: for the lower id (-1), a tie (0) or the higher id (+1)."""
    return PairVotes(support_lower=float(direction < 0), support_higher=float(direction > 0), agreement=None,
                     n_annotators=1)


def test_the_split_is_fixed_by_seed_and_prompt_and_holds_out_about_the_asked_fraction():
    keys = [f"p-{i}" for i in range(10_000)]
    first = [snapshots.split_of(seed=7, prompt_key=k, test_fraction=0.2) for k in keys]
    again = [snapshots.split_of(seed=7, prompt_key=k, test_fraction=0.2) for k in keys]
    other_seed = [snapshots.split_of(seed=8, prompt_key=k, test_fraction=0.2) for k in keys]
    assert first == again
    assert abs(first.count("test") / len(keys) - 0.2) < 0.02
    assert first != other_seed
    assert {snapshots.split_of(seed=7, prompt_key=k, test_fraction=0.0) for k in keys} == {"train"}


def test_pseudonyms_are_stable_per_seed_and_reveal_neither_name_nor_id():
    name = snapshots.pseudonym(secret=b"k", seed=1, user_id=42)
    assert name == snapshots.pseudonym(secret=b"k", seed=1, user_id=42)
    assert name.startswith("annotator-") and len(name) == len("annotator-") + 10
    assert name != snapshots.pseudonym(secret=b"k", seed=2, user_id=42)
    assert name != snapshots.pseudonym(secret=b"other", seed=1, user_id=42)
    assert name != "annotator-" + hashlib.sha256(b"1:42").hexdigest()[:10]  # not guessable from seed and id alone


def test_canonical_json_sorts_keys_keeps_unicode_and_refuses_nan():
    assert snapshots.canonical_json({"b": 1, "a": "spät"}) == '{"a":"spät","b":1}'
    with pytest.raises(ValueError):
        snapshots.canonical_json({"margin": float("nan")})


def test_a_ranking_of_four_expands_to_six_pairs_oriented_best_first():
    order = [30, 10, 40, 20]  # best first
    # a ranked above b: the lower id is better (-1) exactly when a is the lower id
    verdicts = {(min(a, b), max(a, b)): votes(-1 if a < b else 1) for i, a in enumerate(order) for b in order[i + 1:]}
    pairs, ties = snapshots.ranking_pairs(order, verdicts)
    assert ties == 0 and len(pairs) == 6
    assert [(p.chosen, p.rejected) for p in pairs] == [(30, 10), (30, 40), (30, 20), (10, 40), (10, 20), (40, 20)]
    assert [(p.chosen_rank, p.rejected_rank) for p in pairs] == [(1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4)]
    best, _ = snapshots.ranking_pairs(order, verdicts, best_vs_rest=True)
    assert [(p.chosen, p.rejected) for p in best] == [(30, 10), (30, 40), (30, 20)]


def test_ranking_pairs_leave_out_pairs_curation_removed_and_count_tied_ones():
    order = [[1], [2, 3]]  # the consensus ties 2 and 3
    pairs, ties = snapshots.ranking_pairs(order, {(1, 2): votes(-1), (2, 3): votes(0)})
    assert [(p.chosen, p.rejected) for p in pairs] == [(1, 2)] and ties == 1


def test_the_consensus_ranking_decides_the_pair_even_against_its_own_majority():
    # The old rule oriented this pair by its own majority and wrote chosen_rank 2 > rejected_rank 1.
    pairs, _ = snapshots.ranking_pairs([1, 2], {(1, 2): votes(+1)})
    assert (pairs[0].chosen, pairs[0].rejected, pairs[0].chosen_rank, pairs[0].rejected_rank) == (1, 2, 1, 2)
    assert pairs[0].verdict.margin == 0.0  # no vote backs it: the margin says so, and is never negative


def test_tied_consensus_responses_share_a_rank_and_give_no_pair_between_them():
    order = [[30], [10, 40], [20]]
    all_votes = {(a, b): votes(-1) for a in (10, 20, 30, 40) for b in (10, 20, 30, 40) if a < b}
    pairs, ties = snapshots.ranking_pairs(order, all_votes)
    assert ties == 1 and len(pairs) == 5
    assert [(p.chosen, p.rejected, p.chosen_rank, p.rejected_rank) for p in pairs] == [
        (30, 10, 1, 2), (30, 40, 1, 2), (30, 20, 1, 4), (10, 20, 2, 4), (40, 20, 2, 4)]
    assert all(p.chosen_rank < p.rejected_rank for p in pairs)
    # (10, 20) has a vote for 10, the lower id; (30, 10) has none for 30, the higher id.
    margins = {(p.chosen, p.rejected): p.verdict.margin for p in pairs}
    assert margins[(10, 20)] == 1.0 and margins[(30, 10)] == 0.0
    best, best_ties = snapshots.ranking_pairs([[10, 40], [30], [20]], all_votes, best_vs_rest=True)
    assert [(p.chosen, p.rejected) for p in best] == [(10, 30), (10, 20), (40, 30), (40, 20)] and best_ties == 1


def test_kto_from_a_ranking_with_ties_never_labels_two_tied_responses_differently():
    texts = {i: f"r{i}" for i in range(1, 6)}
    rows = snapshots.kto_rows_from_ranking(conversation=CONVERSATION, order=[[5], [4, 3], [2, 1]], texts=texts,
                                           prompt_id="p", item_id=1)
    assert [(r["completion"][0]["content"], r["label"]) for r in rows] == [("r5", True), ("r2", False), ("r1", False)]


def test_kto_from_a_ranking_labels_the_better_half_desirable_and_leaves_out_an_odd_middle():
    rows = snapshots.kto_rows_from_ranking(conversation=CONVERSATION, order=[5, 4, 3, 2, 1],
                                           texts={i: f"r{i}" for i in range(1, 6)}, prompt_id="p", item_id=1)
    assert [(r["completion"][0]["content"], r["label"]) for r in rows] == [
        ("r5", True), ("r4", True), ("r2", False), ("r1", False)]


def test_rows_have_the_shapes_trl_trainers_take():
    pref = snapshots.preference_row(conversation=CONVERSATION, chosen="a", rejected="b",
                                    verdict=Verdict(-1, 5 / 3, 1 / 3, 3), prompt_id="p", item_id=1)
    assert pref["chosen"] == [{"role": "assistant", "content": "a"}] and pref["prompt"] == CONVERSATION
    assert (pref["margin"], pref["agreement"], pref["n_annotators"]) == (1.666667, 0.333333, 3)
    sft = snapshots.sft_row(conversation=CONVERSATION, reply="Halb drei.", prompt_id="p", item_id=1, answer_id=9)
    assert sft["messages"] == [*CONVERSATION, {"role": "assistant", "content": "Halb drei."}]
    kto = snapshots.kto_rows_from_pair(conversation=CONVERSATION, chosen="a", rejected="b", prompt_id="p", item_id=1)
    assert [(r["completion"][0]["content"], r["label"]) for r in kto] == [("a", True), ("b", False)]


def _raw_answer(**extra):
    answer = {"id": 1, "item_id": 2, "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "shown_order": [4, 3],
              "preference": -2, "ranking": None, "text": "", "both_bad": False, "criteria": {"honesty": 1},
              "flags": [], "confidence": None, "time_spent_ms": 1500, "rationale": "", "is_gold": False}
    return {**answer, **extra}


def test_a_raw_row_keeps_time_display_order_and_criteria():
    row = snapshots.raw_row(answer=_raw_answer(), annotator="annotator-x", prompt_id="p", conversation=CONVERSATION,
                            responses=[{"id": 3, "text": "a", "model": ""}], split="test", kept=True)
    assert row["created_at"] == "2026-01-02T03:04:05Z" and row["shown_order"] == [4, 3]
    assert row["criteria"] == {"honesty": 1} and row["annotator"] == "annotator-x" and row["split"] == "test"


def _write(root, name, parquet=False):
    files = snapshots.SnapshotFiles(root, name, parquet=parquet, batch_rows=2)
    for i in range(5):
        files.write("preference", "train", snapshots.preference_row(
            conversation=CONVERSATION, chosen=f"a{i}", rejected="b", verdict=verdict(-1), prompt_id=f"p{i}", item_id=i))
    files.write("raw", "all", snapshots.raw_row(answer=_raw_answer(), annotator="annotator-x", prompt_id="p",
                                                conversation=CONVERSATION, responses=[], split="train", kept=True))
    return files


def test_publish_moves_the_whole_folder_into_place_read_only_with_the_hashes_of_its_bytes(tmp_path):
    files = _write(tmp_path, "7")
    assert not (tmp_path / "7").exists()
    infos = files.publish()
    assert [i.name for i in infos] == ["preference-train.jsonl", "raw-all.jsonl"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["7"]  # no temporary folder left
    for info in infos:
        path = tmp_path / "7" / info.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == info.sha256 and path.stat().st_size == info.bytes
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    lines = (tmp_path / "7" / "preference-train.jsonl").read_bytes().splitlines()
    assert len(lines) == infos[0].rows == 5 and json.loads(lines[0])["chosen"][0]["content"] == "a0"


def test_identical_rows_give_identical_bytes_in_jsonl_and_parquet(tmp_path):
    first = {i.name: i.sha256 for i in _write(tmp_path, "1", parquet=True).publish()}
    second = {i.name: i.sha256 for i in _write(tmp_path, "2", parquet=True).publish()}
    assert first == second and "preference-train.parquet" in first


def test_a_discarded_build_leaves_nothing_and_a_folder_is_never_overwritten(tmp_path):
    _write(tmp_path, "1").discard()
    assert list(tmp_path.iterdir()) == []
    _write(tmp_path, "2").publish()
    with pytest.raises(FileExistsError):
        snapshots.SnapshotFiles(tmp_path, "2")


@pytest.mark.parametrize("direct", [True, False], ids=["o_direct", "through_the_cache"])
def test_lines_written_by_the_writer_thread_are_the_bytes_hashes_and_rows_given(tmp_path, monkeypatch, direct):
    """Lines gathered, joined blocks and rows, across many of the O_DIRECT buffer's blocks and a tail shorter than
    one, with O_DIRECT and without it (as on a filesystem that refuses it): the file holds them in order, and its
    hash and rows are those of its bytes, not read back."""
    from annotation.snapshots import writers

    monkeypatch.setattr(writers, "DIRECT_BLOCK", 4096)
    monkeypatch.setattr(writers, "FLUSH_LINES", 7)
    if not direct:
        monkeypatch.delattr(writers.os, "O_DIRECT")
    files = snapshots.SnapshotFiles(tmp_path, "9")
    write, expected = files.line_writer("raw", "all"), []
    for i in range(3000):
        line = b'{"i":%d,"text":"%s"}\n' % (i, b"x" * (i % 997))
        expected.append(line)
        if i % 500 == 499:
            files.write_block("raw", "all", line, 1)
        else:
            write(line)
        if i % 100 == 0:
            files.flush()
    used_direct = files.open["raw-all.jsonl"].sink.direct
    if direct and not used_direct:
        pytest.skip(f"{tmp_path}'s filesystem refuses O_DIRECT")
    assert used_direct == direct
    info, = files.publish()
    data = (tmp_path / "9" / "raw-all.jsonl").read_bytes()
    assert data == b"".join(expected) and len(data) > 50 * 4096
    assert (info.rows, info.bytes, info.sha256) == (3000, len(data), hashlib.sha256(data).hexdigest())


def test_an_error_on_the_writer_thread_fails_the_publish_and_a_discard_leaves_nothing(tmp_path, monkeypatch):
    from annotation.snapshots import writers

    def full(self, block):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers._Sink, "write", full)
    files = snapshots.SnapshotFiles(tmp_path, "3")
    files.line_writer("raw", "all")(b"{}\n")
    with pytest.raises(OSError, match="No space left"):
        files.publish()
    files.discard()
    assert list(tmp_path.iterdir()) == []
