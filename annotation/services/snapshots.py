"""Dataset snapshots: frozen, hashed exports of a project's curated answers.

`snapshot_create` records the request (state pending) and wakes a worker.
`snapshot_build` claims it with a compare-and-set, then reads everything it needs inside
one REPEATABLE READ transaction on PostgreSQL, so that the curated view, the items, the
responses and the raw answers agree with each other while annotators keep answering. The
curation is `curation_apply` (the same numbers the preview shows); the items are then
streamed by id in chunks of CHUNK through the pure writers of `annotation.snapshots`, and
the folder is published with one rename. A failed build leaves no files behind.

The answers are read once (`loading.answers_scan`), in item order: their numbers go to curation, their full rows
to a spool file beside the build's folder (`loading.AnswerSpool`, removed at the end, also on failure), which the
stream then reads back a chunk of items at a time, so memory holds the numbers but never every answer's text. A
JSONL-only build spools each answer's raw line already encoded in pieces (`_Export._encoder`) instead of its row.

Nothing about a ready snapshot changes: its row is only ever written by the builder, its
files are read-only, and it never reads the answers again.
"""

import fcntl
import gc
import logging
import pickle
import re
import shutil
import time
import tomllib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache, partial
from itertools import compress
from pathlib import Path
from typing import NamedTuple

import numpy as np
import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from rlhf_site.celery import enqueue as enqueue_task  # `enqueue` is snapshot_create's flag

from .. import artifacts, quality, snapshots
from ..answers import JSON_ANSWER_FIELDS, ranking_groups
from ..columns import Ranged, dense_range, raw_rows
from ..loading import ROW_FIELDS, AnswerSpool, answers_scan, answers_scan_part, answers_scanned, items_read
from ..loading import AnswerRow as _Answer
from ..models import DatasetSnapshot, Item, Project, Response
from ..snapshots import transport
from ..snapshots.rows import PairVotes, Verdict
from ..sql import from_db_json
from .curation import Curated, curation_apply, curation_remaining, curation_rules_parse, model_annotator_ids
from .limits import project_queue_check

logger = logging.getLogger(__name__)

PENDING, BUILDING, READY, FAILED = (DatasetSnapshot.State.PENDING, DatasetSnapshot.State.BUILDING,
                                    DatasetSnapshot.State.READY, DatasetSnapshot.State.FAILED)
CHUNK = 1000
RANKING_PAIRS = ("all", "best_vs_rest")
COUNT_UNITS = {  # what each count of a snapshot counts, by project kind (also in the API's `counts.units`)
    Project.Kind.PAIRWISE: {"items": "items", "answers": "answers", "pairs": "preference rows (one per item)",
                            "skipped_ties": "items whose consensus is a tie",
                            "adjudicated": "items whose side a lead's ruling chose"},
    Project.Kind.RANKING: {"items": "ranked items", "answers": "rankings", "pairs": "preference rows (response pairs)",
                           "pair_votes": "rankings' votes on the response pairs kept",
                           "skipped_ties": "response pairs tied in the consensus ranking",
                           "adjudicated": "ranked items ordered by a lead's ruling"},
    Project.Kind.DEMONSTRATION: {"items": "items", "answers": "demonstrations", "pairs": "none (no preferences)"},
}
MAX_TEST_FRACTION = 0.9
MAX_SEED = 2**63 - 1
Progress = Callable[[int, int], None]  # (items done, items in all)


# --- create ---

def snapshot_options_parse(options) -> dict:
    """Options with their defaults filled in, so the row records exactly what was built."""
    options = {} if options is None else options
    if not isinstance(options, dict):
        raise ValidationError({"options": "must be an object such as {\"parquet\": true}"})
    unknown = sorted(set(options) - {"parquet", "ranking_pairs"})
    if unknown:
        raise ValidationError({f"options.{unknown[0]}": "unknown option; expected parquet or ranking_pairs"})
    parquet = options.get("parquet", False)
    if not isinstance(parquet, bool):
        raise ValidationError({"options.parquet": "must be true or false"})
    pairs = options.get("ranking_pairs", "all")
    if pairs not in RANKING_PAIRS:
        raise ValidationError({"options.ranking_pairs": f"must be one of {list(RANKING_PAIRS)}"})
    return {"parquet": parquet, "ranking_pairs": pairs}


def _check_split(test_fraction, seed) -> None:
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) \
            or not 0 <= test_fraction <= MAX_TEST_FRACTION:
        raise ValidationError({"test_fraction": f"must be a number from 0 to {MAX_TEST_FRACTION}"})
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValidationError({"seed": "must be a whole number from 0 to 2^63 - 1"})


@transaction.atomic
def snapshot_create(*, project: Project, created_by, rules: dict | None = None, test_fraction: float = 0.1,
                    seed: int = 0, options: dict | None = None, enqueue: bool = True) -> DatasetSnapshot:
    """Record a snapshot request (pending) and wake a worker to build it. Without rules: the project's saved ones."""
    rules = project.curation_rules if rules is None else rules
    curation_rules_parse(rules)
    _check_split(test_fraction, seed)
    options = snapshot_options_parse(options)
    project_queue_check(project=project, limit=settings.SNAPSHOT_MAX_ACTIVE_PER_PROJECT, what="snapshot builds",
                        setting="SNAPSHOT_MAX_ACTIVE_PER_PROJECT",
                        active=DatasetSnapshot.objects.filter(project=project, state__in=[PENDING, BUILDING]))
    snapshot = DatasetSnapshot.objects.create(
        project=project, rules=rules, options=options, test_fraction=float(test_fraction), seed=seed,
        created_by=created_by, library_version=library_version(parquet=options["parquet"]),
    )
    if enqueue:
        enqueue_task("annotation.build_snapshot", snapshot.pk)
    return snapshot


@lru_cache(maxsize=1)
def platform_version() -> str:
    with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def library_version(*, parquet: bool) -> str:
    parts = [f"rlhf {platform_version()}", f"numpy {np.__version__}"]
    if parquet:
        import pyarrow

        parts.append(f"pyarrow {pyarrow.__version__}")
    return "; ".join(parts)[:50]


