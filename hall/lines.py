"""Running figures of each line, kept in the transaction of the action that changes them.

A line is the tickets waiting for one stage of a service on one business day. Its row counts
them, so the people ahead of a new ticket come from one row, whatever the length of the queue.
Handling times are kept per service and stage as an exponentially weighted average (and
variance), moved by each finished stage, instead of re-reading recent stages.
"""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import Float, bindparam, case, func, select, update
from sqlalchemy.engine import Connection

from hall import clock
from hall.database import run_driver, upsert, upsert_in
from hall.extensions import db
from hall.models import HandlingTime, LineCount, Ticket

LINE_KEYS = ["hall_id", "business_day", "service_id", "stage_code"]


def _line_of(ticket: Ticket) -> dict:
    return {"hall_id": ticket.hall_id, "business_day": ticket.business_day, "service_id": ticket.service_id,
            "stage_code": ticket.stage_code}


def join_statement(dialect: str):
    """The line's upsert that counts a ticket in, RETURNING the waiting count after it."""
    table = LineCount.__table__
    return upsert_in(dialect, table, {**{k: bindparam(k) for k in LINE_KEYS}, "waiting": 1, "joined": 1}, LINE_KEYS,
                     {"waiting": table.c.waiting + 1, "joined": table.c.joined + 1}).returning(table.c.waiting)


def join_line(connection: Connection, hall_id: int, business_day: date, service_id: int, stage_code: str) -> int:
    """A ticket joins the line; returns how many waited there before it (one statement)."""
    line = {"hall_id": hall_id, "business_day": business_day, "service_id": service_id, "stage_code": stage_code}
    return run_driver(connection, join_statement, line).scalar_one() - 1


def _leave_statement(_dialect: str):
    table = LineCount.__table__
    return (update(table).where(*(table.c[k] == bindparam(f"line_{k}") for k in LINE_KEYS))
            .values(waiting=table.c.waiting - 1))


def leave(ticket: Ticket, connection: Connection | None = None) -> None:
    """The ticket leaves its line (called, cancelled, closed): call before its status or stage changes.
    `ticket` may be a row with the same names; `connection` that of the action (else the session's)."""
    run_driver(connection or db.session.connection(), _leave_statement, {f"line_{k}": v for k, v in _line_of(ticket).items()})


def close_days(hall_id: int, last_day: date) -> None:
    """Nobody waits any more in the lines of closed business days."""
    db.session.execute(update(LineCount).where(LineCount.hall_id == hall_id, LineCount.business_day <= last_day,
                                               LineCount.waiting != 0).values(waiting=0),
                       execution_options={"synchronize_session": False})


def waiting(hall_id: int, business_day: date, service_id: int, stage_code: str) -> int:
    """Tickets waiting in a line now (one statement)."""
    return db.session.scalar(select(LineCount.waiting).where(
        LineCount.hall_id == hall_id, LineCount.business_day == business_day, LineCount.service_id == service_id,
        LineCount.stage_code == stage_code)) or 0


def waiting_per_service():
    """Tickets waiting for each service of the hall `hall_id` on `business_day` (bound values), whichever
    stage they wait for, from the lines' rows (a subquery of service_id, waiting): as many rows to read as
    the hall has lines."""
    return (select(LineCount.service_id, func.sum(LineCount.waiting).label("waiting"))
            .where(LineCount.hall_id == bindparam("hall_id"), LineCount.business_day == bindparam("business_day"))
            .group_by(LineCount.service_id).subquery("line_waiting"))


def record_handling(service_id: int, stage_code: str, seconds: float,
                    connection: Connection | None = None) -> None:
    """Move the weighted handling time of a stage by one finished stage (one statement): the first
    stages are averaged plainly (a new stage learns fast), later ones with the configured weight.
    `connection`: the action's (else the session's)."""
    alpha = float(current_app.config["HALL"]["queue"]["estimate_alpha"])
    run_driver(connection or db.session.connection(), _handling_statement, {
        "service_id": service_id, "stage_code": stage_code, "seconds": seconds, "alpha": alpha,
        "plain_samples": 1 / alpha, "at": clock.utcnow()})


def _handling_statement(dialect: str):
    table = HandlingTime.__table__
    seconds, alpha = bindparam("seconds", type_=Float), bindparam("alpha", type_=Float)
    row = {"service_id": bindparam("service_id"), "stage_code": bindparam("stage_code"), "average_s": seconds,
           "variance_s2": 0.0, "samples": 1, "updated_at": bindparam("at")}
    gap = seconds - table.c.average_s  # SET sees the row as it was
    # a plain average of the first 1/alpha stages, then exponentially weighted
    weight = case((table.c.samples + 1 < bindparam("plain_samples", type_=Float), 1.0 / (table.c.samples + 1)),
                  else_=alpha)
    return upsert_in(dialect, table, row, ["service_id", "stage_code"], {
        "average_s": table.c.average_s + weight * gap,
        "variance_s2": (1 - weight) * (table.c.variance_s2 + weight * gap * gap),
        "samples": table.c.samples + 1, "updated_at": row["updated_at"]})


def handling(service_id: int, stage_code: str) -> HandlingTime | None:
    """The weighted handling time of a stage, or None before its first finished stage."""
    return db.session.get(HandlingTime, (service_id, stage_code))


def recount(hall_id: int, business_day: date) -> None:
    """Rebuild the waiting counts of a hall's lines of one day from the tickets (repair, bulk loads)."""
    counts = db.session.execute(
        select(Ticket.service_id, Ticket.stage_code, func.count())
        .where(Ticket.hall_id == hall_id, Ticket.business_day == business_day, Ticket.status == "waiting")
        .group_by(Ticket.service_id, Ticket.stage_code)).all()
    db.session.execute(update(LineCount).where(LineCount.hall_id == hall_id, LineCount.business_day == business_day)
                       .values(waiting=0), execution_options={"synchronize_session": False})
    for service_id, stage_code, count in counts:
        line = {"hall_id": hall_id, "business_day": business_day, "service_id": service_id, "stage_code": stage_code}
        db.session.execute(upsert(db.session, LineCount, {**line, "waiting": count, "joined": count}, LINE_KEYS,
                                  {"waiting": count}))
