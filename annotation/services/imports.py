"""Writing validated import lines. All or nothing: any failure rolls the whole import back.

A file is checked and written in one pass, in batches of a few thousand lines, inside one transaction:
memory holds a batch and the external ids seen, not the file. Once a line has a problem nothing more is
written (the transaction will be rolled back), but every line is still checked, so that every problem of
the file is reported at once. A dry run (the preview) does the same without writing.

On PostgreSQL the rows go in through COPY with ids drawn from the tables' sequences up front
(bulk_create's per-row RETURNING made 100k pairwise lines take ~20 s; COPY takes a few);
elsewhere through bulk_create.
"""

from collections.abc import Callable, Iterable
from functools import partial

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ..importing import Errors, ImportError_, ImportLine, Limits, LineChecker
from ..models import Item, Project, Prompt, Response

BATCH = 2000  # lines held at once: about 2.5 MB of text for typical lines; COPY is as fast per line from here up
ANALYZE_AFTER = 1000  # items; below that autovacuum's own ANALYZE keeps the statistics close enough
GROWTH = 0.1  # the share of a table an import adds before its text-heavy tables are analyzed too (see _analyze)
PREVIEW_ROWS = 10
PREVIEW_CHARS = 1000


def import_limits() -> Limits:
    return Limits(turn_chars=settings.IMPORT_MAX_TURN_CHARS, response_chars=settings.IMPORT_MAX_RESPONSE_CHARS,
                  metadata_bytes=settings.IMPORT_MAX_METADATA_BYTES, id_chars=settings.IMPORT_MAX_ID_CHARS,
                  line_bytes=settings.IMPORT_MAX_LINE_BYTES)


def _existing_ids(project: Project, external_ids: list[str]) -> set[str]:
    if not Prompt.objects.filter(project=project).exists():
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT external_id FROM {Prompt._meta.db_table} WHERE project_id = %s AND external_id = ANY(%s)",
                [project.id, external_ids],
            )
            return {row[0] for row in cursor.fetchall()}
    found: set[str] = set()
    for start in range(0, len(external_ids), BATCH):
        chunk = external_ids[start : start + BATCH]
        found.update(Prompt.objects.filter(project=project, external_id__in=chunk).values_list("external_id", flat=True))
    return found


def _write_batch_orm(project: Project, lines: list[ImportLine]) -> None:
    prompts = Prompt.objects.bulk_create(
        [Prompt(project=project, external_id=ln.external_id, conversation=ln.conversation, metadata=ln.metadata) for ln in lines]
    )
    responses = Response.objects.bulk_create(
        [Response(prompt=prompt, text=r["text"], model_name=r["model"]) for prompt, ln in zip(prompts, lines, strict=True) for r in ln.responses]
    )
    k = project.responses_per_item
    Item.objects.bulk_create(
        [
            Item(project=project, prompt=prompt, response_ids=[r.pk for r in responses[i * k : (i + 1) * k]],
                 open_slots=project.annotations_per_item)
            for i, prompt in enumerate(prompts)
        ]
    )


def _next_ids(cursor, model, n: int) -> list[int]:
    # The sequence is looked up once (a sub-select), not per row: per row it cost more than the nextval itself.
    cursor.execute(
        "SELECT nextval((SELECT pg_get_serial_sequence(%s, 'id'))::regclass) FROM generate_series(1, %s)",
        [model._meta.db_table, n],
    )
    return [row[0] for row in cursor.fetchall()]


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _copy(cursor, model, columns: list[str], rows) -> None:
    sql = f'COPY {model._meta.db_table} ({", ".join(columns)}) FROM STDIN'
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _write_batch_copy(project: Project, lines: list[ImportLine]) -> None:
    now = timezone.now()
    k = project.responses_per_item
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg 3 cursor, for COPY
        prompt_ids = _next_ids(cursor, Prompt, len(lines))
        response_ids = _next_ids(cursor, Response, len(lines) * k) if k else []
        item_ids = _next_ids(cursor, Item, len(lines))
        _copy(cursor, Prompt, ["id", "project_id", "external_id", "conversation", "metadata", "created_at"],
              ((pid, project.id, ln.external_id, _json(ln.conversation), _json(ln.metadata), now)
               for pid, ln in zip(prompt_ids, lines, strict=True)))
        if k:
            _copy(cursor, Response, ["id", "prompt_id", "text", "model_name", "source"],
                  ((response_ids[i * k + j], pid, r["text"], r["model"], Response.Source.IMPORTED)
                   for i, (pid, ln) in enumerate(zip(prompt_ids, lines, strict=True)) for j, r in enumerate(ln.responses)))
        _copy(cursor, Item, ["id", "project_id", "prompt_id", "response_ids", "is_gold", "n_submitted", "n_leased",
                             "open_slots", "created_at"],
              ((iid, project.id, pid, _json(response_ids[i * k : (i + 1) * k]), False, 0, 0,
                project.annotations_per_item, now)
               for i, (iid, pid) in enumerate(zip(item_ids, prompt_ids, strict=True))))


