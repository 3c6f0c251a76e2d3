"""Stage rows of a case and the counter's hold on its current ticket."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection

from hall import lines
from hall.database import run_driver
from hall.models import Counter, Stage, Ticket
from hall.queue.rows import write


def current_stage(ticket: Ticket) -> Stage:
    return ticket.stages[-1]


#: The current (last) stage of a ticket marked called, by the ticket's id.
_MARK_CALLED = update(Stage).where(
    Stage.id == select(func.max(Stage.id)).where(Stage.ticket_id == bindparam("ticket")).scalar_subquery()
).values(called_at=bindparam("called_at"), counter_id=bindparam("counter_id"), staff_id=bindparam("staff_id"))


def mark_called_by_id(connection: Connection, ticket_id: int, counter_id: int, staff_id: int | None,
                      now: datetime) -> None:
    """Mark the current stage of a ticket called, in one statement."""
    run_driver(connection, _MARK_CALLED, {"called_at": now, "counter_id": counter_id, "staff_id": staff_id,
                                          "ticket": ticket_id})


def close_stage(ticket: Ticket, outcome: str, now: datetime, *, finished: bool = True,
                notice: dict | None = None) -> Stage:
    stage = current_stage(ticket)
    values, handled_s = closing(stage, outcome, now, finished=finished, notice=notice)
    write(stage, **values)
    if handled_s is not None:
        lines.record_handling(stage.service_id, stage.code, handled_s)
    return stage


def closing(stage: Any, outcome: str, now: datetime, *, finished: bool,
            notice: dict | None) -> tuple[dict[str, Any], float | None]:
    """What closing a stage (an object or a row) writes, and the handling seconds it records (None: none:
    a stage left unfinished, or transferred)."""
    if not finished:
        return {"outcome": outcome, "notice": notice}, None
    started = stage.started_at or stage.called_at or now
    values = {"outcome": outcome, "notice": notice, "started_at": started, "finished_at": now}
    return values, None if outcome == "transferred" else (now - started).total_seconds()


def release_counter(counter: Counter, ticket: Ticket) -> None:
    if counter.current_ticket_id == ticket.id:
        write(counter, current_ticket_id=None)
