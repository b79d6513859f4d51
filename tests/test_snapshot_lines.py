"""The byte templates of `snapshots.lines` write exactly what the row functions and RowEncoder write."""

from datetime import UTC, datetime

import orjson
import pytest

from annotation import snapshots
from annotation.snapshots import lines
from annotation.snapshots.rows import Verdict
from annotation.snapshots.writers import RowEncoder

CONVERSATION = [{"role": "system", "content": "Be \"brief\"\n\ttabs\\ and \u0001, 100% and %s {split} spät 🙂"},
                {"role": "user", "content": "Wie spät ist es?"}]
RESPONSES = [{"id": 3, "text": "a\u2028b", "model": "m"}, {"id": 4, "text": "", "model": ""}]
ANSWERS = [
    {"id": 1, "item_id": 2, "created_at": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "shown_order": [4, 3],
     "preference": -2, "ranking": None, "text": "", "both_bad": False, "criteria": {}, "flags": [],
     "confidence": None, "time_spent_ms": 1500, "rationale": "", "is_gold": False},
    {"id": 10**12, "item_id": 7, "created_at": datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC), "shown_order": None,
     "preference": None, "ranking": [[5], [3, 4]], "text": "Halb \"drei\"\n", "both_bad": True,
     "criteria": {"zeta": [3, 4], "honesty": 1, "Ä b": -3}, "flags": ["pii", "other"], "confidence": 5,
     "time_spent_ms": None, "rationale": "weil \\ darum", "is_gold": True},
]


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize("kept", [True, False])
def test_a_raw_line_is_the_raw_rows_line(answer, kept):
    row = snapshots.raw_row(answer=answer, annotator="annotator-x", prompt_id="p\"1 %s {split}", conversation=CONVERSATION,
                            responses=RESPONSES, split="test", kept=kept, annotator_is_model=kept)
    stored = {name: None if answer[name] is None else orjson.dumps(answer[name]).decode().replace(",", ", ")
              for name in ("shown_order", "ranking", "criteria", "flags")}  # as the database spells JSON
    template = lines.raw_template(is_gold=answer["is_gold"], item_id=answer["item_id"],
                                  prompt=lines.json_bytes(CONVERSATION), prompt_id=lines.json_bytes("p\"1 %s {split}"),
                                  responses=lines.json_bytes(RESPONSES), split=lines.json_bytes("test"))
    line = lines.raw_line(
        template, lines.json_bytes("annotator-x"), kept, answer["id"], answer["both_bad"], answer["confidence"],
        answer["created_at"].isoformat().replace("+00:00", "Z"), lines.stored_json(stored["criteria"], b"{}"),
        lines.stored_json(stored["flags"], b"[]"), kept, answer["preference"],
        lines.stored_json(stored["ranking"], b"null"), answer["rationale"],
        lines.stored_json(stored["shown_order"], b"[]"), answer["text"], answer["time_spent_ms"])
    assert line == RowEncoder().line(row)


@pytest.mark.parametrize("margin, agreement, note", [(5 / 3, 1 / 3, None), (0.00004, None, "ruled: \"A\""),
                                                     (2.0, 1.0, ""), (1e-7, 0.5, None)])
def test_preference_kto_and_prompt_lines_are_their_rows_lines(margin, agreement, note):
    verdict = Verdict(-1, margin, agreement, 3, note)
    row = snapshots.preference_row(conversation=CONVERSATION, chosen="a\n", rejected="b🙂", verdict=verdict,
                                   prompt_id="p", item_id=9)
    prompt, prompt_id = lines.json_bytes(CONVERSATION), lines.json_bytes("p")
    chosen, rejected = lines.assistant_json("a\n"), lines.assistant_json("b🙂")
    assert lines.preference_line(prompt=prompt, chosen=chosen, rejected=rejected, margin=row["margin"],
                                 agreement=row["agreement"], n_annotators=3, prompt_id=prompt_id, item_id=9,
                                 adjudication_note=note) == RowEncoder().line(row)
    kto = snapshots.kto_rows_from_pair(conversation=CONVERSATION, chosen="a\n", rejected="b🙂", prompt_id="p",
                                       item_id=9)
    assert [lines.kto_line(prompt=prompt, completion=c, label=label, prompt_id=prompt_id, item_id=9)
            for c, label in ((chosen, True), (rejected, False))] == [RowEncoder().line(r) for r in kto]
    assert lines.prompt_line(prompt=prompt, prompt_id=prompt_id) == RowEncoder().line(
        snapshots.prompt_row(conversation=CONVERSATION, prompt_id="p"))


def test_a_nan_margin_is_refused_as_the_row_encoder_refuses_it():
    with pytest.raises(ValueError):
        lines.number_json(float("nan"))


@pytest.mark.parametrize("text, iso", [("2026-01-02 03:04:05", "2026-01-02T03:04:05Z"),
                                       ("2026-01-02 03:04:05.12", "2026-01-02T03:04:05.120000Z"),
                                       ("2026-01-02 03:04:05.000120", "2026-01-02T03:04:05.000120Z"),
                                       ("2026-01-02 03:04:05.123456", "2026-01-02T03:04:05.123456Z")])
def test_utc_text_becomes_what_isoformat_writes(text, iso):
    assert lines.iso_utc(text) == iso == datetime.fromisoformat(text + "+00:00").isoformat().replace("+00:00", "Z")



def test_numbers_remembered_are_spelled_as_number_json_spells_them():
    numbers = lines.Numbers()
    values = [5 / 3, 0.00004, 1e-7, 2.0, 0.0, -0.0, None, 5 / 3, -0.0, 0.0, 1e16]
    assert [numbers[v] for v in values] == [lines.number_json(v) for v in values]
    assert numbers[-0.0] == b"-0.0" and numbers[0.0] == b"0.0" and 0.0 not in numbers
    with pytest.raises(ValueError):
        numbers[float("nan")]
    assert lines.assistant_json("a\u2028\"b\"") == lines.json_bytes([{"role": "assistant", "content": "a\u2028\"b\""}])
