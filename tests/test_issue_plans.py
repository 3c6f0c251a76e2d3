"""What an issue costs the PostgreSQL server: the hall's lock keeps one plan per connection; the
issue's statements are prepared at their first run on a connection and stay prepared; the real-name
limit's count reads one day's appointments.

PostgreSQL plans a statement it runs again and again on a connection (a prepared statement, or one in a
PL/pgSQL function such as the real-name issue's) once in general, unless a plan for the values at hand
looks cheaper than that one: then it plans it again at every run (about half a millisecond of the
server's CPU for the issue's statements). The hall's lock once looked up the idempotency key, which an
issue without a key lets the planner fold away, so the real-name function's lock was planned at every call.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import literal_column, select, text

from hall.database import run_driver
from hall.extensions import db
from hall.models import Hall, Service
from hall import estimate
from hall.queue import one_statement, realname

pytestmark = pytest.mark.postgres

RUNS = 12


def _plans_of(statement: str, values: dict) -> tuple[int, int]:
    """(generic plans, custom plans) PostgreSQL made for `statement` prepared and run RUNS times on one
    connection, in a transaction rolled back after."""
    names = re.findall(r"(?<![:\w]):(\w+)", statement)
    driver_sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement)
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            for _ in range(RUNS):
                cursor.execute(driver_sql, {name: values[name] for name in names}, prepare=True)
                assert cursor.fetchone() is not None, "the lock locked nothing"
            cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                           " WHERE statement LIKE 'UPDATE halls%'")
            return cursor.fetchone()
    finally:
        connection.rollback()
        connection.close()


def test_the_halls_lock_is_planned_once_per_connection_not_at_every_issue(pg_demo):
    hall = db.session.execute(select(Hall.__table__).where(Hall.id == pg_demo.id)).one()
    values = {"hall_id": hall.id, "idempotency_key": None,
              **{f"hall_{name}": getattr(hall, name) for name in one_statement.CHECKED}}
    generic, custom = _plans_of(one_statement.LOCK, values)
    # PostgreSQL always makes 5 custom plans before it weighs a generic one.
    assert custom <= 5 and generic >= RUNS - 5, (
        f"{custom} of {RUNS} runs of the hall's lock were planned for their values ({generic} ran the cached plan)")


def test_the_issues_writes_read_the_tickets_returning_not_the_number_and_line_joined_again(pg_demo):
    """The stage, the event and the returned row take the number's seq and issue time and the line's estimate
    from the ticket's RETURNING: each join of the statement's rows is a node PostgreSQL sets up at every run
    (eight joins before: the event joined the hall, the ticket, the number and the line again)."""
    hall = db.session.execute(select(Hall.__table__).where(Hall.id == pg_demo.id)).one()
    service = db.session.execute(select(Service.id).where(Service.hall_id == pg_demo.id, Service.prefix == "A")).one()
    issue = one_statement.Issue(hall_id=hall.id, day=date(2026, 3, 2), now=datetime(2026, 3, 2, 9), head_start=timedelta(0),
                                prefix="A", service_id=service.id, stage_code="main", token="plan-of-the-issue",
                                channel="kiosk", idempotency_key=None, staff_id=None, expected_ahead=0, estimates=(60,),
                                data={})
    values = {**issue.params(), **one_statement.checked(hall), "data": "{}", "estimates": [60]}
    statement = one_statement._ISSUE.text
    driver_sql = re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", statement)
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {driver_sql}", values)
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        connection.rollback()
        connection.close()
    assert plan.count("Nested Loop") == 4, plan


def _prepared_on(dbapi_connection) -> list[str]:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements", prepare=False)
        return [row[0] for row in cursor.fetchall()]


def test_the_issues_statements_are_prepared_at_their_first_run_and_stay_through_rollbacks(pg_app):
    """psycopg prepares a statement at its sixth run on a connection and forgot them all at every rollback,
    which ends each read-only transaction (a background read of the pictures took a warm connection and
    left it cold): the issue's statements were parsed and planned again on a third to a half of the issues.
    """
    statement = text("SELECT CAST(:n AS integer) + 1 AS m")
    with db.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        connection.execute(text("SELECT 1"))  # a read in a transaction, as a background reader's
        assert run_driver(connection, statement, {"n": 1}).scalar_one() == 2
        assert any("+ 1 AS m" in sql for sql in _prepared_on(raw)), "not prepared at its first run"
        connection.rollback()
        assert any("+ 1 AS m" in sql for sql in _prepared_on(raw)), "a rollback dropped it"
        connection.execute(text("SELECT 1"))  # and left open: the pool rolls it back when it is returned
    with db.engine.connect() as connection:
        assert connection.connection.dbapi_connection is raw  # the pool hands out the last returned first
        assert any("+ 1 AS m" in sql for sql in _prepared_on(raw)), "the pool's rollback dropped it"
        assert run_driver(connection, statement, {"n": 2}).scalar_one() == 3


def test_the_daily_limits_count_reads_one_days_appointments_of_the_service_not_all(pg_demo):
    """The real-name limit's count runs under the hall's lock: with a year of appointments booked it must
    not read them all (18 ms at 60 000 without the index), nor all of a busy day's tickets."""
    service = db.session.execute(select(Service.id, Service.hall_id).where(Service.hall_id == pg_demo.id,
                                                                           Service.prefix == "C")).one()
    db.session.execute(text(
        "INSERT INTO appointments (hall_id, service_id, day, slot_at, visitor_name, phone, code, status, created_at,"
        " id_hash) SELECT :hall_id, :service_id, DATE '2026-01-01' + g / 20, TIME '09:00', 'v', '1', 'c' || g,"
        " 'checked_in', now(), md5(g::text) FROM generate_series(1, 5000) g"),
        {"hall_id": service.hall_id, "service_id": service.id})
    db.session.execute(text(  # a busy day: one ticket in 50 is a real-name one
        "INSERT INTO tickets (hall_id, service_id, business_day, seq, number, token, priority, channel, status,"
        " stage_position, stage_code, issued_at, queued_at, sort_at, recall_count, id_hash)"
        " SELECT :hall_id, :service_id, DATE '2026-03-02', g, 'C' || g, 'plans' || g, 'normal', 'kiosk', 'waiting', 0,"
        " 'main', now(), now(), now(), 0, CASE WHEN g % 50 = 0 THEN md5(g::text) END FROM generate_series(1, 5000) g"),
        {"hall_id": service.hall_id, "service_id": service.id})
    db.session.execute(text("ANALYZE appointments"))
    db.session.execute(text("ANALYZE tickets"))
    count = select(realname.taken_count(*(literal_column(f"${n}") for n in range(1, 5))))  # as the function's body
    sql = str(count.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))  # as the function's cached plan
    db.session.execute(text(f"PREPARE taken(integer, date, varchar, integer) AS {sql}"))
    plan = "\n".join(db.session.scalars(text(  # a utility statement takes no bound values: all known here
        f"EXPLAIN EXECUTE taken({service.hall_id}, DATE '2026-03-02', '{'0' * 64}', {service.id})")))
    db.session.execute(text("DEALLOCATE taken"))
    db.session.rollback()
    assert "Seq Scan on appointments" not in plan, plan
    # ix_tickets_identity holds real-name tickets only (id_hash IS NOT NULL, which `id_hash = $3` implies)
    assert "ix_tickets_identity" in plan, plan


