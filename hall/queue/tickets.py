"""Issuing and cancelling tickets."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, bindparam, func, insert, select, true
from sqlalchemy.engine import Connection

from hall import clock, lines, pictures
from hall.database import run_driver, session_in_transaction, upsert_in
from hall.estimate import Estimate, HallPicture, estimate_ticket, people_ahead
from hall.extensions import db
from hall.models import CHANNELS, PRIORITIES, Hall, Stage, Ticket, TicketEvent, TicketSequence
from hall.queue import limit_function, one_statement
from hall.queue.errors import Conflict, QueueError, ServiceClosed
from hall.queue.layout import ServiceCopy, services_of
from hall.queue.realname import Identity, admit, identify, limit_reached
from hall.queue.rules import closed_reason, sort_key, today
from hall.queue.stages import close_stage, release_counter
from hall.queue.unit import INSERT_EVENT, Action, hall_action, publish, writing_alone
from hall.queue.views import ticket_view


def _sequence_statement(dialect: str):
    """Take the next number of a prefix and day, RETURNING it and its issue time: the later of `issued_at`
    and the last number's (an issue that read the clock before the lock comes after the one before it)."""
    table = TicketSequence.__table__
    keys = ["hall_id", "business_day", "prefix"]
    at = bindparam("issued_at", type_=table.c.last_issued_at.type)
    later = func.greatest if dialect == "postgresql" else func.max
    return upsert_in(dialect, table, {**{k: bindparam(k) for k in keys}, "last": 1, "last_issued_at": at}, keys,
                     {"last": table.c.last + 1, "last_issued_at": later(func.coalesce(table.c.last_issued_at, at), at)}
                     ).returning(table.c.last, table.c.last_issued_at)


def _number_and_line_statement(dialect: str):
    """Both upserts in one statement (PostgreSQL; under the hall's lock, so their order is free)."""
    number, line = _sequence_statement(dialect).cte("number"), lines.join_statement(dialect).cte("line")
    return select(number.c.last, number.c.last_issued_at, line.c.waiting).select_from(number.join(line, true()))


def _take_number(connection: Connection, hall_id: int, day: date, service: ServiceCopy, stage_code: str,
                 now: datetime) -> tuple[int, datetime, int]:
    """Atomically take the next number of the service's prefix for a day and join the line of its first
    stage: returns the number's seq, its issue time and how many waited in that line before."""
    params = {"hall_id": hall_id, "business_day": day, "prefix": service.prefix, "issued_at": now}
    if connection.dialect.name != "postgresql":
        seq, issued_at = run_driver(connection, _sequence_statement, params).one()
        return seq, issued_at, lines.join_line(connection, hall_id, day, service.id, stage_code)
    params.update(service_id=service.id, stage_code=stage_code)
    seq, issued_at, waiting = run_driver(connection, _number_and_line_statement, params).one()
    return seq, issued_at, waiting - 1


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
    if (view := _issue_at_once(hall, service_prefix, priority=priority, channel=channel,
                               idempotency_key=idempotency_key, appointment_id=appointment_id, staff_id=staff_id,
                               id_number=id_number, authorise=authorise)) is not None:
        return view
    with hall_action(hall, plain_hall=True, public=priority != "normal") as action:
        hall_id = action.hall.id
        if _one_statement_here(hall_id):
            one_statement.keep(hall, action.hall)
        if authorise:
            authorise(action.hall)
        if idempotency_key and (existing := find_by_idempotency_key(hall_id, idempotency_key)):
            return {**issued_view(existing), "repeated": True}
        service = services_of(action.hall).service(service_prefix)
        if reason := closed_reason(service, action.hall, action.now):  # counts only up to a daily capacity
            raise ServiceClosed(f"service {service.prefix} is closed ({reason})", reason=reason)
        identity = admit(service, today(action.hall, action.now), id_number, action.connection)
        _, view = add_ticket(action, service, priority=priority, channel=channel, idempotency_key=idempotency_key,
                             appointment_id=appointment_id, staff_id=staff_id, identity=identity)
    if not writing_alone(hall_id):  # a sole writer's batch goes on in its transaction
        pictures.refresh(hall_id)  # outside the lock
    return view


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _one_statement_here(hall_id: int) -> bool:
    """Whether issues of the hall write their rows in one statement (`one_statement`): on PostgreSQL, out
    of a sole writer's batch."""
    return _on_postgresql() and not writing_alone(hall_id)


