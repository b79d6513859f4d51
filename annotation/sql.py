"""The few helpers the hand-written SQL of the hot path needs to run on PostgreSQL and SQLite alike.

Parameters go through Django's own adapters (``connection.ops``), so a datetime or a JSON value is
stored exactly as the ORM would store it; values read back are decoded the same way.

On PostgreSQL these statements are prepared: psycopg binds their parameters on the server, and from a statement's
fifth run on a connection (OPTIONS prepare_threshold, rlhf_site/settings.py) PostgreSQL has it parsed and planned
once instead of on every call; its CPU per next + submit fell by about a third (docs/benchmarks.md). Only these
fixed statements: the ORM keeps Django's client-side binding, whose cursors never prepare.
"""

import datetime as dt
from functools import cache

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.dateparse import parse_datetime


@cache
def _server_binding_cursor():
    from django.db.backends.postgresql.base import ServerBindingCursor  # psycopg: only where PostgreSQL is used

    return ServerBindingCursor


def _cursor():
    """Django's cursor (its health check, error translation and query logging); on PostgreSQL one that prepares."""
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, looked up once: each ``connection.x`` looks it up
    # Where Django records each statement's text (DEBUG, or a test capturing queries) it runs unprepared, as the
    # ORM's do: only client-side binding leaves the text for Django to read.
    if db.vendor != "postgresql" or db.queries_logged:
        return db.cursor()
    db.ensure_connection()
    raw = db.connection
    # The psycopg connection's own factory, swapped for this one cursor; a connection that the health check replaces
    # meanwhile comes with the default factory, and this statement then runs unprepared, as any other.
    default, raw.cursor_factory = raw.cursor_factory, _server_binding_cursor()
    try:
        return db.cursor()
    finally:
        raw.cursor_factory = default


def rows(sql: str, params: list) -> list[tuple]:
    """Run one statement and return its rows."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@cache
def columns(model, alias: str) -> str:
    """The model's concrete columns, qualified by the table's alias, in field order: what ``instances`` reads."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def instances(model, sql: str, params: list) -> list:
    """Model instances from a statement that selects ``columns(model, alias)``, built as QuerySet.raw builds them.

    The same values (each field's and the backend's converters) and the same loaded instance (Model.from_db), but a
    prepared statement (``rows``) and none of RawQuerySet's per-call work on the columns' names: the token lookup and
    the project's runs on every call of the hot path.
    """
    found = rows(sql, params)
    if not found:
        return []
    db = connections[DEFAULT_DB_ALIAS]
    names, converters = _reading(db, model)
    built = []
    for row in found:
        if converters:
            row = list(row)
            for i, convs, expression in converters:
                value = row[i]
                for convert in convs:
                    value = convert(value, expression, db)
                row[i] = value
        built.append(model.from_db(db.alias, names, row))
    return built


def _reading(db, model) -> tuple[list[str], list[tuple]]:
    """The model's field names and its columns' converters, (column, converters, expression), on this thread's
    connection (the backend's bind to it): worked out once."""
    cached = db.__dict__.setdefault("_rlhf_converters", {})
    if model not in cached:
        compiler = db.ops.compiler("SQLCompiler")(None, db, db.alias)
        fields, table = model._meta.concrete_fields, model._meta.db_table
        converters = compiler.get_converters([field.get_col(table) for field in fields])
        cached[model] = ([field.attname for field in fields],
                         [(i, convs, expression) for i, (convs, expression) in converters.items()])
    return cached[model]


def changed(sql: str, params: list) -> int:
    """Run one statement and return how many rows it changed."""
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def db_time(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def db_json(value):
    return None if value is None else connection.ops.adapt_json_value(value, None)


def from_db_json(value):
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def from_db_time(value) -> dt.datetime:
    """An aware datetime from PostgreSQL's timestamptz or SQLite's UTC text."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