def test_normal_tickets_are_not_in_the_priority_index_and_the_estimate_reads_it_in_any_plan(pg_demo):
    """ix_tickets_priority serves one read, the estimate's arrival rates of a day's priority tickets: a
    normal ticket (most issues) adds no entry to it, and the picture's statement reads it with its generic
    plan too (its condition is the index's own, not values bound at each run)."""
    service = db.session.execute(select(Service.id).where(Service.hall_id == pg_demo.id, Service.prefix == "A")).one()
    definition = db.session.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_tickets_priority'"))
    assert "WHERE ((priority)::text <> 'normal'::text)" in definition, definition
    db.session.execute(text(  # a busy day: one ticket in 100 is a priority one
        "INSERT INTO tickets (hall_id, service_id, business_day, seq, number, token, priority, channel, status,"
        " stage_position, stage_code, issued_at, queued_at, sort_at, recall_count)"
        " SELECT :hall_id, :service_id, DATE '2026-03-02', g, 'A' || g, 'prio' || g,"
        " CASE WHEN g % 100 = 0 THEN 'vip' ELSE 'normal' END, 'kiosk', 'waiting', 0, 'main', now(), now(), now(), 0"
        " FROM generate_series(1, 5000) g"), {"hall_id": pg_demo.id, "service_id": service.id})
    db.session.execute(text("ANALYZE tickets"))
    picture = estimate._picture_statement("postgresql")
    sql = str(picture.compile(dialect=db.engine.dialect)).replace("%(hall_ids)s", "$1").replace("%(days)s", "$2")
    db.session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
    db.session.execute(text(f"PREPARE picture(integer[], date[]) AS {sql}"))
    plan = "\n".join(db.session.scalars(text(f"EXPLAIN EXECUTE picture('{{{pg_demo.id}}}', '{{2026-03-02}}')")))
    db.session.execute(text("DEALLOCATE picture"))
    db.session.rollback()
    assert "ix_tickets_priority" in plan and "Seq Scan on tickets" not in plan, plan


def test_the_pictures_read_is_planned_once_per_connection_not_at_every_read(pg_demo):
    """A plan for the values at hand always looked cheaper to PostgreSQL than the picture statement's generic
    one, so each read (a server's estimate inputs, a visitor's page) was planned again: ~0.55 ms of CPU."""
    days = {pg_demo.id: date(2026, 3, 2)}
    for _ in range(RUNS):
        estimate._read_rows(days)
    plans = db.session.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                                    " WHERE statement LIKE '%''lines'' AS kind%'")).one_or_none()
    setting = db.session.scalar(text("SHOW plan_cache_mode"))
    db.session.rollback()
    assert plans is not None, "the picture's statement was not prepared"
    assert plans.custom_plans == 0 and plans.generic_plans >= RUNS - 5, plans
    assert setting == "auto", "the read left the transaction's plan_cache_mode changed"
