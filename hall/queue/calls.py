"""Counter actions on tickets: call, recall, start, finish, no-show, reinstate, transfer."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select

from hall import lines
from hall.extensions import db
from hall.models import OUTCOMES, Counter, Stage, Ticket
from hall.queue import call_rows
from hall.queue.errors import Conflict, NotFound, QueueError
from hall.queue.lookup import counter_by_number, service_by_prefix, ticket_by_number
from hall.queue.rows import write, write_row
from hall.queue.rules import today
from hall.queue.stages import close_stage, mark_called, queue_at_stage, release_counter
from hall.queue.unit import Action, hall_action
from hall.queue.views import counter_view, ticket_view

_TICKETS, _COUNTERS, _STAGES = Ticket.__table__, Counter.__table__, Stage.__table__

#: Says whether the caller may act at a counter open for this staff member (None: nobody); raises if not.
#: A counter request's check, made on the counter the action reads under the hall's lock (no read before).
StaffCheck = Callable[[int | None], None]


def _counter(hall_id: int, number: int, staff_check: StaffCheck | None = None) -> Counter:
    """The counter read again under the hall's lock, with what its view and its line need."""
    counter = counter_by_number(hall_id, number, fresh=True)
    if staff_check is not None:
        staff_check(counter.staff_id)
    return counter


def _held_ticket(counter: Counter, *statuses: str) -> Ticket:
    """The ticket the counter has called or serves, in one of the given statuses."""
    ticket = db.session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    if ticket is None:
        raise Conflict(f"counter {counter.number} has no current ticket")
    if ticket.status not in statuses:
        raise Conflict(f"{ticket.number} is {ticket.status}, not {' or '.join(statuses)}",
                       ticket=ticket_view(ticket))
    return ticket


def _ensure_free(counter: Counter) -> None:
    if counter.status != "open":
        raise Conflict(f"counter {counter.number} is {counter.status}; open it first")
    if counter.current_ticket_id:
        held = db.session.get(Ticket, counter.current_ticket_id)
        raise Conflict(f"{held.number} is already {held.status} at counter {counter.number}; "
                       "finish it or mark it no-show first", ticket=ticket_view(held))


def _staff(counter: Counter, staff_id: int | None) -> int | None:
    return staff_id if staff_id is not None else counter.staff_id


def _publish(action: Action, kind: str, ticket: Ticket, counter: Counter, **extra: Any) -> dict[str, Any]:
    return action.publish(kind, ticket=ticket_view(ticket), counter=counter_view(counter), **extra)


def _call(action: Action, ticket: Ticket, counter: Counter, staff_id: int | None, kind: str = "called") -> dict:
    lines.leave(ticket)
    write(ticket, status="called", counter_id=counter.id, counter=counter, called_at=action.now,
          target_counter_id=None, recall_count=0)
    mark_called(ticket, counter.id, _staff(counter, staff_id), action.now)
    write(counter, current_ticket_id=ticket.id)
    action.log(kind, ticket_id=ticket.id, counter_id=counter.id, staff_id=_staff(counter, staff_id))
    return _publish(action, "called", ticket, counter)


def counter_line(counter: Counter, day) -> Select:
    """Waiting tickets a counter may call, best first (see `call_rows.line_statement`)."""
    return call_rows.line_statement(counter.services, counter.id, counter.hall_id, day)


def call_next(hall_id: int, counter_number: int, *, staff_id: int | None = None,
              staff_check: StaffCheck | None = None) -> dict[str, Any] | None:
    """Call the next ticket to a counter; None when nobody waits for it."""
    with hall_action(hall_id, plain_hall=True) as action:
        connection = action.connection
        counter, row, layout = call_rows.counter_and_next(connection, hall_id, counter_number,
                                                          action.hall.layout_version, today(action.hall, action.now))
        if staff_check is not None:
            staff_check(counter.staff_id)
        if counter.status != "open" or counter.current_ticket_id:
            _ensure_free(counter)
        if row is None:
            return None
        staff = _staff(counter, staff_id)
        call_rows.write_call(connection, row, counter, staff, action.now)
        action.log("called", ticket_id=row.id, counter_id=counter.id, staff_id=staff)
        ticket = call_rows.called_ticket(row, call_rows.service_of(action.hall, row.service_id), counter, action.now)
        return action.publish("called", ticket=ticket_view(ticket, action.hall.public_name_mode),
                              counter=call_rows.counter_view_of(counter, layout, row.id))


