"""Statements sent as driver SQL on the DBAPI cursor (hall.database.run_driver) write and read what
SQLAlchemy would, are seen by the engine's events like any other, fail as SQLAlchemy's errors (a dead
connection or a locked database is the outage answer), and refuse a set of values that is not exactly theirs."""
from __future__ import annotations

import sqlite3
from datetime import date, datetime, time

import pytest
from sqlalchemy import bindparam, event, exc, insert, select, text

from hall import lines
from hall.database import begin_write, run_driver
from hall.extensions import db
from hall.models import Hall, LineCount, Service, TicketEvent
from hall.queue import issue_ticket
from hall.queue.tickets import _sequence_statement
from hall.queue.unit import PLAIN_HALL_COLUMNS
from hall.unavailable import is_unavailable


@pytest.fixture
def app(any_app):
    return any_app


def test_a_driver_statement_writes_values_as_sqlalchemy_does(app, demo):
    at = datetime(2026, 11, 30, 9, 15, 30, 123456)
    row = dict(hall_id=demo.id, seq=990, ticket_id=None, kind="issued", at=at, counter_id=None, staff_id=None,
               data={"priority": "normal", "name": "张三", "estimated_wait_s": 30})
    service_a = db.session.scalar(select(Service.id).where(Service.hall_id == demo.id, Service.prefix == "A"))
    sent, after = [], []
    engine = db.engine
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    # the statement counts read the driver's cursor (its connection's autocommit)
    after_listener = lambda _conn, cursor, statement, *_: after.append((statement, cursor.connection))  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    event.listen(engine, "after_cursor_execute", after_listener)
    try:
        begin_write(db.session())
        connection = db.session.connection()
        run_driver(connection, insert(TicketEvent.__table__), row)  # a new statement object: built here
        statement = insert(TicketEvent.__table__)
        for seq in (991, 992):
            run_driver(connection, statement, {**row, "seq": seq})
        line = {"hall_id": demo.id, "business_day": date(2026, 11, 30), "service_id": service_a,
                "stage_code": "Z"}
        counts = [run_driver(connection, lines.join_statement, line).scalar_one() for _ in range(3)]
        dbapi_connection = connection.connection.dbapi_connection
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        event.remove(engine, "after_cursor_execute", after_listener)

    assert counts == [1, 2, 3]  # the upsert's own constants (1, +1) went with it
    assert sum("INSERT INTO ticket_events" in sql for sql in sent) == 3  # counted like any statement
    assert [sql for sql, _ in after] == sent and {on for _, on in after} == {dbapi_connection}
    logged = db.session.scalars(select(TicketEvent).where(TicketEvent.hall_id == demo.id, TicketEvent.seq >= 990)
                                .order_by(TicketEvent.seq)).all()
    assert [(e.seq, e.at, e.data, e.ticket_id) for e in logged] == [(seq, at, row["data"], None) for seq in (990, 991, 992)]
    assert db.session.scalar(select(LineCount.joined).where(LineCount.stage_code == "Z")) == 3


def test_a_driver_statement_takes_exactly_its_values(app, demo):
    statement = insert(TicketEvent.__table__)
    row = dict(hall_id=demo.id, seq=995, ticket_id=None, kind="issued", at=datetime(2026, 11, 30), counter_id=None,
               staff_id=None, data={})
    begin_write(db.session())
    connection = db.session.connection()
    run_driver(connection, statement, row)
    with pytest.raises(TypeError):  # a column more would be left out silently
        run_driver(connection, statement, {**row, "seq": 996, "extra": 1})
    with pytest.raises(KeyError):  # another column than the statement's
        run_driver(connection, statement, {**{k: v for k, v in row.items() if k != "staff_id"}, "extra": 1})
    db.session.rollback()


def test_a_driver_statement_reads_rows_as_sqlalchemy_does(app, demo):
    """Times, datetimes (µs) and booleans come back as the ORM reads them (on SQLite they are text and
    integers to the driver), as named tuples."""
    table = Hall.__table__
    hall = select(*(table.c[name] for name in PLAIN_HALL_COLUMNS)).where(table.c.id == bindparam("hall"))
    at = datetime(2026, 11, 30, 9, 15, 30, 123456)
    number = {"hall_id": demo.id, "business_day": date(2026, 11, 30), "prefix": "Q", "issued_at": at}
    connection = begin_write(db.session())
    by_sqlalchemy = connection.execute(hall, {"hall": demo.id}).one()
    by_driver = run_driver(connection, hall, {"hall": demo.id}).one()
    first = connection.execute(_sequence_statement(connection.dialect.name), number).one()
    second = run_driver(connection, _sequence_statement, number).one()
    db.session.rollback()

    assert tuple(by_driver) == tuple(by_sqlalchemy) and by_driver.reset_at == time(3, 0)
    assert [type(value) for value in by_driver] == [type(value) for value in by_sqlalchemy]
    assert by_driver.active is True and by_driver.slug == "demo"
    assert (first.last, second.last) == (1, 2) and first.last_issued_at == second.last_issued_at == at
    assert run_driver(db.session.connection(), hall, {"hall": -1}).one_or_none() is None


