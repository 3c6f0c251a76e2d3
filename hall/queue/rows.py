"""Writing the rows a queue action changes at once, without the ORM's unit of work.

A call, start, finish or no-show changes a few columns of rows the action has loaded (its
ticket, the ticket's current stage, the counter). Setting them as attributes leaves the writing
to a flush, which works out what changed, orders the rows and builds each UPDATE again: most of
an action's time. `write` sends one UPDATE by primary key instead (its statement built once per
table and set of columns, sent as driver SQL: `hall.database.run_driver`) and keeps the loaded object true, so what the action (or, in a sole
writer's batch, the next action) reads of it is what was written.

If the action is undone afterwards, the objects it wrote are expired (`forget_written`), so that
they are read again as the database has them. An action that holds rows, not objects (`write_row`), leaves
a sole writer's batch objects it did not load: the batch notes the ids it wrote (`noting_rows`) and expires
their objects after it (`expire_noted`).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import JSON, bindparam, inspect, null, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from hall.database import run_driver
from hall.extensions import db

_WRITTEN = "hall_written_rows"
_statements: dict[tuple[Any, tuple[str, ...]], Executable] = {}


def _statement(table, columns: tuple[str, ...], nulls: tuple[str, ...]) -> Executable:
    key = (table, columns, nulls)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = (update(table).where(table.c.id == bindparam("_id")).values(
            {name: bindparam(name) for name in columns} | {name: null() for name in nulls}))
    return statement


def write(row: Any, **values: Any) -> None:
    """Set column attributes of a loaded (persistent) object and write them now, in one UPDATE by its id.

    Relationship attributes may be given too (`counter=...`): they are set on the object, their
    foreign key column must be among the values written."""
    mapper = inspect(row).mapper
    session = db.session()
    _update(session.connection(), mapper.local_table, row.id,
            {name: value for name, value in values.items() if name in mapper.columns})
    for name, value in values.items():
        set_committed_value(row, name, value)
    session.info.setdefault(_WRITTEN, set()).add(row)


def write_row(connection: Connection, table, row_id: int, **values: Any) -> None:
    """One UPDATE by primary key of a table's row an action holds as a row, with column values."""
    _update(connection, table, row_id, values)
    if (noted := connection.info.get(_NOTED)) is not None:
        noted.add((table, row_id))


def _update(connection: Connection, table, row_id: int, values: dict[str, Any]) -> None:
    # None in a JSON column is SQL NULL, as the ORM writes it (a bound None would be JSON 'null')
    nulls = tuple(name for name, value in values.items() if value is None and isinstance(table.c[name].type, JSON))
    columns = {name: value for name, value in values.items() if name not in nulls}
    run_driver(connection, _statement(table, tuple(columns), nulls), {"_id": row_id, **columns})


def forget_written(session: Session) -> None:
    """The action that wrote rows is undone: read them again when next used."""
    for row in session.info.pop(_WRITTEN, ()):
        if inspect(row).persistent:
            session.expire(row)


def written_kept(session: Session) -> None:
    """The action that wrote rows is done (committed, or kept in a sole writer's open transaction)."""
    session.info.pop(_WRITTEN, None)


_NOTED = "hall_rows_written_by_id"


@contextmanager
def noting_rows(connection: Connection) -> Iterator[None]:
    """Note the rows `write_row` writes on the connection meanwhile (a sole writer's batch action)."""
    info = connection.info  # the pooled connection's: still there once an undone action closed `connection`
    info[_NOTED] = set()
    try:
        yield
    finally:
        info.pop(_NOTED, None)


def expire_noted(session: Session, connection: Connection) -> None:
    """Expire the session's objects of the rows noted so far (`noting_rows`), so that what the batch's
    next actions read of them is what was written; a ticket's stages too, since its current stage is
    written by the ticket's id."""
    for table, row_id in connection.info.get(_NOTED, ()):
        row = session.identity_map.get(_mappers()[table].identity_key_from_primary_key((row_id,)))
        if row is None:
            continue
        for stage in row.__dict__.get("stages", ()):
            session.expire(stage)
        session.expire(row)
    connection.info[_NOTED] = set()


@cache
def _mappers() -> dict[Any, Any]:
    return {mapper.local_table: mapper for mapper in db.Model.registry.mappers}
