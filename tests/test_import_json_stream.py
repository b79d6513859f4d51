"""A .json document is read item by item (ijson), so memory does not follow its size; what that reading cannot
vouch for (a malformed document, one that is not a list, an unpaired surrogate escape) is read whole instead,
with the errors the whole reading always gave."""

import io
import json

import pytest

from annotation.importing import Errors, Limits, SurrogateWatch, records


class Trickle(io.BytesIO):
    """A stream that hands out at most `step` bytes a read, so escapes are cut at every place."""

    def __init__(self, data: bytes, step: int):
        super().__init__(data)
        self.step = step

    def read(self, size=-1):
        return super().read(self.step if size < 0 else min(size, self.step))


def watched(data: bytes, step: int) -> bool:
    reader = SurrogateWatch(Trickle(data, step))
    while reader.read(65536):
        pass
    return reader.unpaired


@pytest.mark.parametrize("text, unpaired", [
    (r'["\ud83d\ude00 a grin"]', False),  # a pair, as json.dumps writes an emoji
    (r'["\ud83d\ude00\ud83d\ude01"]', False),
    (r'["caf\u00e9 \u0000"]', False),  # no surrogate at all
    (r'["\ud800"]', True),  # a high escape alone
    (r'["\ud800x\udc00"]', True),  # a high and a low, apart
    (r'["\udc00"]', True),  # a low escape alone
    (r'["\ud83d\ude00\ud83d"]', True),
])
def test_the_watch_tells_pairs_from_lone_surrogate_escapes_wherever_the_reads_cut_them(text, unpaired):
    for step in (1, 2, 3, 5, 7, 11, 13, 4096):
        assert watched(text.encode(), step) is unpaired, step


def items(data: bytes) -> tuple[list, list]:
    errors = Errors()
    got = list(records(io.BytesIO(data), "x.json", errors, Limits()))
    return got, errors.all()


def good(i: int) -> dict:
    return {"external_id": f"j{i}", "prompt": f"Question {i} \U0001F600", "responses": ["a", "b"]}


@pytest.mark.parametrize("wrap", [lambda rows: {"source": "x", "items": rows, "after": [1, {"a": 2}]},
                                  lambda rows: rows], ids=["object", "list"])
def test_a_json_document_yields_its_items_in_order_before_the_rest_is_read(wrap):
    rows = [good(i) for i in range(20_000)]
    data = json.dumps(wrap(rows)).encode()  # ensure_ascii: the emoji are surrogate pairs
    stream = io.BytesIO(data)
    found = records(stream, "x.json", Errors(), Limits())
    assert next(found) == (1, rows[0])
    assert stream.tell() < len(data) / 10  # the first item came before most of the file was read
    assert list(found)[-1] == (20_000, rows[-1])


@pytest.mark.parametrize("data, line, field, message", [
    (b'[{"external_id": "a", "prompt": "\\ud800", "responses": ["a", "b"]}]', 1, "file", "malformed JSON"),
    (b'{"items": [\n{"external_id": }]}', 2, "file", "malformed JSON"),
    (b'{"items": {"a": 1}}', None, "items", "must be a list"),
    (b'{"items": []}', None, "items", "is empty"),
    (b'[' + b'[' * 5000 + b']' * 5000 + b']', None, "file", "nests deeper"),
    (b'[1, NaN]', 1, "file", "malformed JSON"),
])
def test_what_the_streamed_reading_cannot_vouch_for_gets_the_whole_readings_errors(data, line, field, message):
    got, errors = items(data)
    assert errors, got
    assert errors[0]["field"] == field and message in errors[0]["message"]
    if line is not None:
        assert errors[0]["line"] == line
