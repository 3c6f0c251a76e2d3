"""Issuing and cancelling tickets."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from hall import lines
from hall.database import upsert
from hall.estimate import Estimate, estimate_ticket, people_ahead, people_ahead_on_joining
from hall.extensions import db
from hall.models import CHANNELS, PRIORITIES, Hall, Service, Stage, Ticket, TicketSequence
from hall.queue.errors import Conflict, QueueError, ServiceClosed
from hall.queue.lookup import service_by_prefix
from hall.queue.realname import Identity, admit
from hall.queue.rules import closed_reason, sort_key, today
from hall.queue.stages import close_stage, release_counter
from hall.queue.unit import Action, hall_action
from hall.queue.views import ticket_view


def _next_sequence(hall_id: int, day, prefix: str) -> int:
    """Atomically take the next number of a prefix for a day (upsert … RETURNING)."""
    statement = upsert(db.session, TicketSequence, {"hall_id": hall_id, "business_day": day, "prefix": prefix,
                                                    "last": 1}, ["hall_id", "business_day", "prefix"],
                       {"last": TicketSequence.last + 1})
    return db.session.execute(statement.returning(TicketSequence.last)).scalar_one()


def issued_view(ticket: Ticket, ahead: int | None = None) -> dict[str, Any]:
    """A ticket as the kiosk, the API and the printer show it right after issue."""
    ahead = people_ahead(ticket) if ahead is None else ahead
    return _with_estimate(ticket, ahead, estimate_ticket(ticket, ahead))


def _with_estimate(ticket: Ticket, ahead: int, estimate: Estimate) -> dict[str, Any]:
    return {**ticket_view(ticket), "people_ahead": ahead, "estimated_wait_s": estimate.wait_s,
            "estimated_wait_range_s": estimate.range_s}


def find_by_idempotency_key(hall_id: int, key: str) -> Ticket | None:
    return db.session.scalar(select(Ticket).where(Ticket.hall_id == hall_id, Ticket.idempotency_key == key))


def issue_ticket(hall: int | str, service_prefix: str, *, priority: str = "normal", channel: str = "kiosk",
                 idempotency_key: str | None = None, appointment_id: int | None = None,
                 staff_id: int | None = None, id_number: str | None = None,
                 authorise: Callable[[Hall], None] | None = None) -> dict[str, Any]:
    """Issue the next number of a service; the same idempotency key returns the same ticket.

    `id_number` is the visitor's resident ID on real-name services (checked against the daily limit).

    `hall` is an id or an active hall's slug; `authorise` (raising to refuse) sees the hall
    read in the action's own transaction, so a request needs no other.
    """
    if priority not in PRIORITIES:
        raise QueueError(f"priority must be one of {', '.join(PRIORITIES)}")
    if channel not in CHANNELS:
        raise QueueError(f"channel must be one of {', '.join(CHANNELS)}")
    with hall_action(hall) as action:
        if authorise:
            authorise(action.hall)
        hall_id = action.hall.id
        if idempotency_key and (existing := find_by_idempotency_key(hall_id, idempotency_key)):
            return {**issued_view(existing), "repeated": True}
        service = service_by_prefix(hall_id, service_prefix)
        if reason := closed_reason(service, action.hall, action.now):  # counts only up to a daily capacity
            raise ServiceClosed(f"service {service.prefix} is closed ({reason})", reason=reason)
        identity = admit(service, today(action.hall, action.now), id_number)
        _, view = add_ticket(action, service, priority=priority, channel=channel, idempotency_key=idempotency_key,
                             appointment_id=appointment_id, staff_id=staff_id, identity=identity)
    return view


def add_ticket(action: Action, service: Service, *, priority: str, channel: str, idempotency_key: str | None = None,
               appointment_id: int | None = None, staff_id: int | None = None,
               identity: Identity | None = None) -> tuple[Ticket, dict[str, Any]]:
    """Inside a running action: put a new ticket in the first line of `service`, log and publish "issued"."""
    if not service.stages:
        raise Conflict(f"service {service.prefix} has no stages")
    hall_id = action.hall.id
    day = today(action.hall, action.now)
    seq = _next_sequence(hall_id, day, service.prefix)
    first = service.stages[0]
    ticket = Ticket(
        hall_id=hall_id, service_id=service.id, service=service, business_day=day, seq=seq,
        number=f"{service.prefix}{seq:03d}", token=secrets.token_urlsafe(16), priority=priority, channel=channel,
        status="waiting", stage_position=0, stage_code=first.code, issued_at=action.now, queued_at=action.now,
        sort_at=sort_key(action.now, priority), idempotency_key=idempotency_key, appointment_id=appointment_id,
        id_hash=identity.hash if identity else None, id_masked=identity.masked if identity else None,
    )
    figures = lines.join(ticket)  # before the ticket is in the session, so that it is written once, complete
    if ticket.sort_at < ticket.queued_at:  # a head start is counted, and the count's tie-break needs the id
        db.session.add(ticket)
        db.session.flush()
    ahead = people_ahead_on_joining(ticket, figures.waiting)
    estimate = estimate_ticket(ticket, ahead)
    ticket.estimated_wait_s = estimate.wait_s
    db.session.add(ticket)
    db.session.flush()
    db.session.add(Stage(ticket_id=ticket.id, hall_id=hall_id, business_day=day, service_id=service.id,
                         position=0, code=first.code, queued_at=action.now))
    view = _with_estimate(ticket, ahead, estimate)
    action.log("issued", ticket_id=ticket.id, staff_id=staff_id, priority=priority, channel=channel,
               estimated_wait_s=ticket.estimated_wait_s)
    action.publish("issued", ticket=view)
    return ticket, view


def cancel_ticket(hall_id: int, ticket_id: int, *, staff_id: int | None = None) -> dict[str, Any]:
    """The visitor (or staff) gives up a ticket that is waiting or called."""
    with hall_action(hall_id) as action:
        ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
        if ticket is None or ticket.hall_id != hall_id:
            raise Conflict("unknown ticket")
        if ticket.status not in ("waiting", "called"):
            raise Conflict(f"{ticket.number} is {ticket.status} and cannot be cancelled")
        counter = ticket.counter if ticket.status == "called" else None
        if ticket.status == "waiting":
            lines.leave(ticket)
        close_stage(ticket, "cancelled", action.now, finished=False)
        ticket.status, ticket.closed_at = "cancelled", action.now
        if counter:
            release_counter(counter, ticket)
        action.log("cancelled", ticket_id=ticket.id, staff_id=staff_id)
        return action.publish("cancelled", ticket=ticket_view(ticket))