class _Writer:
    """Writes lines a batch at a time, skipping the external ids the project already has."""

    def __init__(self, project: Project, *, dry_run: bool = False, progress: Callable[[int], None] | None = None):
        self.project, self.dry_run, self.progress = project, dry_run, progress
        self.fresh = not Prompt.objects.filter(project=project).exists()
        postgres = connection.vendor == "postgresql"
        self.write = _write_batch_copy if postgres else _write_batch_orm
        self.batch: list[ImportLine] = []
        self.created, self.skipped, self.skipped_ids = 0, 0, []

    def add(self, line: ImportLine) -> None:
        self.batch.append(line)
        if len(self.batch) >= BATCH:
            self.flush()

    def flush(self) -> None:
        lines, self.batch = self.batch, []
        if not lines:
            return
        existing = set() if self.fresh else _existing_ids(self.project, [ln.external_id for ln in lines])
        new = [ln for ln in lines if ln.external_id not in existing]
        if new and not self.dry_run:
            self.write(self.project, new)
        self.created += len(new)
        self.skipped += len(lines) - len(new)
        self.skipped_ids.extend(ln.external_id for ln in lines if ln.external_id in existing)
        del self.skipped_ids[1000:]
        if self.progress:
            self.progress(len(lines))

    def result(self) -> dict:
        if not self.dry_run and connection.vendor == "postgresql" and self.created >= ANALYZE_AFTER:
            transaction.on_commit(partial(_analyze, self.created))
        return {"created": self.created, "skipped": self.skipped, "skipped_ids": self.skipped_ids}


def _analyze(created: int) -> None:
    """Bring the planner's statistics up to date after a bulk import.

    An import leaves them describing the tables before it: a 697k-item snapshot build ran 600x slower until they
    were updated, and autovacuum gets there only once a tenth of a table has changed. The items' statistics (which
    project, the counters) steer the plans of next, the lead's lists and the snapshots: they are refreshed after
    every import, which is cheap (no long text). The prompts' and responses' are mostly about their texts and
    conversations, whose kind an import does not change, and sorting the sampled texts made a full ANALYZE cost
    1.7-2.0 s against 0.3 s for the items alone, on a 110k-prompt database (40% of a 10k-line import over HTTP):
    those two are analyzed when the import added at least GROWTH of what they held.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [Prompt._meta.db_table])
        (known,) = cursor.fetchone()
        grown = known < 0 or created >= GROWTH * known  # -1: never analyzed
        tables = [Item, Prompt, Response] if grown else [Item]
        cursor.execute(f"ANALYZE {', '.join(model._meta.db_table for model in tables)}")


@transaction.atomic
def items_import(
    *, project: Project, lines: Iterable[ImportLine], progress: Callable[[int], None] | None = None
) -> dict:
    """Create prompts, responses and items for validated lines; skip external ids already present."""
    writer = _Writer(project, progress=progress)
    for line in lines:
        writer.add(line)
    writer.flush()
    return writer.result()


def _check_and_write(project: Project, records: Iterable[tuple[int, object]], writer: _Writer, errors: Errors,
                     kept: list | None = None, keep: int = 0) -> LineChecker:
    """Check each record and hand the clean ones to ``writer`` until the first problem; raise ImportError_ at the end.

    The first ``keep`` clean lines are appended to ``kept``.
    """
    checker = LineChecker(kind=project.kind, responses_per_item=project.responses_per_item, limits=import_limits(),
                          errors=errors)
    for number, obj in records:
        line = checker.check(number, obj)
        if line is None or errors.total:
            continue
        if kept is not None and len(kept) < keep:
            kept.append(line)
        writer.add(line)
    checker.finish()
    writer.flush()
    return checker


@transaction.atomic
def items_import_records(*, project: Project, records: Iterable[tuple[int, object]], errors: Errors,
                         progress: Callable[[int], None] | None = None) -> dict:
    """Check and write parsed lines as they come (``importing.records``); raise ImportError_ with every problem."""
    writer = _Writer(project, progress=progress)
    _check_and_write(project, records, writer, errors)
    return writer.result()


def _clip(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def _preview_row(line: ImportLine) -> dict:
    return {"line": line.line, "external_id": line.external_id,
            "conversation": [{"role": m["role"], "content": _clip(m["content"])} for m in line.conversation],
            "responses": [{"text": _clip(r["text"]), "model": r["model"]} for r in line.responses],
            "metadata": line.metadata}


def items_import_preview(*, project: Project, records: Iterable[tuple[int, object]], errors: Errors) -> dict:
    """What importing these lines would do, writing nothing: counts, the first rows and every problem."""
    writer, kept = _Writer(project, dry_run=True), []
    try:
        _check_and_write(project, records, writer, errors, kept, keep=PREVIEW_ROWS)
    except ImportError_ as exc:
        return {"ok": False, "created": None, "skipped": None, "skipped_ids": [], "rows": [_preview_row(ln) for ln in kept],
                "errors": exc.errors, "error_count": errors.total}
    return {"ok": True, **writer.result(), "rows": [_preview_row(ln) for ln in kept], "errors": [], "error_count": 0}
