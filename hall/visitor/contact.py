"""A walk-in visitor leaves a phone number on their ticket page to be told when their turn is near.

Appointment tickets already have the phone given at booking; a number left on the ticket page
takes its place. The number is shown back masked (`notify_view`), and dropped when the visitor asks.
"""
from __future__ import annotations

from hall.database import begin_write
from hall.extensions import db
from hall.models import Ticket
from hall.queue.errors import Conflict


class NotWaiting(Conflict):
    code = "not_waiting"


def set_notify_phone(ticket: Ticket, phone: str | None) -> Ticket:
    """Store (or, with None, drop) the phone to notify; only while the ticket is still waiting."""
    ticket_id = ticket.id
    begin_write(db.session())
    ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
    if phone is not None and ticket.status != "waiting":
        db.session.rollback()
        raise NotWaiting(f"{ticket.number} is {ticket.status}: there is nothing left to notify")
    ticket.notify_phone = phone
    db.session.commit()
    return ticket
