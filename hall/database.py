"""Engine set-up: SQLite in WAL mode with a busy timeout and write transactions
that take the write lock up front (BEGIN IMMEDIATE); PostgreSQL connections checked for
life when the pool hands them out."""
from __future__ import annotations

import select
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask_sqlalchemy.session import Session as FlaskSession

from sqlalchemy import event, exc, text, util
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql import Executable, Insert
from sqlalchemy.orm import Session, scoped_session

from hall.wal_checkpoints import Checkpointer, CheckpointSettings, database_file, request_pragmas

#: Execution option that makes the next SQLite transaction BEGIN IMMEDIATE.
IMMEDIATE = "hall_immediate"

def configure_engine(engine: Engine, busy_timeout_s: int,
                     checkpoints: CheckpointSettings = CheckpointSettings()) -> Checkpointer | None:
    """Attach the SQLite pragmas and BEGIN handling; PostgreSQL's check of pooled connections.

    A SQLite database file gets its log checkpointed off the request path (hall.wal_checkpoints,
    at `checkpoints`): the `Checkpointer` is returned (None for PostgreSQL and in-memory databases)."""
    if engine.dialect.name != "sqlite":
        check_pooled_connections(engine)
        keep_prepared_statements(engine)
        return None
    path = database_file(engine.url.database)
    # SQLite's busy handler waits by sleeping in growing steps, so threads of one process
    # queueing for the write lock would hand it on late; they queue on this lock instead, and the
    # busy timeout only arbitrates between processes. A plain lock, not first come first served
    # (hall.fifo): handing the lock to a waiter the busy loop has not run yet leaves it idle
    # meanwhile, and beside 2 000 screens that cost 1.4x the issue p99 (bench/RESULTS.md).
    writer = threading.Lock()
    checkpointer = Checkpointer(path, writer, checkpoints) if path else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN so that it can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if checkpointer:
            for pragma in request_pragmas(checkpoints):
                cursor.execute(pragma)
        cursor.close()

    def release(record) -> None:
        if record.info.pop(IMMEDIATE, False):
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        if not connection.get_execution_options().get(IMMEDIATE):
            run_driver(connection, _BEGIN, {})
            return
        record = connection.connection._connection_record
        if not writer.acquire(timeout=busy_timeout_s):
            raise exc.OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked (writer queue)"))
        record.info[IMMEDIATE] = True
        try:
            run_driver(connection, _BEGIN_IMMEDIATE, {})
        except BaseException:
            release(record)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(connection) -> None:
        release(connection.connection._connection_record)
        if checkpointer:
            checkpointer.wrote()

    @event.listens_for(engine, "rollback")
    def _on_rollback(connection) -> None:
        release(connection.connection._connection_record)

    if checkpointer:
        event.listen(engine, "engine_disposed", lambda _engine: checkpointer.disposed())

    @event.listens_for(engine, "reset")
    def _on_reset(_dbapi_connection, record, _reset_state) -> None:
        # a connection given back to the pool mid-transaction must not keep the queue locked
        release(record)

    return checkpointer


_BEGIN, _BEGIN_IMMEDIATE = text("BEGIN"), text("BEGIN IMMEDIATE")


#: A pooled connection unused for longer than this answers a ping (a round trip) before it is handed out.
PING_AFTER_IDLE_S = 30.0
_IDLE_SINCE = "hall_idle_since"