def _issue_at_once(hall: int | str, service_prefix: str, *, priority: str, channel: str,
                   idempotency_key: str | None, appointment_id: int | None, staff_id: int | None,
                   id_number: str | None, authorise: Callable[[Hall], None] | None) -> dict[str, Any] | None:
    """On PostgreSQL, a normal ticket of a service without daily capacity or appointment, from the process's
    copy of the hall: in one statement without BEGIN/COMMIT (`one_statement`), or on a service with a daily
    limit per person in one call of the function that counts the visitor's tickets (`limit_function`);
    None when the issue takes the general path."""
    if priority != "normal" or appointment_id is not None:
        return None
    record = one_statement.copy_of(hall)
    if record is None and _on_postgresql():  # the hall's first issue in this process
        record = one_statement.read_copy(hall)
    if record is None or writing_alone(record.id):
        return None
    service = services_of(record).by_prefix.get(service_prefix.upper())
    if service is None or not service.stages or service.daily_capacity is not None:
        return None
    now = clock.utcnow()
    if closed_reason(service, record, now):  # the general path says why, after reading the hall again
        return None
    try:  # refused as this process last saw the hall: the general path decides on it as it is
        if authorise:
            authorise(record)
        identity = identify(service, id_number)
    except Exception:
        return None
    day = today(record, now)
    picture = pictures.picture(record.id, day, record.layout_version)
    if (session := session_in_transaction(db.session)) is not None:  # what was read so far
        session.commit()  # (authorisation, the picture)
    new, expected = _new_issue(record.id, service, day, now, picture, channel=channel,
                               idempotency_key=idempotency_key, staff_id=staff_id, identity=identity)
    if identity and service.daily_limit_per_person:
        row = limit_function.issue_within_limit(record, new, service.daily_limit_per_person)
    else:
        row = one_statement.issue(record, new) or "unlocked"
    if isinstance(row, str):
        if row == "limit":
            raise limit_reached(service)
        if row == "unlocked":  # the hall changed (or the key was taken before): read it again
            one_statement.forget(hall)
        return None
    view, fix_estimate = _written(row, new, service, expected, picture, record.public_name_mode)
    if fix_estimate:
        fix_estimate()
    pictures.joined(record.id, (new.service_id, new.stage_code), row.ahead + 1)
    publish({"seq": row.event_seq, "hall": record.slug, "kind": "issued", "at": clock.iso(row.issued_at),
             "ticket": view})
    pictures.refresh(record.id)
    return view


def _new_issue(hall_id: int, service: ServiceCopy, day: date, now: datetime, picture: HallPicture, *, channel: str,
               idempotency_key: str | None, staff_id: int | None,
               identity: Identity | None = None) -> tuple[one_statement.Issue, Expected]:
    """A normal ticket for `one_statement`, with the estimates of the places in line this process expects
    (`one_statement.window`), and the place it expects most."""
    first = service.stages[0]
    line = (service.id, first.code)
    expected = picture.waiting(line) + one_statement.in_flight((hall_id, *line))
    offset, count = one_statement.window((hall_id, *line))
    first_ahead = max(0, expected + offset)
    estimates = picture.estimates(line, first_ahead, count)
    return one_statement.Issue(
        hall_id=hall_id, day=day, now=now, head_start=now - sort_key(now, "normal"), prefix=service.prefix,
        service_id=service.id, stage_code=first.code, token=secrets.token_urlsafe(16), channel=channel,
        idempotency_key=idempotency_key, staff_id=staff_id, expected_ahead=first_ahead,
        estimates=tuple(estimate.wait_s for estimate in estimates), data={"priority": "normal", "channel": channel},
        id_hash=identity.hash if identity else None, id_masked=identity.masked if identity else None), \
        Expected(expected, estimates)


