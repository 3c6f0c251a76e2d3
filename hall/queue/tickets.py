"""Issuing and cancelling tickets."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from hall import lines, pictures
from hall.database import prepared, upsert_in
from hall.estimate import Estimate, estimate_ticket, people_ahead
from hall.extensions import db
from hall.models import CHANNELS, PRIORITIES, Hall, Stage, Ticket, TicketSequence
from hall.queue.errors import Conflict, QueueError, ServiceClosed
from hall.queue.layout import ServiceCopy, services_of
from hall.queue.realname import Identity, admit
from hall.queue.rules import closed_reason, sort_key, today
from hall.queue.stages import close_stage, release_counter
from hall.queue.unit import Action, hall_action, writing_alone
from hall.queue.views import ticket_view


def _sequence_statement(dialect: str):
    table = TicketSequence.__table__
    keys = ["hall_id", "business_day", "prefix"]
    return upsert_in(dialect, table, {**{k: bindparam(k) for k in keys}, "last": 1}, keys,
                     {"last": table.c.last + 1}).returning(table.c.last)


def _next_sequence(hall_id: int, day: date, prefix: str) -> int:
    """Atomically take the next number of a prefix for a day (upsert … RETURNING)."""
    connection = db.session.connection()
    return connection.execute(prepared(connection, _sequence_statement),
                              {"hall_id": hall_id, "business_day": day, "prefix": prefix}).scalar_one()


def issued_view(ticket: Ticket, ahead: int | None = None) -> dict[str, Any]:
    """A ticket as the kiosk, the API and the printer show it right after issue."""
    ahead = people_ahead(ticket) if ahead is None else ahead
    return _with_estimate(ticket_view(ticket), ahead, estimate_ticket(ticket, ahead))


def _with_estimate(view: dict[str, Any], ahead: int, estimate: Estimate) -> dict[str, Any]:
    return {**view, "people_ahead": ahead, "estimated_wait_s": estimate.wait_s,
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
    with hall_action(hall, plain_hall=True) as action:
        if authorise:
            authorise(action.hall)
        hall_id = action.hall.id
        if idempotency_key and (existing := find_by_idempotency_key(hall_id, idempotency_key)):
            return {**issued_view(existing), "repeated": True}
        service = services_of(action.hall).service(service_prefix)
        if reason := closed_reason(service, action.hall, action.now):  # counts only up to a daily capacity
            raise ServiceClosed(f"service {service.prefix} is closed ({reason})", reason=reason)
        identity = admit(service, today(action.hall, action.now), id_number)
        _, view = add_ticket(action, service, priority=priority, channel=channel, idempotency_key=idempotency_key,
                             appointment_id=appointment_id, staff_id=staff_id, identity=identity)
    if not writing_alone(hall_id):  # a sole writer's batch goes on in its transaction
        pictures.refresh(hall_id)  # outside the lock
    return view


@dataclass(frozen=True, slots=True)
class NewTicket:
    """A ticket as an issue has just written it (the names match `Ticket`'s, for its view and its
    place in line), with its service's copy; `id` is None until it is inserted."""

    id: int | None
    hall_id: int
    service_id: int
    service: ServiceCopy
    business_day: date
    seq: int
    number: str
    token: str
    priority: str
    channel: str
    status: str
    stage_position: int
    stage_code: str
    issued_at: datetime
    queued_at: datetime
    sort_at: datetime
    idempotency_key: str | None
    appointment_id: int | None
    id_hash: str | None
    id_masked: str | None
    visitor_masked: str | None
    counter: None = None
    target_counter: None = None
    called_at: None = None
    closed_at: None = None
    recall_count: int = 0
    outcome: None = None
    notice: None = None


_INSERT_TICKET = insert(Ticket.__table__)
_INSERT_STAGE = insert(Stage.__table__)


def add_ticket(action: Action, service: ServiceCopy, *, priority: str, channel: str,
               idempotency_key: str | None = None, appointment_id: int | None = None,
               staff_id: int | None = None, identity: Identity | None = None,
               visitor_masked: str | None = None) -> tuple[int, dict[str, Any]]:
    """Inside a running action: put a new ticket in the first line of `service`, log and publish
    "issued"; returns its id and view.

    Written as plain INSERTs (no ORM objects): the number, the line's count (which says how many
    are ahead), the ticket with its estimate, its first stage and the event row. The rest of the
    estimate's inputs come from this process's picture of the hall (`pictures`)."""
    if not service.stages:
        raise Conflict(f"service {service.prefix} has no stages")
    hall_id = action.hall.id
    day = today(action.hall, action.now)
    seq = _next_sequence(hall_id, day, service.prefix)
    first = service.stages[0]
    values = dict(
        hall_id=hall_id, service_id=service.id, business_day=day, seq=seq, number=f"{service.prefix}{seq:03d}",
        token=secrets.token_urlsafe(16), priority=priority, channel=channel, status="waiting", stage_position=0,
        stage_code=first.code, issued_at=action.now, queued_at=action.now, sort_at=sort_key(action.now, priority),
        idempotency_key=idempotency_key, appointment_id=appointment_id,
        id_hash=identity.hash if identity else None, id_masked=identity.masked if identity else None,
        visitor_masked=visitor_masked)
    connection = db.session.connection()
    waiting_before = lines.join_line(hall_id, day, service.id, first.code)
    picture = pictures.picture(hall_id, day, action.hall.layout_version)
    ticket = NewTicket(id=None, service=service, **values)
    if ticket.sort_at < ticket.queued_at:  # a head start is counted, and the count's tie-break needs the id
        ticket = replace(ticket, id=connection.execute(_INSERT_TICKET, values).inserted_primary_key[0])
        ahead = people_ahead(ticket)
        estimate = estimate_ticket(ticket, ahead, picture)
        connection.execute(update(Ticket.__table__).where(Ticket.__table__.c.id == ticket.id)
                           .values(estimated_wait_s=estimate.wait_s))
    else:
        ahead = waiting_before
        estimate = estimate_ticket(ticket, ahead, picture)
        ticket = replace(ticket, id=connection.execute(_INSERT_TICKET, {**values, "estimated_wait_s": estimate.wait_s}
                                                       ).inserted_primary_key[0])
    connection.execute(_INSERT_STAGE, dict(ticket_id=ticket.id, hall_id=hall_id, business_day=day,
                                           service_id=service.id, position=0, code=first.code, queued_at=action.now))
    view = _with_estimate(ticket_view(ticket, action.hall.public_name_mode), ahead, estimate)
    action.log("issued", ticket_id=ticket.id, staff_id=staff_id, priority=priority, channel=channel,
               estimated_wait_s=estimate.wait_s)
    action.publish("issued", ticket=view)
    if priority == "normal":
        action.after_commit.append(lambda: pictures.joined(hall_id, (service.id, first.code), waiting_before + 1))
    return ticket.id, view


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
