"""The few helpers the hand-written SQL of the hot path needs to run on PostgreSQL and SQLite alike.

Parameters go through Django's own adapters (``connection.ops``), so a datetime or a JSON value is
stored exactly as the ORM would store it; values read back are decoded the same way.
"""

import datetime as dt

import orjson
from django.db import connection
from django.utils.dateparse import parse_datetime


def rows(sql: str, params: list) -> list[tuple]:
    """Run one statement and return its rows."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def changed(sql: str, params: list) -> int:
    """Run one statement and return how many rows it changed."""
    with connection.cursor() as cursor:
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