@dataclass(frozen=True, slots=True)
class Expected:
    """What an issue expected before the statement: the place in line (people ahead) it expected most,
    and the estimates it sent (`one_statement.Issue.estimates`, from its `expected_ahead` on)."""

    ahead: int
    estimates: list[Estimate]


def _written(row: Row, new: one_statement.Issue, service: ServiceCopy, expected: Expected, picture: HallPicture,
             name_mode: str) -> tuple[dict[str, Any], Callable[[], None] | None]:
    """The view of a ticket `one_statement` wrote, and, when its place in line was none of those it
    sent an estimate for, the writing of its estimate (to run outside the hall's lock)."""
    one_statement.landed(new.line, row.ahead - expected.ahead)
    fix_estimate = None
    if row.expected:
        estimate = expected.estimates[row.ahead - new.expected_ahead]
    else:
        estimate = picture.estimate((new.service_id, new.stage_code), row.ahead)
        wait_s = estimate.wait_s
        fix_estimate = lambda: one_statement.fix_estimate(  # noqa: E731
            new.hall_id, row.event_seq, row.ticket_id, wait_s, new.data)
    ticket = NewTicket(
        id=row.ticket_id, service=service, hall_id=new.hall_id, service_id=service.id, business_day=new.day,
        seq=row.seq, number=f"{service.prefix}{row.seq:03d}", token=new.token, priority="normal",
        channel=new.channel, status="waiting", stage_position=0, stage_code=new.stage_code,
        issued_at=row.issued_at, queued_at=row.issued_at, sort_at=row.issued_at - new.head_start,
        idempotency_key=new.idempotency_key, appointment_id=None, id_hash=new.id_hash, id_masked=new.id_masked,
        visitor_masked=None, estimated_wait_s=estimate.wait_s)
    return _with_estimate(ticket_view(ticket, name_mode), row.ahead, estimate), fix_estimate


@dataclass(slots=True)
class NewTicket:
    """A ticket as an issue has just written it (the names match `Ticket`'s, for its view and its
    place in line), with its service's copy; `id` is None until it is inserted. Not frozen: a frozen
    dataclass sets each of its fields through `object.__setattr__`, a tenth of the one-call issue's Python."""

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
    estimated_wait_s: int | None = None
    counter: None = None
    target_counter: None = None
    called_at: None = None
    closed_at: None = None
    recall_count: int = 0
    outcome: None = None
    notice: None = None


_INSERT_TICKET = insert(Ticket.__table__)
_INSERT_STAGE = insert(Stage.__table__)
#: The columns an issue writes in its ticket (its estimate last), stage and event rows.
_TICKET_COLUMNS = ("hall_id", "service_id", "business_day", "seq", "number", "token", "priority", "channel", "status",
                   "stage_position", "stage_code", "issued_at", "queued_at", "sort_at", "idempotency_key",
                   "appointment_id", "id_hash", "id_masked", "visitor_masked", "recall_count", "estimated_wait_s")
_STAGE_COLUMNS = ("hall_id", "business_day", "service_id", "position", "code", "queued_at")
_EVENT_COLUMNS = ("hall_id", "seq", "kind", "at", "counter_id", "staff_id", "data")


