"""One function per row shape. Rows are plain dicts; `writers` gives them their bytes.

Messages are conversational (``[{"role", "content"}]``), the form TRL's trainers apply a
chat template to. Floats are rounded to 6 places so that files read well and compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Messages = list[dict[str, str]]


def _assistant(text: str) -> Messages:
    return [{"role": "assistant", "content": text}]


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def sft_row(*, conversation: Messages, reply: str, prompt_id: str, item_id: int, answer_id: int) -> dict:
    return {"messages": [*conversation, *_assistant(reply)], "prompt_id": prompt_id, "item_id": item_id,
            "answer_id": answer_id}


@dataclass(frozen=True)
class Verdict:
    """The curated consensus on one response pair: direction -1 (lower/first better), 0 tie, +1."""

    direction: int
    strength: float
    agreement: float | None
    n_annotators: int


def preference_row(*, conversation: Messages, chosen: str, rejected: str, verdict: Verdict, prompt_id: str,
                   item_id: int, ranking: Mapping[str, int] | None = None) -> dict:
    """`margin` is the consensus strength (0..3 on the pairwise scale; vote margin for rankings)."""
    row = {"prompt": conversation, "chosen": _assistant(chosen), "rejected": _assistant(rejected),
           "margin": _num(verdict.strength), "agreement": _num(verdict.agreement),
           "n_annotators": verdict.n_annotators, "prompt_id": prompt_id, "item_id": item_id}
    if ranking is not None:
        row.update(ranking)
    return row


def kto_rows_from_pair(*, conversation: Messages, chosen: str, rejected: str, prompt_id: str, item_id: int) -> list[dict]:
    """TRL's `unpair_preference_dataset` form: the chosen reply desirable, the rejected one not."""
    return [_kto(conversation, chosen, True, prompt_id, item_id), _kto(conversation, rejected, False, prompt_id, item_id)]


def kto_rows_from_ranking(*, conversation: Messages, order: Sequence[int], texts: Mapping[int, str],
                          prompt_id: str, item_id: int) -> list[dict]:
    """The better half of a consensus ranking desirable, the worse half not; an odd middle one is left out.

    Unpairing each of the C(K, 2) pairs instead would label a middle response both ways.
    """
    half = len(order) // 2
    return ([_kto(conversation, texts[r], True, prompt_id, item_id) for r in order[:half]]
            + [_kto(conversation, texts[r], False, prompt_id, item_id) for r in order[len(order) - half:]])


def _kto(conversation: Messages, completion: str, label: bool, prompt_id: str, item_id: int) -> dict:
    return {"prompt": conversation, "completion": _assistant(completion), "label": label, "prompt_id": prompt_id,
            "item_id": item_id}


def prompt_row(*, conversation: Messages, prompt_id: str) -> dict:
    return {"prompt": conversation, "prompt_id": prompt_id}


@dataclass(frozen=True)
class RankedPair:
    chosen: int
    rejected: int
    chosen_rank: int  # 1-based position in the consensus ranking
    rejected_rank: int
    verdict: Verdict


def ranking_pairs(order: Sequence[int], verdicts: Mapping[tuple[int, int], Verdict], *,
                  best_vs_rest: bool = False) -> tuple[list[RankedPair], int]:
    """A consensus ranking expanded to its C(K, 2) pairs (InstructGPT), or to best-vs-rest (K - 1).

    Only pairs that survived curation (present in `verdicts`, keyed by (lower id, higher
    id)) become rows, oriented by their own curated consensus, which is the ranking's order
    unless the annotators' pairwise majorities form a cycle. Returns (pairs, consensus ties
    left out).
    """
    pairs, ties = [], 0
    for i, a in enumerate(order):
        for j in range(i + 1, len(order)):
            if best_vs_rest and i > 0:
                break
            b = order[j]
            verdict = verdicts.get((min(a, b), max(a, b)))
            if verdict is None:
                continue
            if verdict.direction == 0:
                ties += 1
                continue
            better_is_lower = verdict.direction < 0
            chosen, rejected = (min(a, b), max(a, b)) if better_is_lower else (max(a, b), min(a, b))
            ranks = (i + 1, j + 1) if chosen == a else (j + 1, i + 1)
            pairs.append(RankedPair(chosen, rejected, ranks[0], ranks[1], verdict))
    return pairs, ties


def raw_row(*, answer: Mapping[str, Any], annotator: str, prompt_id: str, conversation: Messages,
            responses: list[dict], split: str, kept: bool) -> dict:
    """Every stored field of one answer, the item as shown, and whether curation kept it."""
    created: datetime = answer["created_at"]
    return {
        "answer_id": answer["id"], "item_id": answer["item_id"], "prompt_id": prompt_id, "prompt": conversation,
        "responses": responses, "annotator": annotator,
        "created_at": created.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "shown_order": list(answer["shown_order"] or []), "preference": answer["preference"],
        "ranking": answer["ranking"], "text": answer["text"] or None, "both_bad": bool(answer["both_bad"]),
        "criteria": answer["criteria"] or {}, "flags": list(answer["flags"] or []),
        "confidence": answer["confidence"], "time_spent_ms": answer["time_spent_ms"],
        "rationale": answer["rationale"] or None, "is_gold": bool(answer["is_gold"]), "split": split, "kept": kept,
    }