# --- build ---

def snapshot_build(*, snapshot_id: int, progress: Progress | None = None) -> DatasetSnapshot | None:
    """Worker side: build the files of a pending snapshot. Safe to run twice: only one call claims it.

    The builder holds a lock that dies with its process (see `builder_lock`) from before the claim to
    the end, so `snapshots_reconcile` can tell a dead build from a slow one.
    """
    if not DatasetSnapshot.objects.filter(pk=snapshot_id, state=PENDING).exists():
        # A repeated wake-up (see `snapshots_wake_lost`) of a build under way or done: no wait on its lock.
        return DatasetSnapshot.objects.filter(pk=snapshot_id).first()
    with builder_lock(snapshot_id, wait=True):
        if not DatasetSnapshot.objects.filter(pk=snapshot_id, state=PENDING).update(state=BUILDING):
            return DatasetSnapshot.objects.filter(pk=snapshot_id).first()
        return _build_claimed(snapshot_id, progress)


def _build_claimed(snapshot_id: int, progress: Progress | None) -> DatasetSnapshot:
    snapshot = DatasetSnapshot.objects.select_related("project").get(pk=snapshot_id)
    files = None
    try:
        files = snapshots.SnapshotFiles(artifacts.snapshot_folder(snapshot).parent, str(snapshot.pk),
                                        parquet=snapshot.options.get("parquet", False),
                                        ranking=snapshot.project.kind == Project.Kind.RANKING)
        with _consistent_reads() as consistent:
            counts = _Export(snapshot, files, progress or (lambda done, total: None), consistent).run()
        infos = files.publish()
        if not artifacts.is_local():  # workers elsewhere read it from the bucket
            artifacts.upload_folder(artifacts.snapshot_folder(snapshot), artifacts.snapshot_prefix(snapshot.pk))
        _finish(snapshot_id, state=READY, counts=counts, files=[info.to_dict() for info in infos],
                library_version=library_version(parquet=files.parquet))  # the builder's versions, not the web's
    except Exception as exc:
        logger.exception("snapshot %s failed", snapshot_id)
        if files is not None:
            files.discard()
        _finish(snapshot_id, state=FAILED, error=f"{type(exc).__name__}: {exc}")
    snapshot.refresh_from_db()
    return snapshot


LOCK_NAMESPACE = 7301  # first key of PostgreSQL's two-key advisory locks: "snapshot builds"