def call_ticket(hall_id: int, counter_number: int, number: str, *, staff_id: int | None = None,
                staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Call a given number (a visitor who comes back); a recent no-show is reinstated first."""
    with hall_action(hall_id) as action:
        counter = _counter(hall_id, counter_number, staff_check)
        _ensure_free(counter)
        ticket = ticket_by_number(hall_id, number, today(action.hall, action.now))
        if ticket.status == "no_show":
            _reinstate(action, ticket, staff_id)
        if ticket.status != "waiting":
            where = f" at counter {ticket.counter.number}" if ticket.counter and ticket.status != "done" else ""
            raise Conflict(f"{ticket.number} was already {ticket.status}{where}", ticket=ticket_view(ticket))
        return _call(action, ticket, counter, staff_id)


def _holding(action: Action, hall_id: int, counter_number: int, staff_check: StaffCheck | None) -> call_rows.Held:
    """The counter (read under the hall's lock, the staff check made on it), its ticket and stage, as rows."""
    at = call_rows.held(action.connection, hall_id, counter_number)
    if staff_check is not None:
        staff_check(at.counter.staff_id)
    return at


def _must_hold(at: call_rows.Held, *statuses: str) -> None:
    """The counter holds a ticket in one of the statuses; else the Conflict `_held_ticket` says."""
    if at.ticket is None or at.ticket.status not in statuses:
        _held_ticket(at.counter, *statuses)


def _publish_held(action: Action, kind: str, at: call_rows.Held, moved: dict[str, Any],
                  current_ticket_id: int | None, **extra: Any) -> dict[str, Any]:
    """Publish the action on a held ticket: its view with what the action `moved`, the counter holding
    `current_ticket_id` (the ORM views' fields: tests/test_call_rows.py)."""
    ticket, counter = at.ticket, at.counter
    service = call_rows.service_of(action.hall, ticket.service_id)
    layout = call_rows.counter_layout(action.connection, counter.id, action.hall.layout_version)
    view = ticket_view(call_rows.TicketRow({**vars(ticket), **moved}, service, counter), action.hall.public_name_mode)
    return action.publish(kind, ticket=view, counter=call_rows.counter_view_of(counter, layout, current_ticket_id),
                          **extra)


def recall(hall_id: int, counter_number: int, *, staff_id: int | None = None,
           staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Repeat the call on the displays; the queue does not change."""
    with hall_action(hall_id, plain_hall=True) as action:
        at = _holding(action, hall_id, counter_number, staff_check)
        _must_hold(at, "called")
        moved = {"recall_count": at.ticket.recall_count + 1}
        write_row(action.connection, _TICKETS, at.ticket.id, **moved)
        action.log("recalled", ticket_id=at.ticket.id, counter_id=at.counter.id,
                   staff_id=_staff(at.counter, staff_id), **moved)
        return _publish_held(action, "recalled", at, moved, at.ticket.id)


def start(hall_id: int, counter_number: int, *, staff_id: int | None = None,
          staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """The visitor arrived at the counter: handling time starts."""
    with hall_action(hall_id, plain_hall=True) as action:
        at = _holding(action, hall_id, counter_number, staff_check)
        _must_hold(at, "called")
        write_row(action.connection, _TICKETS, at.ticket.id, status="serving")
        write_row(action.connection, _STAGES, at.stage.id, started_at=action.now)
        action.log("started", ticket_id=at.ticket.id, counter_id=at.counter.id, staff_id=_staff(at.counter, staff_id))
        return _publish_held(action, "started", at, {"status": "serving"}, at.ticket.id)


def _check_outcome(outcome: str, notice: dict | None) -> None:
    """A finish's outcome and notice, checked once the counter is known (an unknown or foreign counter
    answers 404/403 first, whatever the body says)."""
    if outcome not in OUTCOMES:
        raise QueueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    if outcome == "incomplete" and not notice:
        raise QueueError("an incomplete-materials outcome needs a notice of what is missing")


def finish(hall_id: int, counter_number: int, *, outcome: str = "done", notice: dict | None = None,
           staff_id: int | None = None, staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Finish the current stage. Done moves the case to the next stage of its flow (or closes
    it); incomplete materials or rejection close the case with the outcome and notice."""
    with hall_action(hall_id, plain_hall=True) as action:
        connection = action.connection
        at = _holding(action, hall_id, counter_number, staff_check)
        _check_outcome(outcome, notice)
        _must_hold(at, "called", "serving")
        counter, ticket, stage = at.counter, at.ticket, at.stage
        call_rows.close_stage(connection, stage, outcome, action.now, notice=notice)
        write_row(connection, _COUNTERS, counter.id, current_ticket_id=None)
        service = call_rows.service_of(action.hall, ticket.service_id)
        if outcome == "done" and ticket.stage_position + 1 < len(service.stages):
            moved = call_rows.queue_at_next_stage(connection, ticket, service, action.now)
            kind = "stage_finished"
        else:
            moved = dict(status="done", closed_at=action.now, outcome=outcome, notice=notice)
            write_row(connection, _TICKETS, ticket.id, **moved)
            kind = "finished"
        action.log(kind, ticket_id=ticket.id, counter_id=counter.id, staff_id=_staff(counter, staff_id),
                   stage=stage.code, outcome=outcome, notice=notice)
        return _publish_held(action, kind, at, moved, None, finished_stage=stage.code)


def no_show(hall_id: int, counter_number: int, *, staff_id: int | None = None,
            staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """The called visitor did not come; reinstatable within the hall's grace time."""
    with hall_action(hall_id, plain_hall=True) as action:
        at = _holding(action, hall_id, counter_number, staff_check)
        _must_hold(at, "called")
        call_rows.close_stage(action.connection, at.stage, "no_show", action.now, finished=False)
        moved = {"status": "no_show", "closed_at": action.now}
        write_row(action.connection, _TICKETS, at.ticket.id, **moved)
        write_row(action.connection, _COUNTERS, at.counter.id, current_ticket_id=None)
        action.log("no_show", ticket_id=at.ticket.id, counter_id=at.counter.id, staff_id=_staff(at.counter, staff_id))
        return _publish_held(action, "no_show", at, moved, None)


def _reinstate(action: Action, ticket: Ticket, staff_id: int | None) -> None:
    grace = timedelta(seconds=action.hall.noshow_grace_s)
    if ticket.status != "no_show":
        raise Conflict(f"{ticket.number} is {ticket.status}, not a no-show")
    if action.now - ticket.closed_at > grace:
        raise Conflict(f"{ticket.number} missed its call more than {action.hall.noshow_grace_s // 60} minutes ago")
    ticket.closed_at = None
    queue_at_stage(ticket, ticket.service, ticket.stage_position, action.now, keep_place=True)
    action.log("reinstated", ticket_id=ticket.id, staff_id=staff_id)


def reinstate(hall_id: int, number: str, *, staff_id: int | None = None) -> dict[str, Any]:
    """Put a no-show back in its line, in its original place."""
    with hall_action(hall_id) as action:
        ticket = ticket_by_number(hall_id, number, today(action.hall, action.now))
        _reinstate(action, ticket, staff_id)
        db.session.flush()
        return action.publish("reinstated", ticket=ticket_view(ticket))


def transfer(hall_id: int, counter_number: int, *, service: str | None = None, stage: str | None = None,
             counter: int | None = None, keep_place: bool = True, note: str = "",
             staff_id: int | None = None, staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Send the current ticket to another service, stage or counter under the same number."""
    with hall_action(hall_id, plain_hall=True) as action:
        source = _counter(hall_id, counter_number, staff_check)
        if service is None and stage is None and counter is None:
            raise QueueError("name a service, a stage or a counter to transfer to")
        ticket = _held_ticket(source, "called", "serving")
        target_service = service_by_prefix(hall_id, service) if service else ticket.service
        codes = [s.code for s in target_service.stages]
        if stage is not None and stage not in codes:
            raise NotFound(f"service {target_service.prefix} has no stage {stage!r}")
        position = codes.index(stage) if stage else (0 if service else ticket.stage_position)
        target_counter = counter_by_number(hall_id, counter) if counter is not None else None
        if target_counter is not None and target_counter.id == source.id:
            raise Conflict("a ticket cannot be transferred to the counter it is at")
        close_stage(ticket, "transferred", action.now)
        release_counter(source, ticket)
        queue_at_stage(ticket, target_service, position, action.now, keep_place=keep_place)
        ticket.target_counter_id = target_counter.id if target_counter else None
        db.session.flush()
        action.log("transferred", ticket_id=ticket.id, counter_id=source.id, staff_id=_staff(source, staff_id),
                   service=target_service.prefix, stage=ticket.stage_code,
                   counter=target_counter.number if target_counter else None, keep_place=keep_place, note=note)
        return _publish(action, "transferred", ticket, source,
                        to_counter=target_counter.number if target_counter else None, note=note)