def _rows_statement(_dialect: str):
    """The ticket, its first stage and its event row as one data-modifying statement (PostgreSQL):
    the stage's and the event's values are bound as stage_* and event_*."""
    tickets, stages, events = Ticket.__table__, Stage.__table__, TicketEvent.__table__

    def bound(table, names, prefix=""):
        return [bindparam(prefix + name, type_=table.c[name].type) for name in names]

    ticket = insert(tickets).values(dict(zip(_TICKET_COLUMNS, bound(tickets, _TICKET_COLUMNS)))) \
        .returning(tickets.c.id).cte("ticket")
    stage = insert(stages).from_select(("ticket_id", *_STAGE_COLUMNS),
                                       select(ticket.c.id, *bound(stages, _STAGE_COLUMNS, "stage_"))).cte("stage")
    event = insert(events).from_select(("ticket_id", *_EVENT_COLUMNS),
                                       select(ticket.c.id, *bound(events, _EVENT_COLUMNS, "event_"))).cte("event")
    return select(ticket.c.id).add_cte(stage, event)


def _write_ticket(connection: Connection, ticket: dict[str, Any], stage: dict[str, Any],
                  event: dict[str, Any]) -> int:
    """Insert a new ticket with its first stage and its event row; returns the ticket's id. On PostgreSQL
    one round trip (the hall's lock is held meanwhile), elsewhere three INSERTs."""
    if connection.dialect.name != "postgresql":
        ticket_id = run_driver(connection, _INSERT_TICKET, ticket).lastrowid
        run_driver(connection, _INSERT_STAGE, {**stage, "ticket_id": ticket_id})
        run_driver(connection, INSERT_EVENT, {**event, "ticket_id": ticket_id})
        return ticket_id
    params = {**ticket, **{f"stage_{name}": stage[name] for name in _STAGE_COLUMNS},
              **{f"event_{name}": event[name] for name in _EVENT_COLUMNS}}
    return run_driver(connection, _rows_statement, params).scalar_one()


def add_ticket(action: Action, service: ServiceCopy, *, priority: str, channel: str,
               idempotency_key: str | None = None, appointment_id: int | None = None,
               staff_id: int | None = None, identity: Identity | None = None,
               visitor_masked: str | None = None) -> tuple[int, dict[str, Any]]:
    """Inside a running action: put a new ticket in the first line of `service`, log and publish
    "issued"; returns its id and view.

    Written as plain statements (no ORM objects): the number and the line's count (which says how many
    are ahead), then the ticket with its estimate, its first stage and the event row. The rest of the
    estimate's inputs come from this process's picture of the hall (`pictures`)."""
    if not service.stages:
        raise Conflict(f"service {service.prefix} has no stages")
    hall_id = action.hall.id
    day = today(action.hall, action.now)
    first = service.stages[0]
    seq, issued_at, waiting_before = _take_number(action.connection, hall_id, day, service, first.code, action.now)
    ticket = NewTicket(
        id=None, service=service, hall_id=hall_id, service_id=service.id, business_day=day, seq=seq,
        number=f"{service.prefix}{seq:03d}", token=secrets.token_urlsafe(16), priority=priority, channel=channel,
        status="waiting", stage_position=0, stage_code=first.code, issued_at=issued_at, queued_at=issued_at,
        sort_at=sort_key(issued_at, priority), idempotency_key=idempotency_key, appointment_id=appointment_id,
        id_hash=identity.hash if identity else None, id_masked=identity.masked if identity else None,
        visitor_masked=visitor_masked)
    # a head start puts it ahead of some who wait: counted (priority tickets are few)
    ahead = people_ahead(ticket) if ticket.sort_at < ticket.queued_at else waiting_before
    estimate = estimate_ticket(ticket, ahead, pictures.picture(hall_id, day, action.hall.layout_version))
    stage = dict(hall_id=hall_id, business_day=day, service_id=service.id, position=0, code=first.code,
                 queued_at=issued_at)
    event = action.event_row("issued", staff_id=staff_id, priority=priority, channel=channel,
                             estimated_wait_s=estimate.wait_s)
    row = {**{name: getattr(ticket, name) for name in _TICKET_COLUMNS[:-1]}, "estimated_wait_s": estimate.wait_s}
    ticket = replace(ticket, id=_write_ticket(action.connection, row, stage, event), estimated_wait_s=estimate.wait_s)
    view = _with_estimate(ticket_view(ticket, action.hall.public_name_mode), ahead, estimate)
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
