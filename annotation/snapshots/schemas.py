"""Parquet schemas, one per format, so every row group of a file has the same types.

JSONL needs no schema. Parquet columns cannot hold a free-form object, so the few
free-form fields (raw ``criteria``: {criterion: sub-answer}; raw ``ranking``, a list of ids
or, with ties, a list of groups of ids) are stored as JSON text, null staying null.
"""

from __future__ import annotations

JSON_ENCODED: dict[str, tuple[str, ...]] = {"raw": ("criteria", "ranking")}


def schema(fmt: str, *, ranking: bool = False):
    import pyarrow as pa

    messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    ids = [("prompt_id", pa.string()), ("item_id", pa.int64())]
    if fmt == "sft":
        fields = [("messages", messages), *ids, ("answer_id", pa.int64())]
    elif fmt == "preference":
        fields = [("prompt", messages), ("chosen", messages), ("rejected", messages), ("margin", pa.float64()),
                  ("agreement", pa.float64()), ("n_annotators", pa.int64()), *ids, ("adjudicated", pa.bool_()),
                  ("adjudication_note", pa.string())]
        if ranking:
            fields += [(name, pa.int64()) for name in ("ranking_id", "chosen_rank", "rejected_rank", "ranking_size")]
    elif fmt == "kto":
        fields = [("prompt", messages), ("completion", messages), ("label", pa.bool_()), *ids]
    elif fmt == "prompts":
        fields = [("prompt", messages), ("prompt_id", pa.string())]
    elif fmt == "raw":
        responses = pa.list_(pa.struct([("id", pa.int64()), ("text", pa.string()), ("model", pa.string())]))
        fields = [("answer_id", pa.int64()), ("item_id", pa.int64()), ("prompt_id", pa.string()), ("prompt", messages),
                  ("responses", responses), ("annotator", pa.string()), ("created_at", pa.string()),
                  ("shown_order", pa.list_(pa.int64())), ("preference", pa.int64()), ("ranking", pa.string()),
                  ("text", pa.string()), ("both_bad", pa.bool_()), ("criteria", pa.string()),
                  ("flags", pa.list_(pa.string())), ("confidence", pa.int64()), ("time_spent_ms", pa.int64()),
                  ("rationale", pa.string()), ("is_gold", pa.bool_()), ("split", pa.string()), ("kept", pa.bool_()),
                  ("annotator_is_model", pa.bool_())]
    else:
        raise ValueError(f"format: unknown snapshot format {fmt!r}")
    return pa.schema(fields)
