"""Statements sent as driver SQL (hall.database.run_driver) write what SQLAlchemy would write, are seen
by the engine's events like any other, and refuse a set of values that is not exactly theirs."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import event, insert, select

from hall import lines
from hall.database import begin_write, run_driver
from hall.extensions import db
from hall.models import LineCount, Service, TicketEvent


@pytest.fixture
def app(any_app):
    return any_app


def test_a_driver_statement_writes_values_as_sqlalchemy_does(app, demo):
    at = datetime(2026, 11, 30, 9, 15, 30, 123456)
    row = dict(hall_id=demo.id, seq=990, ticket_id=None, kind="issued", at=at, counter_id=None, staff_id=None,
               data={"priority": "normal", "name": "张三", "estimated_wait_s": 30})
    service_a = db.session.scalar(select(Service.id).where(Service.hall_id == demo.id, Service.prefix == "A"))
    sent = []
    engine = db.engine
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
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
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert counts == [1, 2, 3]  # the upsert's own constants (1, +1) went with it
    assert sum("INSERT INTO ticket_events" in sql for sql in sent) == 3  # counted like any statement
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
