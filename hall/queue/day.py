"""Business-day close: tickets left open are closed as not served and stay in the history."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from hall import lines
from hall.extensions import db
from hall.models import OPEN_STATUSES, Counter, Hall, Ticket
from hall.queue.rules import today
from hall.queue.stages import close_stage
from hall.queue.unit import hall_action


def close_business_day(hall_id: int, day: date | None = None, *, only_if_open: bool = False) -> dict[str, Any] | None:
    """Close every open ticket of `day` and earlier (default: days before today).

    With `only_if_open`, nothing happens (None) when no ticket is left open, e.g. because
    another server process's round closed the day first.
    """
    with hall_action(hall_id) as action:
        last_day = day if day is not None else today(action.hall, action.now) - timedelta(days=1)
        tickets = db.session.scalars(select(Ticket).where(
            Ticket.hall_id == hall_id, Ticket.business_day <= last_day, Ticket.status.in_(OPEN_STATUSES))).all()
        if only_if_open and not tickets:
            return None
        for ticket in tickets:
            close_stage(ticket, "not_served", action.now, finished=False)
            ticket.status, ticket.closed_at = "not_served", action.now
            action.log("not_served", ticket_id=ticket.id)
        lines.close_days(hall_id, last_day)
        held = {t.id for t in tickets}
        for counter in db.session.scalars(select(Counter).where(Counter.hall_id == hall_id,
                                                                Counter.current_ticket_id.in_(held))):
            counter.current_ticket_id = None
        action.log("day_closed", day=last_day.isoformat(), not_served=len(tickets))
        return action.publish("day_closed", day=last_day.isoformat(), not_served=len(tickets))


def close_stale_days(hall: Hall) -> dict[str, Any] | None:
    """Close past business days once the hall's reset time has passed (run periodically)."""
    stale = db.session.scalar(select(Ticket.id).where(
        Ticket.hall_id == hall.id, Ticket.business_day < today(hall), Ticket.status.in_(OPEN_STATUSES)).limit(1))
    db.session.commit()
    return None if stale is None else close_business_day(hall.id, only_if_open=True)