def check_pooled_connections(engine: Engine) -> None:
    """Hand out only connections the server has not closed, without a round trip per checkout.

    `pool_pre_ping` pings every connection the pool hands out: a second round trip for a request
    whose work is one statement (a PostgreSQL issue), and a tenth of its CPU. A server that stops or
    restarts, or ends a session, tells the client and closes the connection, and an idle connection
    has nothing else to read: so a connection with something to read (`_has_input`, no round trip)
    is pinged, as is one idle for longer than `PING_AFTER_IDLE_S` (where a silent drop on the way is
    likelier). A connection that fails its ping is replaced at once, so the first request after the
    database is back gets a fresh one.
    """
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _alive(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None:  # opened for this checkout
            return
        if _may_be_closed(dbapi_connection, idle_since) and not _answers_ping(dialect, dbapi_connection):
            raise exc.DisconnectionError("the database closed this connection")


def keep_prepared_statements(engine: Engine) -> None:
    """Let a connection's rollback keep the statements psycopg prepared on it.

    psycopg forgets every statement it prepared on a connection at each ROLLBACK, and sends DEALLOCATE ALL
    (a second round trip), in case the transaction undid DDL the statements depend on. Hall runs no DDL
    in a request's or a background reader's transaction, and a read-only transaction ends with a rollback:
    so each background read (pictures, waiting counts) wiped a warm pooled connection's statements, and
    the next issues on it were parsed and planned again (about ten times each: psycopg prepares at the
    sixth run, PostgreSQL then makes five plans for the values at hand before it settles on one). Plans
    live in the server session, not in the transaction: PostgreSQL re-plans a statement whose tables
    changed, so keeping them across a rollback is sound. DDL that psycopg sees on a connection (DROP,
    ALTER) still clears them."""
    rollback = engine.dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        prepared = getattr(dbapi_connection, "_prepared", None)  # psycopg's PrepareManager
        if prepared is None:
            rollback(dbapi_connection)
            return
        prepared.clear = _nothing_cleared
        try:
            rollback(dbapi_connection)
        finally:
            del prepared.clear

    engine.dialect.do_rollback = do_rollback


def _nothing_cleared() -> bool:
    return False


def _may_be_closed(dbapi_connection: Any, idle_since: float) -> bool:
    """Whether a connection idle since `idle_since` (monotonic) must be pinged before use: it has something to
    read, or it sat idle long enough for a silent drop on the way."""
    return time.monotonic() - idle_since > PING_AFTER_IDLE_S or _has_input(dbapi_connection)


def _has_input(dbapi_connection: Any) -> bool:
    """Whether the server sent something to an idle connection (or closed it): its socket is readable.
    Asked of the operating system directly (no event loop) and at once."""
    socket = getattr(getattr(dbapi_connection, "pgconn", None), "socket", None)
    if socket is None:  # not psycopg: no way to tell without asking the server
        return True
    poller = _poll()
    poller.register(socket, select.POLLIN)
    return bool(poller.poll(0))


def _unpatched_poll() -> Callable[[], Any]:
    try:
        from gevent import monkey
    except ImportError:
        return select.poll
    return monkey.get_original("select", "poll")


_poll = _unpatched_poll()


def _answers_ping(dialect: Dialect, dbapi_connection: Any) -> bool:
    """The driver's ping, as `pool_pre_ping` sends it: False when the connection is gone."""
    try:
        return dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        if dialect.is_disconnect(error, dbapi_connection, None):
            return False
        raise


def begin_write(session: Session, *, go_on: bool = False) -> Connection:
    """End any open (read) transaction and start one that holds the write lock from its start.

    On SQLite a transaction that has read cannot start writing once another connection has
    committed since ("database is locked" at once, whatever the busy timeout), so code that
    writes starts its transaction here. On PostgreSQL this only ends the previous transaction.

    With `go_on`, a transaction that may already write goes on instead (one transaction and one
    connection per request): on SQLite one begun IMMEDIATE, on PostgreSQL (read committed) any,
    with what it loaded expired so that it is read again under the locks the caller takes.

    Returns the transaction's connection.
    """
    if session.in_transaction():
        connection = session.connection()
        if go_on and connection.dialect.name != "sqlite":
            session.expire_all()
            return connection
        if go_on and connection.connection.info.get(IMMEDIATE):
            return connection
        session.commit()
    return session.connection(execution_options={IMMEDIATE: True})


class KeptAutocommit:
    """Connections of an engine's pool kept checked out, in autocommit, for statements that run alone
    (the PostgreSQL one-call issue): taken and given back without the pool.

    A pool checkout and checkin (the pool's queue, its events, the connection's wrapper and its reset,
    the autocommit flag set and cleared) cost more Python than the one call's own statement on the
    cursor. These connections stay the pool's own, counted in its `pool_size + max_overflow` (so `hall
    serve`'s budget of PostgreSQL connections is unchanged): at most `most` are kept idle here, the ones
    a peak of such statements had out at once; past that a connection goes back to the pool.

    A kept connection is checked as the pool checks its own (`check_pooled_connections`): one with
    something to read (the server closed it, or ended the session) or idle here longer than
    `PING_AFTER_IDLE_S` goes back to the pool, whose checkout pings it, and another is taken. One a
    statement failed on goes back too (an invalidated one is dropped by the pool), as does every kept
    connection when the engine is disposed."""

    def __init__(self, engine: Engine, most: int) -> None:
        self.engine, self.most = engine, most
        #: (connection, monotonic time it was given back), the last given back last: LIFO, as the pool.
        self.idle: list[tuple[Connection, float]] = []
        event.listen(engine, "engine_disposed", lambda _engine: self.give_all_back())

    def take(self) -> Connection:
        while True:
            try:  # (threads may take the last one between a look and the pop)
                connection, since = self.idle.pop()
            except IndexError:
                break
            if not connection.invalidated and not _may_be_closed(connection.connection.dbapi_connection, since):
                return connection
            _to_pool(connection)
        connection = self.engine.connect()
        try:
            connection.connection.dbapi_connection.set_autocommit(True)
        except BaseException:
            connection.close()
            raise
        return connection

    def give_back(self, connection: Connection) -> None:
        if len(self.idle) < self.most and not connection.invalidated:
            self.idle.append((connection, time.monotonic()))
        else:
            _to_pool(connection)

    def give_all_back(self) -> None:
        while True:
            try:
                connection, _since = self.idle.pop()
            except IndexError:
                return
            _to_pool(connection)

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A kept connection in autocommit for the block; one the block failed on goes back to the pool."""
        connection = self.take()
        try:
            yield connection
        except BaseException:
            _to_pool(connection)
            raise
        self.give_back(connection)


def _to_pool(connection: Connection) -> None:
    """Give a kept connection back to its pool, out of autocommit (unless it was invalidated: then dropped, as is
    one the driver cannot take out of autocommit)."""
    try:
        if not connection.invalidated and not connection.closed:
            connection.connection.dbapi_connection.set_autocommit(False)
    except Exception:
        connection.invalidate()
    finally:
        connection.close()


def kept_autocommit(engine: Engine) -> KeptAutocommit:
    """The engine's `KeptAutocommit`, made at first use: at most a third of its pool kept (6 of `pool_size` 18;
    with a quarter kept, 7–17 % of a served benchmark's issues found none idle: bench/RESULTS.md)."""
    kept = engine.__dict__.get("hall_kept_autocommit")
    if kept is None:
        size = engine.pool.size() if hasattr(engine.pool, "size") else 1
        kept = engine.__dict__["hall_kept_autocommit"] = KeptAutocommit(engine, max(1, size // 3))
    return kept


@contextmanager
def autocommit(connection: Connection) -> Iterator[Connection]:
    """Run `connection`'s statements each in a transaction of their own (no BEGIN, no COMMIT sent): the
    driver's own autocommit flag turned on, and off again before the connection goes back to the pool.

    SQLAlchemy's way, the connection's `isolation_level="AUTOCOMMIT"` option, is a connection
    characteristic: set through the dialect's isolation-level machinery at each use and reset the same way
    at the checkin. Same pool, so the connection budget is unchanged; what the driver flag leaves out (the
    isolation level itself) is never set by Hall. A connection invalidated meanwhile (the server gone) is
    not reset: the pool drops it."""
    dbapi_connection = connection.connection.dbapi_connection
    dbapi_connection.set_autocommit(True)
    try:
        yield connection
    finally:
        if not connection.invalidated:
            dbapi_connection.set_autocommit(False)


@contextmanager
def read_committed(connection: Connection) -> Iterator[Connection]:
    """Read on a connection whose transaction has just committed, before it goes back to the pool, with
    driver statements (`run_driver`) that each run in a transaction of their own: no second checkout, no
    BEGIN. SQLite's driver begins nothing by itself here (Hall's BEGIN is SQLAlchemy's); psycopg would open
    a transaction nobody ends, so its autocommit flag is on meanwhile (`autocommit`)."""
    if connection.dialect.name != "postgresql":
        yield connection
        return
    with autocommit(connection):
        yield connection


def session_made(sessions: scoped_session) -> Session | None:
    """The context's session if anything made it (an issue on a connection of its own may make none)."""
    return sessions() if sessions.registry.has() else None


def session_in_transaction(sessions: scoped_session) -> Session | None:
    """The context's session if it was made and has a transaction open."""
    session = session_made(sessions)
    return session if session is not None and session.in_transaction() else None


#: The connection of the write transaction a `WriteOnOwnConnection` runs in this context (thread, greenlet).
_own_connection: ContextVar[Connection | None] = ContextVar("hall_own_connection", default=None)


class HallSession(FlaskSession):
    """`db.session`'s class: while a write transaction runs on a connection of its own
    (`WriteOnOwnConnection`), what reads or writes through the session does so in that transaction."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and (own := _own_connection.get()) is not None:
            return own
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


_THEN = "hall_then_after_commit"


@event.listens_for(HallSession, "after_commit")
def _then_after_commit(session: Session) -> None:
    """What `WriteOnSession.commit` reads after its commit, while the session still holds the connection
    (it gives it back just after this event)."""
    if (then := session.info.pop(_THEN, None)) is not None:
        read, connection = then
        read(connection)


class WriteOnSession:
    """A queue action's write transaction: the request's session transaction, begun or gone on with
    (`begin_write(go_on=True)`)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.connection = begin_write(session, go_on=True)

    def commit(self, then: Callable[[Connection], None] | None = None) -> None:
        """Commit; `then` reads on the committed connection before the session gives it back (see
        `read_committed`)."""
        if then is not None:  # run by `_then_after_commit`, once the connection's transaction has committed
            self.session.info[_THEN] = (then, self.connection)
        try:
            self.session.commit()
        finally:
            self.session.info.pop(_THEN, None)

    def rollback(self) -> None:
        self.session.rollback()

    def close(self) -> None:
        pass


class WriteOnOwnConnection:
    """A queue action's write transaction on a connection of its own from the engine, for a request that
    has no transaction open: one checkout, one BEGIN (SQLite: IMMEDIATE) and one COMMIT on the
    `Connection`, without the ORM session's transaction around them (its begin, connection set-up,
    commit and close cost as much as the action's statements' own Python), nor a session at all unless
    the action uses one.

    What the action does through the session meanwhile (a read, a flush) joins this transaction
    (`HallSession`): the session's commit flushes and leaves the transaction to `commit`, its rollback
    undoes it. The engine's events (SQLite's BEGIN IMMEDIATE and writer queue, the pool's checks, the
    statement counts) and the outage's 503 (connection errors are SQLAlchemy's) are the same as
    through the session."""

    def __init__(self, sessions: scoped_session, engine: Engine) -> None:
        self.sessions = sessions
        connection = self.connection = _writing(engine).connect()
        try:
            self.transaction = connection.begin()
        except BaseException:
            connection.close()
            raise
        self.token = _own_connection.set(connection)

    def _joined(self) -> Session | None:
        """The session, where the action used it (it then joined this transaction)."""
        return session_in_transaction(self.sessions)

    def commit(self, then: Callable[[Connection], None] | None = None) -> None:
        """Commit; `then` reads on the committed connection (see `read_committed`), which `close` gives back."""
        if (session := self._joined()) is not None:  # its changes are flushed
            session.commit()
        self.transaction.commit()
        if then is not None:
            then(self.connection)

    def rollback(self) -> None:
        if (session := self._joined()) is not None:
            session.rollback()
        if self.transaction.is_active:
            self.transaction.rollback()

    def close(self) -> None:
        """Give the connection back (a transaction still open is rolled back); the session is its own again."""
        _own_connection.reset(self.token)
        if (session := self._joined()) is not None:
            session.rollback()
        self.connection.close()


def write_transaction(sessions: scoped_session, engine: Engine) -> WriteOnSession | WriteOnOwnConnection:
    """The write transaction of a queue action: on a connection of its own when the request has no
    transaction open, else the request's session transaction goes on (one transaction and one connection
    per request)."""
    if _own_connection.get() is not None or session_in_transaction(sessions) is not None:
        return WriteOnSession(sessions())
    return WriteOnOwnConnection(sessions, engine)


def _writing(engine: Engine) -> Engine:
    """The engine's connections whose transactions begin IMMEDIATE (SQLite), an option set once for all."""
    writing = engine.__dict__.get("hall_writing")
    if writing is None:
        writing = engine.__dict__["hall_writing"] = engine.execution_options(**{IMMEDIATE: True})
    return writing


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


class DriverStatement:
    """A statement compiled once for a dialect and run on the DBAPI cursor of a connection, below
    SQLAlchemy's per-execution machinery (compile-cache lookup, execution context, result metadata built
    for each execution: an UPDATE … RETURNING on SQLite 58 µs through `Connection.execute`, 11 µs on the
    bare cursor). What of it matters is kept:

    - values go through the statement's own bind processors, rows through its columns' result processors
      (dates, times and datetimes read back from SQLite's text, JSON), as SQLAlchemy sends and reads them;
    - the engine's `before_cursor_execute`/`after_cursor_execute` listeners see the statement (statement
      counts; their `context` is None);
    - a driver error, or an exit (a timeout) in the middle, goes through the connection's own error
      handling: raised as SQLAlchemy's exception (the outage answer, `hall.unavailable`), a dead
      connection invalidated;
    - it runs in the connection's transaction (begun by the caller's session, as any statement).
    """

    def __init__(self, statement: Executable, dialect: Dialect, keys: list[str]) -> None:
        # an INSERT's columns are the caller's keys (a bare `insert(table)` would take every column)
        compiled = statement.compile(dialect=dialect, column_keys=keys if isinstance(statement, Insert) else None)
        if compiled.insert_prefetch or compiled.escaped_bind_names:
            raise ValueError("a driver statement takes every value from its caller, under its plain name")
        self.sql = compiled.string
        processors = compiled._bind_processors
        #: Values the statement carries itself (e.g. the 1 of `last + 1`); the caller gives the others.
        self.fixed = {name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required}
        self.given = len(set(compiled.bind_names.values()) - set(self.fixed))  # a value used twice is given once
        self.names = compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
        self.processors = [processors.get(name) for name in self.names]
        self.positional = compiled.positional
        # psycopg prepares a statement at its sixth run on a connection; these run at every issue or call,
        # so at the first (psycopg's prepare_threshold None still prepares nothing)
        self.options = {"prepare": True} if dialect.driver == "psycopg" else {}
        columns = compiled._result_columns
        self.row = namedtuple("DriverRow", [column.keyname for column in columns], rename=True) if columns else None
        #: (position, processor) of each column whose values need one: on psycopg most need none, and a row with
        #: none to process is taken as the driver gives it (the picture's read: hundreds of rows of 13 columns).
        self.results = [(position, process) for position, column in enumerate(columns)
                        if (process := column.type._cached_result_processor(dialect, None)) is not None]
        #: Whether the statement gives rows (its SQL says so: known at the first run of a textual one). Asked of
        #: the cursor at each run, psycopg builds a description of every column.
        self.gives_rows: bool | None = True if columns else None

    def execute(self, connection: Connection, params: dict) -> DriverResult:
        if len(params) != self.given:  # and a missing one is a KeyError: exactly the statement's values
            raise TypeError(f"expected {self.given} values, got {sorted(params)}")
        merged = {**self.fixed, **params} if self.fixed else params
        values = [process(merged[name]) if process else merged[name]
                  for name, process in zip(self.names, self.processors)]
        sent = tuple(values) if self.positional else dict(zip(self.names, values))
        sql = self.sql
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            if connection._has_events or connection.engine._has_events:
                for listener in connection.dispatch.before_cursor_execute:
                    sql, sent = listener(connection, cursor, sql, sent, None, False)
            cursor.execute(sql, sent, **self.options)
            if connection._has_events or connection.engine._has_events:
                connection.dispatch.after_cursor_execute(connection, cursor, sql, sent, None, False)
            if self.gives_rows is None:
                self.gives_rows = cursor.description is not None
            rows = cursor.fetchall() if self.gives_rows else []
            if rows and self.row is None:  # a textual statement: columns as the driver names them
                self.row = namedtuple("DriverRow", [column[0] for column in cursor.description], rename=True)
                self.results = []
            result = DriverResult([self._row(row) for row in rows], getattr(cursor, "lastrowid", None))
        except BaseException as error:
            if isinstance(error, connection.dialect.loaded_dbapi.Error) or util.is_exit_exception(error):
                connection._handle_dbapi_exception(error, sql, sent, cursor, None)
            raise
        cursor.close()
        return result

    def _row(self, row: tuple) -> tuple:
        if self.results:
            row = list(row)
            for position, process in self.results:
                row[position] = process(row[position])
        return self.row._make(row)


class DriverResult:
    """The rows (named tuples) and last row id a `DriverStatement` gave, read at once."""

    __slots__ = ("rows", "lastrowid")

    def __init__(self, rows: list[tuple], lastrowid: int | None) -> None:
        self.rows, self.lastrowid = rows, lastrowid

    def one_or_none(self) -> Any:
        if len(self.rows) > 1:
            raise exc.MultipleResultsFound("Multiple rows were found when one or none was required")
        return self.rows[0] if self.rows else None

    def one(self) -> Any:
        row = self.one_or_none()
        if row is None:
            raise exc.NoResultFound("No row was found when one was required")
        return row

    def scalar_one(self) -> Any:
        return self.one()[0]

    def all(self) -> list[tuple]:
        return self.rows


_driver: dict[tuple[Executable | Callable, str], DriverStatement] = {}


def run_driver(connection: Connection, statement: Executable | Callable[[str], Executable],
               params: dict) -> DriverResult:
    """Run a statement (or the one `statement(dialect name)` builds) as a `DriverStatement`, made once
    per dialect; an INSERT's columns are the keys of its first `params`, and every later call gives the same."""
    key = (statement, connection.dialect.name)
    driver = _driver.get(key)
    if driver is None:
        made = statement(connection.dialect.name) if callable(statement) else statement
        driver = _driver[key] = DriverStatement(made, connection.dialect, list(params))
    return driver.execute(connection, params)