@contextmanager
def builder_lock(snapshot_id: int, *, wait: bool):
    """A lock released by the operating system or the database when its holder dies.

    PostgreSQL: a session advisory lock (gone when the worker's connection closes). Elsewhere
    (the embedded single-machine setup): flock on a file beside the artifacts. Yields whether it
    was acquired (always True with wait=True).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {'pg_advisory_lock' if wait else 'pg_try_advisory_lock'}(%s, %s)",
                           [LOCK_NAMESPACE, snapshot_id])
            acquired = wait or bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, snapshot_id])
        return
    folder = Path(settings.ARTIFACT_ROOT) / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"snapshot-{snapshot_id}.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            acquired = True
        except BlockingIOError:
            acquired = False
        try:
            yield acquired
        finally:
            if acquired:
                fcntl.flock(handle, fcntl.LOCK_UN)


def snapshots_reconcile() -> list[int]:
    """Fail builds whose builder died (its lock is free while the row still says building). Safe to run twice."""
    failed = []
    for snapshot_id in DatasetSnapshot.objects.filter(state=BUILDING).values_list("pk", flat=True):
        with builder_lock(snapshot_id, wait=False) as free:
            if free and DatasetSnapshot.objects.filter(pk=snapshot_id, state=BUILDING).update(
                    state=FAILED, finished_at=timezone.now(),
                    error="the worker building this snapshot stopped before it finished; create it again"):
                for partial in artifacts.snapshot_folder(DatasetSnapshot(pk=snapshot_id)).parent.glob(f".{snapshot_id}-building-*"):
                    shutil.rmtree(partial, ignore_errors=True)  # the dead builder's half-written files
                failed.append(snapshot_id)
    return failed


def snapshots_wake_lost(*, older_than: timedelta) -> list[int]:
    """Wake a worker again for each snapshot still pending after `older_than`: the broker carries only wake-ups,
    and a Redis restarted without its data has lost them. A duplicate is harmless: one build claims the row."""
    cutoff = timezone.now() - older_than
    pending = list(DatasetSnapshot.objects.filter(state=PENDING, created_at__lt=cutoff).values_list("pk", flat=True))
    for snapshot_id in pending:
        enqueue_task("annotation.build_snapshot", snapshot_id, on_commit=False)
    return pending


def _finish(snapshot_id: int, **fields) -> None:
    DatasetSnapshot.objects.filter(pk=snapshot_id, state=BUILDING).update(finished_at=timezone.now(), **fields)


@contextmanager
def _consistent_reads():
    """One REPEATABLE READ, READ ONLY transaction on PostgreSQL, so every query sees the same answers; yields
    whether it is one (a parallel build's workers join it, `_ParallelBuild`).

    Not on SQLite: there transactions begin IMMEDIATE (they take the write lock), and a
    long build must not stop annotators from answering. Nor inside an outer transaction
    (tests), where the isolation level can no longer be set.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield False
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield True


class _Item(NamedTuple):
    id: int
    prompt_id: int
    external_id: str
    conversation: list
    response_ids: list
    is_gold: bool


# What a raw row carries of each answer (`loading.ROW_FIELDS`): the answer's own fields (one declaration,
# `answers.ANSWER_FIELDS`), what was shown, and who answered when. JSON columns stay as the database returned them
# until a writer needs them.
_JSON_FIELDS = ("shown_order", *sorted(JSON_ANSWER_FIELDS))


def _item_chunks(project: Project) -> Iterator[list[_Item]]:
    """The project's items by id, CHUNK at a time (keyset pagination on item_project_idx)."""
    last = 0
    while chunk := _items_of(raw_rows(Item.objects.filter(project=project, id__gt=last).order_by("id").values_list(
            *_ITEM_FIELDS)[:CHUNK], server_side=False)):
        yield chunk
        last = chunk[-1].id


_ITEM_FIELDS = ("id", "prompt_id", "prompt__external_id", "prompt__conversation", "response_ids", "is_gold")


def _items_of(rows) -> list[_Item]:
    """Items from their rows (`_ITEM_FIELDS`)."""
    return [_Item(item_id, prompt_id, key, from_db_json(conversation), from_db_json(responses), bool(gold))
            for item_id, prompt_id, key, conversation, responses, gold in rows]


_RESPONSES_OF = f"SELECT id, text, model_name FROM {Response._meta.db_table} WHERE id = ANY(%s)"
_RESPONSES_BETWEEN = f"SELECT id, text, model_name FROM {Response._meta.db_table} WHERE id BETWEEN %s AND %s"


def _responses_of(chunk: list[_Item]) -> dict[int, tuple[str, str]]:
    ids = [rid for item in chunk for rid in item.response_ids]
    if not ids:
        return {}
    if connection.vendor == "postgresql":
        low, high = min(ids), max(ids)
        with connection.cursor() as cursor:
            if dense_range(low, high, len(ids)):  # two numbers; a response no item here shows is never looked up
                cursor.execute(_RESPONSES_BETWEEN, [low, high])
            else:  # one array parameter: binding 2,000 ids one by one cost more than the query
                cursor.execute(_RESPONSES_OF, [ids])
            found = cursor.fetchall()
    else:
        found = raw_rows(Response.objects.filter(id__in=ids).order_by().values_list("id", "text", "model_name"),
                         server_side=False)
    return {rid: (text, model) for rid, text, model in found}


def _answer_dict(answer: _Answer) -> dict:
    """The answer as the row functions take it: JSON decoded, the time an aware datetime."""
    row = answer._asdict()
    row.update({name: from_db_json(row[name]) for name in _JSON_FIELDS}, both_bad=bool(answer.both_bad),
               created_at=datetime.fromisoformat(answer.created_at))
    return row


# --- the curated view, per kind ---

def _sorted_ids(ids: np.ndarray) -> np.ndarray:
    return quality.answers.distinct(ids) if ids.size else np.zeros(0, np.int64)


def _contains(sorted_ids: np.ndarray, values: list[int]) -> list[bool]:
    """Whether each value is in `sorted_ids`, all at once."""
    if not values or not sorted_ids.size:
        return [False] * len(values)
    at = np.minimum(np.searchsorted(sorted_ids, values), sorted_ids.size - 1)
    return (sorted_ids[at] == np.asarray(values)).tolist()


@dataclass
class _PairwisePlan:
    """Pairwise: curation's items, their consensus, and which answers survived."""

    curated: Curated | None

    def __post_init__(self):
        r = self.curated.result if self.curated else None
        self.items = r.items if r else np.zeros(0, np.int64)
        self.alive = _sorted_ids(r.answer_ids) if r else np.zeros(0, np.int64)
        self.margin = r.margin if r else np.zeros(0)

    def verdicts(self, item_ids: list[int]) -> dict[int, Verdict]:
        """The verdict of each of these items that curation kept, looked up all at once (a chunk's items)."""
        if not self.items.size or not item_ids:
            return {}
        ids = np.asarray(item_ids)
        at = np.minimum(np.searchsorted(self.items, ids), self.items.size - 1)
        found = np.flatnonzero(self.items[at] == ids)
        r, rows, curated = self.curated.result, at[found], self.curated
        agreement, answers = curated.agreement_of(ids[found])
        out = {}
        for item_id, consensus, margin, ruled, agreed, n in zip(
                ids[found].tolist(), r.consensus[rows].tolist(), self.margin[rows].tolist(),
                r.adjudicated[rows].tolist(), agreement, answers, strict=True):
            ruling = curated.rulings.get(item_id) if ruled else None
            out[item_id] = Verdict(int(consensus), float(margin), agreed, n, ruling.note if ruling else None)
        return out

    def kept(self, answer_ids: list[int]) -> list[bool]:
        return _contains(self.alive, answer_ids)


@dataclass
class _RankingPlan:
    """Rankings: each item's consensus ranking (groups of equal Bradley-Terry strength), the curated
    votes on each of its surviving pairs, and which rankings kept at least one pair vote."""

    groups: dict[int, list[list[int]]] = field(default_factory=dict)
    votes: dict[int, dict[tuple[int, int], PairVotes]] = field(default_factory=dict)
    rankings: dict[int, int] = field(default_factory=dict)  # item -> rankings kept
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # kept ranking ids, sorted

    def kept(self, answer_ids: list[int]) -> list[bool]:
        return _contains(self.alive, answer_ids)


def _ranking_plan(curated: Curated | None) -> _RankingPlan:
    if curated is None:
        return _RankingPlan()
    units, r = curated.units, curated.result
    alive_votes = curated.answers.subset(r.answer_mask)
    kept = np.unique(np.stack([alive_votes.cluster, alive_votes.answer_id]), axis=1) if len(alive_votes) else \
        np.zeros((2, 0), np.int64)
    items, per_item = np.unique(kept[0], return_counts=True)
    plan = _RankingPlan(groups=quality.consensus_groups(curated.consensus_fit),
                        rankings=dict(zip(items.tolist(), per_item.tolist(), strict=True)),
                        alive=_sorted_ids(kept[1]))
    agreement, answers = curated.agreement_of(r.items)
    for unit, lower, higher, ruled, agreed, n in zip(r.items.tolist(), r.support_first.tolist(),
                                                     r.support_second.tolist(), r.adjudicated.tolist(), agreement,
                                                     answers, strict=True):
        item, pair = int(units.unit_item[unit]), (int(units.unit_first[unit]), int(units.unit_second[unit]))
        ruling = curated.rulings.get(item) if ruled else None
        if ruling is not None:  # the lead's ranking orders the item, not Bradley-Terry
            plan.groups[item] = ranking_groups(ruling.value)
        plan.votes.setdefault(item, {})[pair] = PairVotes(lower, higher, agreed, n, ruling.note if ruling else None)
    return plan


def _curation_summary(curated: Curated | None) -> dict | None:
    """The preview's own figures for these rules (`POST .../curation/preview/` shows the same)."""
    if curated is None:
        return None
    r = curated.result
    return {"initial": r.initial, "steps": r.preview, "remaining": curation_remaining(curated)}


class _Encoded(NamedTuple):
    item_id: int
    prompt: bytes  # the conversation's JSON
    prompt_id: bytes


class _Export:
    """One pass over the items: every row of every file, and the counts."""

    def __init__(self, snapshot: DatasetSnapshot, files: "snapshots.SnapshotFiles", progress: Progress,
                 consistent: bool = False):
        self.snapshot, self.project, self.files, self.progress = snapshot, snapshot.project, files, progress
        self.consistent = consistent  # read in one REPEATABLE READ transaction (`_consistent_reads`)
        self.secret = settings.SECRET_KEY.encode()
        self.names: dict[int, str] = {}
        self.model_users = model_annotator_ids()  # raw rows say which answers a model gave
        bounds = Item.objects.filter(project=self.project).aggregate(low=Min("prompt_id"), high=Max("prompt_id"),
                                                                     n=Count("id"))
        self.n_items = bounds["n"]
        self.prompt_low = bounds["low"] or 0
        # One bit per prompt id of the project's range: "written yet?" without a set that grows with the project.
        self.seen_prompts = bytearray(((bounds["high"] or 0) - self.prompt_low) // 8 + 1)
        units = ("items", "answers", "pairs", "pair_votes") if self.project.kind == Project.Kind.RANKING else \
            ("items", "answers", "pairs")
        self.splits = {split: Counter(prompts=0, **dict.fromkeys(units, 0)) for split in snapshots.split.SPLITS}
        self.totals = Counter(**dict.fromkeys(units, 0), skipped_ties=0, raw_answers=0, adjudicated=0)
        # JSONL alone: rows go straight to their lines (`snapshots.lines`); with Parquet, through the row dicts both
        # formats take (which write the same JSONL bytes).
        self.lines = not files.parquet
        self.encoded: _Encoded | None = None
        self.annotator_json: dict[int, bytes] = {}
        self.who_json: dict[int, bytes] = {}  # by user id: `lines.who_json` (the encoder's)
        self.kept_ids: set[int] = set()
        self.encoded_rows = False  # whether the spool holds raw-line pieces (`_encoder`), not rows
        self.chunk_verdicts: dict[int, Verdict] = {}  # pairwise: the chunk's items' verdicts
        self.writers: dict[tuple[str, str], Callable[[bytes], object]] = {}  # JSONL files' writes, by (format, split)
        self.split_json = {split: snapshots.lines.json_bytes(split) for split in snapshots.split.SPLITS}
        self.numbers = snapshots.lines.Numbers()
        # In a parallel build's worker, each prompt line's prompt id by split: what the writer needs to write each
        # prompt once (`_ParallelBuild`).
        self.prompt_ids: dict[str, list[int]] | None = None

    def run(self) -> dict:
        folder = artifacts.snapshot_folder(self.snapshot).parent
        processes = self._processes()
        if processes > 1:
            return _ParallelBuild(self, folder, processes).run()
        # Named like the build's folder, so that `snapshots_reconcile` removes it too when the builder died.
        with AnswerSpool(folder, prefix=f".{self.snapshot.pk}-building-answers-") as spool:
            return self._run(spool)

    def _processes(self) -> int:
        """How many processes build this snapshot: several (`_ParallelBuild`) for a big pairwise JSONL snapshot read
        in one REPEATABLE READ transaction on PostgreSQL, which the workers join; otherwise this one."""
        if not (self.consistent and self.lines and self.project.kind == Project.Kind.PAIRWISE
                and self.n_items >= settings.SNAPSHOT_PARALLEL_MIN_ITEMS):
            return 1
        return min(settings.SNAPSHOT_BUILD_PROCESSES, -(-self.n_items // CHUNK))

    def _run(self, spool: AnswerSpool) -> dict:
        # JSONL alone, with preferences: each answer's raw-line pieces are encoded as it is read, and spooled instead
        # of its row (`_raw_lines` fills in kept); otherwise the rows are spooled as they are.
        self.encoded_rows = self.lines and self.project.kind != Project.Kind.DEMONSTRATION
        curated = self._curate(answers_scan(self.project, spool, self._encoder() if self.encoded_rows else None))
        done = 0
        for chunk in _item_chunks(self.project):
            self._chunk(chunk, spool)
            self.files.flush()  # the chunk's lines to the writer thread
            done += len(chunk)
            self.progress(done, self.n_items)
        return self._counts(curated)

    def _curate(self, loaded) -> Curated | None:
        """Curation of the scanned answers, and the plan the chunks are written by."""
        kind = self.project.kind
        curated = None if kind == Project.Kind.DEMONSTRATION else curation_apply(
            project=self.project, rules=self.snapshot.rules, loaded=loaded)
        self.plan = _ranking_plan(curated) if kind == Project.Kind.RANKING else _PairwisePlan(curated)
        return curated

    def _counts(self, curated: Curated | None) -> dict:
        return {**self.totals, "prompts": sum(s["prompts"] for s in self.splits.values()),
                "splits": {name: dict(c) for name, c in self.splits.items()}, "curation": _curation_summary(curated),
                "units": COUNT_UNITS[self.project.kind]}

    def _chunk(self, chunk: list[_Item], spool: AnswerSpool) -> None:
        """Every row of a chunk of items, their answers taken from `spool`."""
        kind = self.project.kind
        texts = _responses_of(chunk)
        answers = spool.take(chunk[-1].id, None if self.encoded_rows else self._answer_of)
        if kind != Project.Kind.DEMONSTRATION:  # which answers curation kept: the chunk's at once
            ids = [a[0] for group in answers.values() for a in group]  # an answer's id comes first in both
            self.kept_ids = set(compress(ids, self.plan.kept(ids)))
        if kind == Project.Kind.PAIRWISE:
            self.chunk_verdicts = self.plan.verdicts([item.id for item in chunk])
        if kind == Project.Kind.PAIRWISE and self.lines and self.encoded_rows:
            self._pairwise_lines(chunk, texts, answers)
            return
        emit = {Project.Kind.PAIRWISE: self._pairwise, Project.Kind.RANKING: self._ranking,
                Project.Kind.DEMONSTRATION: self._demonstration}[kind]
        seed, fraction, split_of = self.snapshot.seed, self.snapshot.test_fraction, snapshots.split_of
        for item in chunk:
            emit(item, split_of(seed=seed, prompt_key=item.external_id, test_fraction=fraction), texts,
                 answers.get(item.id, []))

    @staticmethod
    def _answer_of(v: tuple) -> _Answer:
        return _Answer(v[0], v[1], v[2], snapshots.lines.iso_utc(v[3]), *v[4:len(ROW_FIELDS)])

    def _included(self, item: _Item, split: str, answers: int, pairs: int, **more: int) -> None:
        """Count an item that made it into the snapshot, and write its prompt once."""
        counts, totals = self.splits[split], self.totals  # not Counter.update: per item, it cost more than the rows
        counts["items"] += 1
        totals["items"] += 1
        counts["answers"] += answers
        totals["answers"] += answers
        counts["pairs"] += pairs
        totals["pairs"] += pairs
        for key, n in more.items():
            counts[key] += n
            totals[key] += n
        if self._first_of_prompt(item.prompt_id):
            counts["prompts"] += 1
            if self.lines:
                if self.prompt_ids is not None:
                    self.prompt_ids[split].append(item.prompt_id)
                encoded = self._encoded(item)
                self._line("prompts", split, snapshots.lines.prompt_line(prompt=encoded.prompt,
                                                                                    prompt_id=encoded.prompt_id))
            else:
                self.files.write("prompts", split, snapshots.prompt_row(conversation=item.conversation,
                                                                        prompt_id=item.external_id))

    def _first_of_prompt(self, prompt_id: int) -> bool:
        """Whether no row of this prompt was written yet; from now on, one was."""
        byte, bit = divmod(prompt_id - self.prompt_low, 8)
        if self.seen_prompts[byte] & (1 << bit):
            return False
        self.seen_prompts[byte] |= 1 << bit
        return True

    def _encoded(self, item: _Item) -> "_Encoded":
        """The JSON of what all the rows of one item share, encoded once (the item being written)."""
        if self.encoded is None or self.encoded.item_id != item.id:
            lines = snapshots.lines
            self.encoded = _Encoded(item.id, lines.json_bytes(item.conversation), lines.json_bytes(item.external_id))
        return self.encoded

    def _writer(self, fmt: str, split: str):
        write = self.writers.get((fmt, split))
        if write is None:
            write = self.writers[(fmt, split)] = self.files.line_writer(fmt, split)
        return write

    def _line(self, fmt: str, split: str, line: bytes) -> None:
        self._writer(fmt, split)(line)

    def _annotator(self, user_id: int) -> str:
        name = self.names.get(user_id)
        if name is None:
            name = self.names[user_id] = snapshots.pseudonym(secret=self.secret, seed=self.snapshot.seed,
                                                             user_id=user_id)
        return name

    def _raw(self, item: _Item, split: str, texts, answers: list[_Answer], kept: list[bool]) -> None:
        responses = [{"id": rid, "text": texts[rid][0], "model": texts[rid][1]} for rid in item.response_ids]
        if self.lines:
            self._raw_lines(item, split, responses, answers, kept)
        for answer, keep in zip(answers, kept, strict=True) if not self.lines else ():
            self.files.write("raw", "all", snapshots.raw_row(
                answer={**_answer_dict(answer), "is_gold": item.is_gold}, annotator=self._annotator(answer.annotator_id),
                prompt_id=item.external_id, conversation=item.conversation, responses=responses, split=split,
                kept=keep, annotator_is_model=answer.annotator_id in self.model_users))
        self.totals["raw_answers"] += len(answers)

    def _raw_lines(self, item: _Item, split: str, responses: list[dict], answers: list[_Answer],
                   kept: list[bool]) -> None:
        """`_raw` as bytes: the same rows, the item's part of the line encoded once (`snapshots.lines`)."""
        lines, encoded, write = snapshots.lines, self._encoded(item), self._writer("raw", "all")
        template = lines.raw_template(is_gold=item.is_gold, item_id=item.id, prompt=encoded.prompt,
                                      prompt_id=encoded.prompt_id, responses=lines.json_bytes(responses),
                                      split=self.split_json[split])
        if self.encoded_rows:  # (id, item id, the raw line's pieces): `_encoder`
            fill = lines.raw_fill
            for a, keep in zip(answers, kept, strict=True):
                write(fill(template, keep, a[2], a[3], a[4], a[5], a[6]))
            return
        stored = lines.stored_json
        for a, keep in zip(answers, kept, strict=True):
            annotator = self.annotator_json.get(a.annotator_id)
            if annotator is None:
                annotator = self.annotator_json[a.annotator_id] = lines.json_bytes(self._annotator(a.annotator_id))
            write(lines.raw_line(
                template, annotator, a.annotator_id in self.model_users, a.id, bool(a.both_bad), a.confidence,
                a.created_at, stored(a.criteria, b"{}"), stored(a.flags, b"[]"), keep, a.preference,
                stored(a.ranking, b"null"), a.rationale, stored(a.shown_order, b"[]"), a.text, a.time_spent_ms))

    def _encoder(self) -> Callable[[tuple], tuple]:
        """An answer's row (`loading.ROW_FIELDS`, then the scan's own columns) as (its id, its item's id, the five
        pieces of its raw line that `snapshots.lines.raw_answer` makes of it): what `_raw_lines` writes around kept.
        `raw_answer` inlined, with the common values (no flags, criteria, ranking, rationale or text; a shown order
        of ids) spelled without a call: per answer, calls were most of the scan's own time."""
        lines, dumps = snapshots.lines, orjson.dumps
        stored, head, bools, names, models = lines.stored_json, lines.HEAD, lines.BOOL, self.who_json, self.model_users
        (both_bad, confidence, criteria, flags, preference, ranking, rationale, text, spent) = (
            ROW_FIELDS.index(name) for name in ("both_bad", "confidence", "criteria", "flags", "preference",
                                                "ranking", "rationale", "text", "time_spent_ms"))

        def encode(v: tuple) -> tuple:
            who = names.get(v[2])
            if who is None:
                who = names[v[2]] = lines.who_json(lines.json_bytes(self._annotator(v[2])), v[2] in models)
            at, c, f, r, shown = v[3], v[criteria], v[flags], v[ranking], v[4]
            confident, preferred, why, said, ms = v[confidence], v[preference], v[rationale], v[text], v[spent]
            return (v[0], v[1],
                    head % (who, v[0], bools[bool(v[both_bad])], b"null" if confident is None else b"%d" % confident,
                            lines.iso_utc(at).encode(), b"{}" if c == "{}" else stored(c, b"{}"),
                            b"[]" if f == "[]" else stored(f, b"[]")),
                    b"null" if preferred is None else b"%d" % preferred,
                    (b"null" if r is None else stored(r, b"null")) + b',"rationale":' + (dumps(why) if why else b"null"),
                    stored(shown, b"[]"),
                    (dumps(said) if said else b"null") + b',"time_spent_ms":' + (b"null" if ms is None else b"%d" % ms))
        return encode

    def _pairwise(self, item: _Item, split: str, texts, answers: list[_Answer]) -> None:
        """One item's rows through the row dicts (a build with Parquet); JSONL alone goes by `_pairwise_lines`."""
        verdict = self.chunk_verdicts.get(item.id)
        self._raw(item, split, texts, answers, [a[0] in self.kept_ids for a in answers])
        if verdict is None:
            return
        pairs = 0
        self.totals["adjudicated"] += verdict.adjudication_note is not None
        if verdict.direction == 0:
            self.totals["skipped_ties"] += 1  # a tie has no chosen side; it stays in raw
        else:
            first, second = (texts[rid][0] for rid in item.response_ids[:2])
            chosen, rejected = (first, second) if verdict.direction < 0 else (second, first)
            ids = {"prompt_id": item.external_id, "item_id": item.id}
            self.files.write("preference", split, snapshots.preference_row(
                conversation=item.conversation, chosen=chosen, rejected=rejected, verdict=verdict, **ids))
            for row in snapshots.kto_rows_from_pair(conversation=item.conversation, chosen=chosen, rejected=rejected,
                                                    **ids):
                self.files.write("kto", split, row)
            pairs = 1
        self._included(item, split, verdict.n_annotators, pairs)

    def _pairwise_lines(self, chunk: list[_Item], texts: dict[int, tuple[str, str]],
                        answers: dict[int, list[tuple]]) -> None:
        """`_pairwise`'s lines for a whole chunk, JSONL alone, from answers spooled as raw-line pieces (`_encoder`),
        in one loop that fills `snapshots.lines`' templates inline: per item, the calls were most of a build's
        streaming. The same bytes as the row dicts (`tests/test_snapshots.py`, a JSONL-only build against one with
        Parquet, and a parallel build against one process)."""
        lines, dumps, sort = snapshots.lines, orjson.dumps, orjson.OPT_SORT_KEYS
        template_of, fill, json_bytes, number, bools = (lines.raw_template, lines.raw_fill, lines.json_bytes,
                                                        self.numbers, lines.BOOL)
        assistant, preference_line, kto_line = lines.ASSISTANT, lines.PREFERENCE, lines.KTO
        seed, fraction, split_of = self.snapshot.seed, self.snapshot.test_fraction, snapshots.split_of
        kept_ids, verdicts, totals = self.kept_ids, self.chunk_verdicts, self.totals
        raw = self._writer("raw", "all")
        out = {split: (self._writer("preference", split), self._writer("kto", split), self.split_json[split])
               for split in snapshots.split.SPLITS}
        raw_answers = 0
        for item in chunk:
            split = split_of(seed=seed, prompt_key=item.external_id, test_fraction=fraction)
            preference_w, kto_w, split_json = out[split]
            prompt, prompt_id = dumps(item.conversation, option=sort), dumps(item.external_id)
            self.encoded = _Encoded(item.id, prompt, prompt_id)  # what `_included` writes the prompt's line from
            shown = [{"id": rid, "text": texts[rid][0], "model": texts[rid][1]} for rid in item.response_ids]
            template = template_of(is_gold=item.is_gold, item_id=item.id, prompt=prompt, prompt_id=prompt_id,
                                   responses=json_bytes(shown), split=split_json)
            mine = answers.get(item.id, ())
            for a in mine:
                raw(fill(template, a[0] in kept_ids, a[2], a[3], a[4], a[5], a[6]))
            raw_answers += len(mine)
            verdict = verdicts.get(item.id)
            if verdict is None:
                continue
            note = verdict.adjudication_note
            totals["adjudicated"] += note is not None
            pairs = 0
            if verdict.direction == 0:
                totals["skipped_ties"] += 1  # a tie has no chosen side; it stays in raw
            else:
                first, second = (assistant % dumps(response["text"]) for response in shown[:2])
                chosen, rejected = (first, second) if verdict.direction < 0 else (second, first)
                preference_w(preference_line % (
                    bools[note is not None], b"null" if note is None else dumps(note), number[verdict.agreement],
                    chosen, item.id, number[verdict.margin], verdict.n_annotators, prompt, prompt_id, rejected))
                kto_w(kto_line % (chosen, item.id, b"true", prompt, prompt_id))
                kto_w(kto_line % (rejected, item.id, b"false", prompt, prompt_id))
                pairs = 1
            self._included(item, split, verdict.n_annotators, pairs)
        totals["raw_answers"] += raw_answers

    def _ranking(self, item: _Item, split: str, texts, answers: list[dict]) -> None:
        votes = self.plan.votes.get(item.id)
        self._raw(item, split, texts, answers, [a[0] in self.kept_ids for a in answers])
        if votes is None:
            return
        groups = self.plan.groups[item.id]
        self.totals["adjudicated"] += any(v.adjudication_note is not None for v in votes.values())
        pairs, ties = snapshots.ranking_pairs(groups, votes,
                                              best_vs_rest=self.snapshot.options.get("ranking_pairs") == "best_vs_rest")
        self.totals["skipped_ties"] += ties
        ids = {"prompt_id": item.external_id, "item_id": item.id}
        size = sum(len(g) for g in groups)
        for pair in pairs:
            marker = {"ranking_id": item.id, "chosen_rank": pair.chosen_rank, "rejected_rank": pair.rejected_rank,
                      "ranking_size": size}
            self.files.write("preference", split, snapshots.preference_row(
                conversation=item.conversation, chosen=texts[pair.chosen][0], rejected=texts[pair.rejected][0],
                verdict=pair.verdict, ranking=marker, **ids))
        group_of = {r: g for g, group in enumerate(groups) for r in group}
        decided = {r for a, b in votes if group_of[a] != group_of[b] for r in (a, b)}
        order = [kept for group in groups if (kept := [r for r in group if r in decided])]
        for row in snapshots.kto_rows_from_ranking(conversation=item.conversation, order=order,
                                                   texts={r: texts[r][0] for r in decided}, **ids):
            self.files.write("kto", split, row)
        self._included(item, split, self.plan.rankings.get(item.id, 0), len(pairs),
                       pair_votes=sum(v.n_annotators for v in votes.values()))

    def _demonstration(self, item: _Item, split: str, texts, answers: list[_Answer]) -> None:
        # Of the curation rules only exclude_flagged means anything for demonstrations.
        drop_flagged = bool(self.snapshot.rules.get("exclude_flagged"))
        keep = [not (drop_flagged and from_db_json(answer.flags)) for answer in answers]
        self._raw(item, split, texts, answers, keep)
        kept = [answer for answer, k in zip(answers, keep, strict=True) if k]
        for answer in kept:
            self.files.write("sft", split, snapshots.sft_row(conversation=item.conversation, reply=answer.text,
                                                             prompt_id=item.external_id, item_id=item.id,
                                                             answer_id=answer.id))
        if kept:
            self._included(item, split, len(kept), 0)


# --- a build split over processes ---

_SNAPSHOT_NAME = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")  # what pg_export_snapshot() returns


class _ParallelBuild:
    """A pairwise JSONL snapshot built by `processes` forked workers (`snapshots.transport`), each reading in the
    build's own REPEATABLE READ snapshot (exported, `SET TRANSACTION SNAPSHOT`), so that all see the same answers.

    The items go in chunks of CHUNK by id, chunk j to worker j mod n. First each worker reads its chunks' answers
    (`loading.answers_scan_part`, a query per chunk) to a spool of its own and hands back their numbers; this
    process puts them together and curates (the very arrays a one-process build curates: `answers_scanned`).
    Then workers forked anew, which inherit the curation's plan, write their chunks' lines, and this process takes
    the chunks in order and writes the files (hashed on the writer thread), so the bytes are the one-process build's
    without joining parts. A prompt's line comes from the first chunk that includes one of its items: each worker
    sends its chunks' prompt lines with their prompt ids, and the writer keeps those of prompts it has not written.
    A worker that fails fails the build with its traceback; whatever still runs is killed."""

    def __init__(self, export: _Export, folder: Path, processes: int):
        self.export, self.folder, self.n = export, folder, processes
        self.pids: list[int] = []

    def run(self) -> dict:
        e = self.export
        e.encoded_rows = True
        ids = list(Item.objects.filter(project=e.project).order_by("id").values_list("id", flat=True))
        self.chunks = [(ids[at], ids[min(at + CHUNK, len(ids)) - 1]) for at in range(0, len(ids), CHUNK)]
        del ids
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_export_snapshot()")
            self.snapshot_name = cursor.fetchone()[0]
        spools = [AnswerSpool(self.folder, prefix=f".{e.snapshot.pk}-building-answers-") for _ in range(self.n)]
        try:
            started = time.perf_counter()
            loaded = self._scan(spools)
            scanned = time.perf_counter()
            curated = e._curate(loaded)
            del loaded  # curation keeps what it needs
            curated_at = time.perf_counter()
            self._stream(spools)
            logger.info("snapshot %s: %d workers read the answers in %.1f s, curation took %.1f s, the workers wrote "
                        "%d chunks of items in %.1f s", e.snapshot.pk, self.n, scanned - started,
                        curated_at - scanned, len(self.chunks), time.perf_counter() - curated_at)
            return e._counts(curated)
        finally:
            transport.kill(self.pids)
            for spool in spools:
                spool.close()

    def _worker_connection(self) -> None:
        """In a worker: a database connection of its own, in one transaction that sees the build's snapshot. Never
        committed: the worker ends with `os._exit`. The parent's connection, inherited, is never used here, and
        dropping it sends the server nothing: psycopg ends a connection only in the process that opened it."""
        if not _SNAPSHOT_NAME.fullmatch(self.snapshot_name):
            raise ValueError(f"{self.snapshot_name!r}: not a snapshot name")
        connections[DEFAULT_DB_ALIAS] = connections[DEFAULT_DB_ALIAS].copy()
        transaction.atomic().__enter__()
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute(f"SET TRANSACTION SNAPSHOT '{self.snapshot_name}'")

    def _scan(self, spools: list[AnswerSpool]):
        e, n = self.export, self.n
        results = [spool.folder / "scan.pickle" for spool in spools]
        errors = [spool.folder / "error.txt" for spool in spools]

        def scan(k: int) -> None:
            self._worker_connection()
            part = answers_scan_part(e.project, spools[k], e._encoder(), self.chunks[k::n])
            spools[k].file.flush()
            partial_result = results[k].with_suffix(".partial")
            with open(partial_result, "wb") as out:
                pickle.dump(part, out, protocol=pickle.HIGHEST_PROTOCOL)
            partial_result.rename(results[k])  # whole or not there: a worker killed meanwhile leaves none

        gc.freeze()  # what this process holds stays out of the workers' collections (which would copy its pages)
        self.pids = [transport.fork(partial(scan, k), errors[k].write_text) for k in range(n)]
        gc.unfreeze()
        items = items_read(e.project)  # meanwhile: what curation needs of the items, which no worker reads
        for k, pid in enumerate(self.pids):
            code = transport.wait(pid)
            if errors[k].exists() or not results[k].exists():
                self.pids = self.pids[k + 1:]
                said = errors[k].read_text() if errors[k].exists() else f"it stopped with status {code}"
                raise transport.WorkerFailed(f"a snapshot worker failed reading the answers:\n{said}")
        self.pids = []
        parts = []
        for path in results:
            with open(path, "rb") as handle:
                parts.append(pickle.load(handle))  # noqa: S301 - written just now by this build's own worker
            path.unlink()
        return answers_scanned(e.project, parts, items)

    def _stream(self, spools: list[AnswerSpool]) -> None:
        e, n, files = self.export, self.n, self.export.files
        rings = [transport.Ring() for _ in range(n)]

        def stream(k: int) -> None:
            for j, ring in enumerate(rings):
                ring.worker_side() if j == k else ring.close_all()
            self._worker_connection()
            spool, lines = spools[k], _ChunkLines()
            spool.file.seek(0)
            e.files, e.writers = lines, {}
            items = Ranged(lambda low, high: Item.objects.filter(project=e.project, id__gte=low, id__lte=high)
                           .order_by("id").values_list(*_ITEM_FIELDS))
            for chunk_number in range(k, len(self.chunks), n):
                chunk = _items_of(items.rows(*self.chunks[chunk_number]))
                e.prompt_ids = {split: [] for split in snapshots.split.SPLITS}
                e._chunk(chunk, spool)
                # Each prompt line's prompt id and length go with the chunk, its bytes with the other lines.
                prompts = {split: (ids, lines.lengths(("prompts", split))) for split, ids in e.prompt_ids.items()}
                rings[k].send(lines.blocks(), [len(chunk), prompts])
            rings[k].finish([dict(e.totals), {split: dict(c) for split, c in e.splits.items()}])

        gc.freeze()
        self.pids = [transport.fork(partial(stream, k), rings[k].fail) for k in range(n)]
        gc.unfreeze()
        for ring in rings:
            ring.writer_side()
        done, prompt_bytes = 0, {}
        for chunk_number in range(len(self.chunks)):
            ring = rings[chunk_number % n]
            while True:
                kind, slot, segments, extra = ring.receive()
                for (fmt, split), offset, length, rows in segments:
                    if fmt == "prompts":  # copied now, written once the chunk's are all here (`_prompts`)
                        prompt_bytes.setdefault(split, []).append(bytes(ring.view(slot, offset, length)))
                    else:
                        files.write_block(fmt, split, ring.view(slot, offset, length), rows)
                if slot is not None:
                    files.then(ring.release, slot)  # once its bytes are written
                if kind == "chunk":
                    break
            items, prompts = extra
            self._prompts(prompts, prompt_bytes)
            prompt_bytes.clear()
            files.flush()
            done += items
            e.progress(done, e.n_items)
        for ring in rings:
            kind, _, _, result = ring.receive()
            if kind != "done":
                raise transport.WorkerFailed(f"a snapshot worker sent {kind!r} after its last chunk")
            totals, splits = result
            e.totals.update(totals)
            for split, counts in splits.items():
                e.splits[split].update({key: n for key, n in counts.items() if key != "prompts"})
        files.finish_writes()  # no view of the rings' memory is left to write
        for pid in self.pids:  # each sent its last message: its status says nothing more
            transport.wait(pid)
        self.pids = []

    def _prompts(self, prompts: dict[str, tuple[list[int], list[int]]], data: dict[str, list[bytes]]) -> None:
        """A chunk's prompt lines (by split: each line's prompt id and length, and the lines' bytes), less those of
        prompts an earlier chunk wrote, counted."""
        e = self.export
        for split, (ids, lengths) in prompts.items():
            if not ids:
                continue
            block, at = b"".join(data[split]), 0
            write, written = e._writer("prompts", split), 0
            for prompt_id, length in zip(ids, lengths, strict=True):
                if e._first_of_prompt(prompt_id):
                    write(block[at:at + length])
                    written += 1
                at += length
            if at != len(block):
                raise transport.WorkerFailed(f"a snapshot worker sent {len(block)} bytes of prompt lines for {at}")
            e.splits[split]["prompts"] += written


class _ChunkLines:
    """A worker's stand-in for `SnapshotFiles`: one chunk's lines by (format, split), to send to the writer."""

    parquet = False

    def __init__(self):
        self.lines: dict[tuple[str, str], list[bytes]] = {}

    def line_writer(self, fmt: str, split: str) -> Callable[[bytes], object]:
        return self.lines.setdefault((fmt, split), []).append

    def flush(self) -> None:
        pass

    def lengths(self, key: tuple[str, str]) -> list[int]:
        """The length of each line of one file so far."""
        return [len(line) for line in self.lines.get(key, ())]

    def blocks(self) -> list[tuple[tuple[str, str], bytes, int]]:
        """The lines of every file so far, each file's joined, taken out."""
        out = [(key, b"".join(lines), len(lines)) for key, lines in sorted(self.lines.items()) if lines]
        for lines in self.lines.values():
            lines.clear()  # not new lists: the writers cached are their appends
        return out
