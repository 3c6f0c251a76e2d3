"""Engine set-up: SQLite in WAL mode with a busy timeout and write transactions
that take the write lock up front (BEGIN IMMEDIATE)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Executable
from sqlalchemy.orm import Session

#: Execution option that makes the next SQLite transaction BEGIN IMMEDIATE.
IMMEDIATE = "hall_immediate"


def configure_engine(engine: Engine, busy_timeout_s: int) -> None:
    """Attach the SQLite pragmas and BEGIN handling; PostgreSQL needs nothing."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN so that it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # SQLite's busy handler waits by sleeping in growing steps, so threads of one process
    # queueing for the write lock would hand it on late; they queue on this lock instead,
    # and the busy timeout only arbitrates between processes.
    writer = threading.Lock()

    def release(record) -> None:
        if record.info.pop(IMMEDIATE, False):
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if not connection.get_execution_options().get(IMMEDIATE):
            connection.exec_driver_sql("BEGIN")
            return
        record = connection.connection._connection_record
        if not writer.acquire(timeout=busy_timeout_s):
            raise exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked (writer queue)"))
        record.info[IMMEDIATE] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(record)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(connection) -> None:
        release(connection.connection._connection_record)

    @event.listens_for(engine, "reset")
    def _on_reset(_dbapi_connection, record, _reset_state) -> None:
        # a connection given back to the pool mid-transaction must not keep the queue locked
        release(record)


def begin_write(session: Session, *, go_on: bool = False) -> None:
    """End any open (read) transaction and start one that holds the write lock from its start.

    On SQLite a transaction that has read cannot start writing once another connection has
    committed since ("database is locked" at once, whatever the busy timeout), so code that
    writes starts its transaction here. On PostgreSQL this only ends the previous transaction.

    With `go_on`, a transaction that may already write goes on instead (one transaction and one
    connection per request): on SQLite one begun IMMEDIATE, on PostgreSQL (read committed) any,
    with what it loaded expired so that it is read again under the locks the caller takes.
    """
    if session.in_transaction():
        connection = session.connection()
        if go_on and connection.dialect.name != "sqlite":
            session.expire_all()
            return
        if go_on and connection.connection.info.get(IMMEDIATE):
            return
        session.commit()
    session.connection(execution_options={IMMEDIATE: True})


def upsert(session: Session, model, values: dict, keys: list[str], changes: dict):
    """INSERT … ON CONFLICT (keys) DO UPDATE SET changes, in the session's dialect (SQLite or PostgreSQL)."""
    return upsert_in(session.get_bind().dialect.name, model, values, keys, changes)


def upsert_in(dialect: str, model, values: dict, keys: list[str], changes: dict):
    """`upsert` for a dialect named "sqlite" or "postgresql"."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).values(**values).on_conflict_do_update(index_elements=keys, set_=changes)


_prepared: dict[tuple[Callable, str], Executable] = {}


def prepared(connection: Connection, build: Callable[[str], Executable]) -> Executable:
    """The statement `build(dialect name)` makes, built once per dialect: statements that run on every
    ticket take their values as parameters instead of being put together again for each one."""
    key = (build, connection.dialect.name)
    statement = _prepared.get(key)
    if statement is None:
        statement = _prepared[key] = build(connection.dialect.name)
    return statement
