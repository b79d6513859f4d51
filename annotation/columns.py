"""Numeric query results straight into numpy columns.

The loaders behind agreement, curation and snapshots read a million rows of a few numbers each. Through
Python tuples that costs seconds of object creation; on PostgreSQL the columns come instead as arrays in a
binary `COPY (query) TO STDOUT`, which numpy reads in place. Elsewhere (SQLite) the rows are fetched a chunk
at a time.

The ORM writes the query (both dialects for free); every selected expression must be cast to the dtype
asked for and must never be NULL (wrap it in Coalesce with a sentinel). On PostgreSQL a time asked for as float64
may be the column itself: it arrives as epoch seconds (`_array`).
"""

from collections.abc import Callable

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet

# numpy dtype -> (PostgreSQL binary width, big-endian dtype)
_WIRE = {np.dtype(np.int64): (8, ">i8"), np.dtype(np.float64): (8, ">f8"), np.dtype(bool): (1, "?")}
_GROUP_BITS = 20  # rows go over the wire as arrays of up to 2**20 values: libpq hands COPY data over a row at a time


def columns_from_query(queryset: QuerySet, dtypes: list) -> list[np.ndarray]:
    """One array per selected column of a `values_list` queryset whose first column is a unique integer (an id).

    Rows come in no particular order; within one call the columns stay aligned."""
    dtypes = [np.dtype(d) for d in dtypes]
    sql, params = queryset.query.sql_with_params()
    if connection.vendor == "postgresql":
        return _copy_binary(sql, params, dtypes)
    out: list[list[np.ndarray]] = [[] for _ in dtypes]
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(50_000):
            for k, column in enumerate(zip(*batch, strict=True)):
                out[k].append(np.array(column, dtype=dtypes[k]))
    return [np.concatenate(parts) if parts else np.zeros(0, dtype) for parts, dtype in zip(out, dtypes, strict=True)]


def _copy_binary(sql: str, params, dtypes: list[np.dtype]) -> list[np.ndarray]:
    """The query's columns gathered by PostgreSQL into arrays (one aggregate pass feeds every array the same rows
    in the same order) and sent as binary COPY, whose arrays of NOT NULL numbers are fixed-width: numpy reads
    them in place. One COPY row per 2**20 ids instead of one per row: reading a million rows one at a time
    costs more than the query; and a row stays far below PostgreSQL's 1 GB limit on one."""
    names = [f"c{k}" for k in range(len(dtypes))]
    grouped = (f"SELECT {', '.join(f'array_agg({n})' for n in names)} FROM ({sql}) AS q({', '.join(names)}) "
               f"GROUP BY c0 >> {_GROUP_BITS}")
    parts: list[list[np.ndarray]] = [[] for _ in dtypes]
    stream = bytearray()
    with transaction.atomic(), connection.cursor() as django_cursor:
        # The planner cannot know that the ids fall into few groups, and would sort a million rows to group them;
        # hashing them needs a few MB per million ids. Both settings last only until the COPY is read.
        django_cursor.execute("SET LOCAL enable_sort = off; SET LOCAL work_mem = '256MB'")
        try:  # psycopg binds the parameters client-side: COPY takes none of its own
            with django_cursor.cursor.copy(f"COPY ({grouped}) TO STDOUT (FORMAT binary)", params) as copy:
                while block := copy.read():
                    stream += block
        finally:
            django_cursor.execute("SET LOCAL enable_sort TO DEFAULT; SET LOCAL work_mem TO DEFAULT")
    view = memoryview(stream)
    if bytes(view[:11]) != b"PGCOPY\n\xff\r\n\x00":
        raise ValueError("not a binary COPY stream")
    at = 19 + int.from_bytes(view[15:19], "big")
    while (fields := int.from_bytes(view[at:at + 2], "big", signed=True)) != -1:
        at += 2
        assert fields == len(dtypes), "binary COPY row of an unexpected width"
        for k, dtype in enumerate(dtypes):
            length = int.from_bytes(view[at:at + 4], "big")
            parts[k].append(_array(view[at + 4:at + 4 + length], dtype))
            at += 4 + length
    return [(p[0] if len(p) == 1 else np.concatenate(p)) if p else np.zeros(0, d)
            for p, d in zip(parts, dtypes, strict=True)]


def in_key_order(keys: np.ndarray, *columns: np.ndarray) -> list[np.ndarray]:
    """`keys` (unique) and the columns aligned with them, in key order. Rows mostly arrive in it already (a table
    scanned in id order): then they are returned as they are, without sorting and gathering a million rows."""
    if keys.size < 2 or bool((keys[1:] > keys[:-1]).all()):
        return [keys, *columns]
    order = np.argsort(keys, kind="stable")
    return [keys[order], *(column[order] for column in columns)]