def test_whether_a_statement_gives_rows_is_learnt_at_its_first_run(app, demo):
    """A textual statement's rows (or none) read as the driver names them; whether it gives any is asked of
    the cursor once, at its first run (psycopg describes every column at each asking), and a statement
    giving no rows at one run gives an empty result."""
    from hall.database import _driver
    returning = text("UPDATE halls SET event_seq = event_seq WHERE id = :hall RETURNING id, slug")
    plain = text("UPDATE halls SET event_seq = event_seq WHERE id = :hall")
    connection = begin_write(db.session())
    given = [run_driver(connection, returning, {"hall": hall}).all() for hall in (demo.id, -1, demo.id)]
    written = [run_driver(connection, plain, {"hall": demo.id}).all() for _ in range(2)]
    db.session.rollback()
    assert [[tuple(row) for row in rows] for rows in given] == [[(demo.id, "demo")], [], [(demo.id, "demo")]]
    assert given[0][0].slug == "demo" and written == [[], []]
    dialect = db.engine.dialect.name
    assert _driver[(returning, dialect)].gives_rows is True and _driver[(plain, dialect)].gives_rows is False
    columns = select(Hall.__table__.c.id).where(Hall.__table__.c.id == bindparam("hall"))
    run_driver(db.session.connection(), columns, {"hall": demo.id})
    assert _driver[(columns, dialect)].gives_rows is True  # known from its columns before it runs
    db.session.rollback()


@pytest.mark.parametrize("any_app", ["sqlite"], indirect=True)  # PostgreSQL: the test below
def test_a_locked_sqlite_database_under_a_driver_statement_is_the_outage(app, demo):
    """SQLite's write lock held by another process past the busy timeout: SQLAlchemy's OperationalError,
    which the app answers with a 503; a wrong statement is SQLAlchemy's error too, and no outage."""
    other = sqlite3.connect(db.engine.url.database, isolation_level=None)
    db.session.execute(select(Hall.id))  # a reading transaction: not the write lock
    connection = db.session.connection()
    connection.exec_driver_sql("PRAGMA busy_timeout=0")
    other.execute("BEGIN IMMEDIATE")
    event_row = dict(hall_id=demo.id, seq=997, ticket_id=None, kind="held", at=datetime(2026, 11, 30),
                     counter_id=None, staff_id=None, data={})
    try:
        with pytest.raises(exc.OperationalError) as locked:
            run_driver(connection, insert(TicketEvent.__table__), event_row)
    finally:
        other.rollback()
        other.close()
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(app.config['HALL']['database']['sqlite_busy_timeout_s'] * 1000)}")
    assert is_unavailable(locked.value)
    db.session.rollback()

    connection = begin_write(db.session())
    line = {"hall_id": demo.id, "business_day": date(2026, 11, 30), "service_id": 1, "stage_code": "Z",
            "waiting": 1, "joined": 1}
    with pytest.raises(exc.IntegrityError) as wrong:  # the same line twice
        for _ in range(2):
            run_driver(connection, insert(LineCount.__table__), line)
    assert not is_unavailable(wrong.value)
    db.session.rollback()


@pytest.mark.postgres
def test_a_connection_that_dies_under_a_driver_statement_is_the_outage_and_replaced(pg_app, pg_demo):
    """The server ends the session's connection mid-transaction: the driver statement raises SQLAlchemy's
    error marked as a lost connection (the outage answer), the connection is dropped from the pool, and
    the next action gets a fresh one."""
    connection = begin_write(db.session())
    pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(exc.DBAPIError) as lost:
        run_driver(connection, lines.join_statement, {"hall_id": pg_demo.id, "business_day": date(2026, 11, 30),
                                                      "service_id": 1, "stage_code": "Z"})
    assert lost.value.connection_invalidated and is_unavailable(lost.value) and connection.invalidated
    db.session.rollback()

    assert issue_ticket(pg_demo.id, "A")["number"] == "A001"
    assert db.session.connection().exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
    db.session.rollback()
