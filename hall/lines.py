"""Running figures of each line, kept in the transaction of the action that changes them.

A line is the tickets waiting for one stage of a service on one business day. Its row counts
them, so people ahead and the wait estimate of a new ticket come from one row, whatever the
length of the queue. Handling times are kept per service and stage as an exponentially weighted
average (and variance), moved by each finished stage, instead of re-reading recent stages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import Float, Integer, column, func, select, text, update

from hall import clock
from hall.database import upsert
from hall.extensions import db
from hall.models import HandlingTime, LineCount, Ticket

LINE_KEYS = ["hall_id", "business_day", "service_id", "stage_code"]


@dataclass(frozen=True)
class Figures:
    """What the estimate of a line needs, read in one statement."""

    #: Tickets waiting in the line (for `join`: before the ticket that joined).
    waiting: int
    #: Weighted handling time of the stage; None before its first finished stage.
    handling_s: float | None
    #: Open counters that serve the stage.
    counters: int


#: The estimate's inputs of a stage as SQL scalars: its weighted handling time and the open counters
#: that serve it (a counter's link without a stage list, JSON null, serves every stage). Written out
#: with qualified names because SQLite renders RETURNING columns without their table.
_HANDLING = text("SELECT h.average_s FROM handling_times h WHERE h.service_id = :service AND h.stage_code = :stage")
_COUNTERS = text(
    "SELECT count(*) FROM counter_services cs JOIN counters c ON c.id = cs.counter_id"
    " WHERE cs.service_id = :service AND c.status = 'open' AND (cs.stages IS NULL"
    " OR CAST(cs.stages AS TEXT) = 'null' OR CAST(cs.stages AS TEXT) LIKE :listed)")


def _estimate_inputs(service_id: int, stage_code: str) -> tuple:
    values = {"service": service_id, "stage": stage_code, "listed": f'%"{stage_code}"%'}
    return (_HANDLING.bindparams(**{k: values[k] for k in ("service", "stage")})
            .columns(column("average_s", Float)).scalar_subquery(),
            _COUNTERS.bindparams(**{k: values[k] for k in ("service", "listed")})
            .columns(column("counters", Integer)).scalar_subquery())


def _line_of(ticket: Ticket) -> dict:
    return {"hall_id": ticket.hall_id, "business_day": ticket.business_day, "service_id": ticket.service_id,
            "stage_code": ticket.stage_code}


def join(ticket: Ticket) -> Figures:
    """The ticket joins its line; returns the line's figures as they were before (one statement)."""
    statement = upsert(db.session, LineCount, {**_line_of(ticket), "waiting": 1, "joined": 1}, LINE_KEYS,
                       {"waiting": LineCount.waiting + 1, "joined": LineCount.joined + 1})
    row = db.session.execute(statement.returning(
        LineCount.waiting, *_estimate_inputs(ticket.service_id, ticket.stage_code))).one()
    return Figures(row[0] - 1, row[1], row[2])


def leave(ticket: Ticket) -> None:
    """The ticket leaves its line (called, cancelled, closed): call before its status or stage changes."""
    line = _line_of(ticket)
    db.session.execute(update(LineCount).where(*(getattr(LineCount, k) == v for k, v in line.items()))
                       .values(waiting=LineCount.waiting - 1), execution_options={"synchronize_session": False})


def close_days(hall_id: int, last_day: date) -> None:
    """Nobody waits any more in the lines of closed business days."""
    db.session.execute(update(LineCount).where(LineCount.hall_id == hall_id, LineCount.business_day <= last_day,
                                               LineCount.waiting != 0).values(waiting=0),
                       execution_options={"synchronize_session": False})


def figures(hall_id: int, business_day: date, service_id: int, stage_code: str) -> Figures:
    """A line's figures now (one statement)."""
    kept = select(LineCount.waiting).where(
        LineCount.hall_id == hall_id, LineCount.business_day == business_day, LineCount.service_id == service_id,
        LineCount.stage_code == stage_code).scalar_subquery()
    row = db.session.execute(select(kept, *_estimate_inputs(service_id, stage_code))).one()
    return Figures(row[0] or 0, row[1], row[2])


def waiting(hall_id: int, business_day: date, service_id: int, stage_code: str) -> int:
    return figures(hall_id, business_day, service_id, stage_code).waiting


def record_handling(service_id: int, stage_code: str, seconds: float) -> None:
    """Move the weighted handling time of a stage by one finished stage (one statement)."""
    settings = current_app.config["HALL"]["queue"]
    alpha, first = float(settings["estimate_alpha"]), float(settings["default_handling_s"])
    gap = seconds - first
    row = {"service_id": service_id, "stage_code": stage_code, "average_s": first + alpha * gap,
           "variance_s2": (1 - alpha) * alpha * gap * gap, "samples": 1, "updated_at": clock.utcnow()}
    gap = seconds - HandlingTime.average_s  # SET sees the row as it was
    db.session.execute(upsert(db.session, HandlingTime, row, ["service_id", "stage_code"], {
        "average_s": HandlingTime.average_s + alpha * gap,
        "variance_s2": (1 - alpha) * (HandlingTime.variance_s2 + alpha * gap * gap),
        "samples": HandlingTime.samples + 1, "updated_at": row["updated_at"]}))


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