def key_positions(keys: np.ndarray, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each query, its position in `keys` (sorted, unique) and whether it is there (where not, the position is
    some valid index, or 0 of no keys: mask it). Keys from a range not much wider than their count (a table's ids)
    are looked up in a table by offset, linear; others by binary search, which at a million queries costs ~60 ms."""
    if not keys.size:
        return np.zeros(queries.size, np.int64), np.zeros(queries.size, bool)
    lo, hi = int(keys[0]), int(keys[-1])
    if hi - lo < 4 * keys.size + 1024:
        table = np.full(hi - lo + 1, -1, np.int64)
        table[keys - lo] = np.arange(keys.size)
        inside = (queries >= lo) & (queries <= hi)
        at = table[np.where(inside, queries - lo, 0)]
        found = inside & (at >= 0)
        return np.where(found, at, 0), found
    at = np.clip(np.searchsorted(keys, queries), 0, keys.size - 1)
    return at, keys[at] == queries


_TIMESTAMP_OIDS = (1114, 1184)  # timestamp, timestamptz: microseconds since 2000-01-01 as 8-byte integers
_EPOCH_2000_US = 946_684_800_000_000


def _array(data: memoryview, dtype: np.dtype) -> np.ndarray:
    """One binary one-dimensional PostgreSQL array of NOT NULL numbers: (ndim, has-nulls, element type, size,
    lower bound), then each element as (length, value). Times asked for as float64 become epoch seconds as
    PostgreSQL's date_part('epoch') computes them: the microseconds since 1970 as a double, divided by 1e6."""
    ndim, has_nulls, oid, size = (int.from_bytes(data[i:i + 4], "big") for i in range(0, 16, 4))
    is_time = oid in _TIMESTAMP_OIDS and dtype == np.float64
    width, wire = (8, ">i8") if is_time else _WIRE[dtype]
    elements = np.frombuffer(data[20:], dtype=np.dtype([("n", ">i4"), ("v", wire)]))
    if ndim != 1 or has_nulls or elements.size != size or (elements["n"] != width).any():
        raise ValueError("a column is NULL or not of the type asked for: cast it and coalesce it in the query")
    if is_time:
        return (elements["v"] + _EPOCH_2000_US).astype(np.float64) / 1e6
    return elements["v"].astype(dtype)


def raw_rows(queryset: QuerySet, chunk: int = 10_000, *, server_side: bool = True):
    """The rows of a `values_list` queryset as the database driver returns them, a chunk at a time: no per-value
    converters, which at a million rows cost more than the query. JSON columns come back as text (decode them
    with `sql.from_db_json`), times as the driver gives them (`sql.from_db_time`). `server_side`: a server-side
    cursor on PostgreSQL, for results too big to hold; a small one is faster fetched whole."""
    for batch in raw_batches(queryset, chunk, server_side=server_side):
        yield from batch


def raw_batches(queryset: QuerySet, chunk: int = 10_000, *, server_side: bool = True):
    """`raw_rows` a list of up to `chunk` rows at a time."""
    yield from _sql_batches(*queryset.query.sql_with_params(), chunk, server_side)


def _sql_batches(sql: str, params, chunk: int, server_side: bool):
    with connection.chunked_cursor() if server_side else connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(chunk):
            yield batch


def dense_range(low: int, high: int, count: int) -> bool:
    """Whether `count` distinct ids from `low` to `high` fill their range well enough to read the whole range
    (two parameters) rather than the ids themselves: an import writes its rows' ids together."""
    return high - low < 2 * count + 1000


class Ranged:
    """A query over a range of ids, compiled once and run for many ranges (`raw_batches` of `make(low, high)` for
    each): compiling the queryset cost 0.6-0.9 ms, as much as a snapshot build's per-chunk queries took to run.
    `make` must pass both ends on as parameters of their own."""

    _LOW, _HIGH = -7_301_000_001, -7_301_000_002  # stand-ins no real parameter equals

    def __init__(self, make: Callable[[int, int], QuerySet]):
        self.sql, params = make(self._LOW, self._HIGH).query.sql_with_params()
        self.params = list(params)
        self.at = self.params.index(self._LOW), self.params.index(self._HIGH)

    def batches(self, low: int, high: int, chunk: int = 10_000):
        params = list(self.params)
        params[self.at[0]], params[self.at[1]] = low, high
        yield from _sql_batches(self.sql, params, chunk, False)

    def rows(self, low: int, high: int):
        for batch in self.batches(low, high):
            yield from batch
