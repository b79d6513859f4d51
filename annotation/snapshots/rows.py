"""One function per row shape. Rows are plain dicts; `writers` gives them their bytes.

Messages are conversational (``[{"role", "content"}]``), the form TRL's trainers apply a
chat template to. Floats are rounded to 6 places so that files read well and compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

Messages = list[dict[str, str]]


def _assistant(text: str) -> Messages:
    return [{"role": "assistant", "content": text}]


def _num(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def sft_row(*, conversation: Messages, reply: str, prompt_id: str, item_id: int, answer_id: int) -> dict:
    return {"messages": [*conversation, *_assistant(reply)], "prompt_id": prompt_id, "item_id": item_id,
            "answer_id": answer_id}


class Verdict(NamedTuple):
    """The curated consensus on one response pair: direction -1 (lower/first better), 0 tie, +1.

    `margin` is how strongly the answers back that direction: the mean over the pair's
    curated answers of the strength each lends the chosen side (|value| when on that side,
    0 for a tie or the other side). Never negative: 0..3 on the pairwise scale, the share of
    rankings ordering the pair as the consensus does for ranking pairs.

    A named tuple, not a frozen dataclass: a snapshot makes one per item, and a frozen dataclass took four times
    as long to make.
    """

    direction: int
    margin: float
    agreement: float | None
    n_annotators: int
    adjudication_note: str | None = None  # set when a lead's ruling decided the direction (and margin)


@dataclass(frozen=True)
class PairVotes:
    """A ranked item's curated votes on one response pair (lower id, higher id), for either side."""

    support_lower: float  # mean strength behind "the lower id is better" (the share of its votes)
    support_higher: float
    agreement: float | None
    n_annotators: int
    adjudication_note: str | None = None

    def toward(self, direction: int) -> Verdict:
        margin = self.support_lower if direction < 0 else self.support_higher if direction > 0 else 0.0
        return Verdict(direction, margin, self.agreement, self.n_annotators, self.adjudication_note)


def preference_row(*, conversation: Messages, chosen: str, rejected: str, verdict: Verdict, prompt_id: str,
                   item_id: int, ranking: Mapping[str, int] | None = None) -> dict:
    """`margin`: see `Verdict` (what TRL's reward trainer adds to the reward gap it must beat). `adjudicated`:
    a lead's ruling chose the side (its `adjudication_note` says why), not the annotators' consensus."""
    row = {"prompt": conversation, "chosen": _assistant(chosen), "rejected": _assistant(rejected),
           "margin": _num(verdict.margin), "agreement": _num(verdict.agreement),
           "n_annotators": verdict.n_annotators, "prompt_id": prompt_id, "item_id": item_id,
           "adjudicated": verdict.adjudication_note is not None, "adjudication_note": verdict.adjudication_note}
    if ranking is not None:
        row.update(ranking)
    return row


def kto_rows_from_pair(*, conversation: Messages, chosen: str, rejected: str, prompt_id: str, item_id: int) -> list[dict]:
    """TRL's `unpair_preference_dataset` form: the chosen reply desirable, the rejected one not."""
    return [_kto(conversation, chosen, True, prompt_id, item_id), _kto(conversation, rejected, False, prompt_id, item_id)]


Groups = Sequence[int | Sequence[int]]  # best first; a list entry is a group of tied responses


def _groups(order: Groups) -> list[list[int]]:
    return [list(entry) if isinstance(entry, Sequence) else [entry] for entry in order]


def kto_rows_from_ranking(*, conversation: Messages, order: Groups, texts: Mapping[int, str],
                          prompt_id: str, item_id: int) -> list[dict]:
    """The better half of a consensus ranking desirable, the worse half not; an odd middle one is left out.

    Unpairing each of the C(K, 2) pairs instead would label a middle response both ways. With
    ties (`order` as groups), a group that straddles the middle is left out whole, so that two
    tied responses never get opposite labels.
    """
    groups = _groups(order)
    n = sum(len(g) for g in groups)
    rows, before = [], 0
    for group in groups:
        after = before + len(group)
        label = True if after <= n // 2 else False if before >= n - n // 2 else None
        if label is not None:
            rows += [_kto(conversation, texts[r], label, prompt_id, item_id) for r in group]
        before = after
    return rows


def _kto(conversation: Messages, completion: str, label: bool, prompt_id: str, item_id: int) -> dict:
    return {"prompt": conversation, "completion": _assistant(completion), "label": label, "prompt_id": prompt_id,
            "item_id": item_id}


def prompt_row(*, conversation: Messages, prompt_id: str) -> dict:
    return {"prompt": conversation, "prompt_id": prompt_id}


@dataclass(frozen=True)
class RankedPair:
    chosen: int
    rejected: int
    chosen_rank: int  # 1-based place in the consensus ranking (tied responses share the best place of their group)
    rejected_rank: int  # always greater than chosen_rank
    verdict: Verdict


def ranking_pairs(order: Groups, votes: Mapping[tuple[int, int], PairVotes], *,
                  best_vs_rest: bool = False) -> tuple[list[RankedPair], int]:
    """A consensus ranking expanded to its C(K, 2) pairs (InstructGPT), or to best-vs-rest (K - 1).

    The consensus ranking (`order`, best first; groups of tied responses allowed) decides
    both which response of a pair is chosen and the ranks, so `chosen_rank < rejected_rank`
    on every row. Only pairs that survived curation (present in `votes`, keyed by (lower id,
    higher id)) become rows; their votes give the margin toward the chosen side. Two
    responses of one group have no chosen side and are left out. Best-vs-rest pairs the best
    group with every other response. Returns (pairs, tied pairs left out).
    """
    groups = _groups(order)
    place = {}
    for index, group in enumerate(groups):
        for r in group:
            place[r] = (index, 1 + sum(len(g) for g in groups[:index]))
    pairs, ties = [], 0
    flat = [r for group in groups for r in group]
    for i, a in enumerate(flat):
        for b in flat[i + 1:]:
            if best_vs_rest and place[a][0] > 0:
                break
            tally = votes.get((min(a, b), max(a, b)))
            if tally is None:
                continue
            if place[a][0] == place[b][0]:
                ties += 1
                continue
            direction = -1 if a < b else 1  # a is ranked ahead of b
            pairs.append(RankedPair(a, b, place[a][1], place[b][1], tally.toward(direction)))
    return pairs, ties


def raw_row(*, answer: Mapping[str, Any], annotator: str, prompt_id: str, conversation: Messages,
            responses: list[dict], split: str, kept: bool, annotator_is_model: bool = False) -> dict:
    """Every stored field of one answer, the item as shown, whether curation kept it, and whether a model (an AI
    annotator) gave it.

    `ranking` is as stored: ids best first, or groups best first when some were tied.
    """
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
        "annotator_is_model": annotator_is_model,
    }
