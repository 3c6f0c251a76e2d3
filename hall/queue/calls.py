"""Counter actions on tickets: call, recall, start, finish, no-show, reinstate, transfer."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Select

from hall.models import OUTCOMES, Counter, Stage, Ticket
from hall.queue import call_rows
from hall.queue.errors import Conflict, NotFound, QueueError
from hall.queue.layout import services_of
from hall.queue.rows import write_row
from hall.queue.rules import today
from hall.queue.unit import Action, hall_action
from hall.queue.views import ticket_view

_TICKETS, _COUNTERS, _STAGES = Ticket.__table__, Counter.__table__, Stage.__table__

#: Says whether the caller may act at a counter open for this staff member (None: nobody); raises if not.
#: A counter request's check, made on the counter the action reads under the hall's lock (no read before).
StaffCheck = Callable[[int | None], None]


def _ensure_free(action: Action, counter: Any) -> None:
    """The counter (a `call_rows.counter_row`) is open and holds no ticket; else a Conflict naming the one it holds."""
    if counter.status != "open":
        raise Conflict(f"counter {counter.number} is {counter.status}; open it first")
    if counter.current_ticket_id:
        held = call_rows.ticket_row(action.connection, counter.current_ticket_id)
        raise Conflict(f"{held.number} is already {held.status} at counter {counter.number}; "
                       "finish it or mark it no-show first", ticket=_numbered_view(action, held))


def _staff(counter: Counter, staff_id: int | None) -> int | None:
    return staff_id if staff_id is not None else counter.staff_id


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
            _ensure_free(action, counter)
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
    with hall_action(hall_id, plain_hall=True) as action:
        connection = action.connection
        counter = call_rows.counter_row(connection, hall_id, counter_number)
        if staff_check is not None:
            staff_check(counter.staff_id)
        _ensure_free(action, counter)
        ticket = call_rows.numbered_ticket(connection, hall_id, number, today(action.hall, action.now))
        if ticket.status == "no_show":
            _reinstate(action, ticket, staff_id)
        if ticket.status != "waiting":
            where = f" at counter {ticket.counter_number}" if ticket.counter_id and ticket.status != "done" else ""
            raise Conflict(f"{ticket.number} was already {ticket.status}{where}", ticket=_numbered_view(action, ticket))
        staff = _staff(counter, staff_id)
        call_rows.write_call(connection, ticket, counter, staff, action.now)
        action.log("called", ticket_id=ticket.id, counter_id=counter.id, staff_id=staff)
        called = call_rows.called_ticket(ticket, call_rows.service_of(action.hall, ticket.service_id), counter,
                                         action.now)
        layout = call_rows.counter_layout(connection, counter.id, action.hall.layout_version)
        return action.publish("called", ticket=ticket_view(called, action.hall.public_name_mode),
                              counter=call_rows.counter_view_of(counter, layout, ticket.id))


def _holding(action: Action, hall_id: int, counter_number: int, staff_check: StaffCheck | None) -> call_rows.Held:
    """The counter (read under the hall's lock, the staff check made on it), its ticket and stage, as rows."""
    at = call_rows.held(action.connection, hall_id, counter_number)
    if staff_check is not None:
        staff_check(at.counter.staff_id)
    return at


def _must_hold(action: Action, at: call_rows.Held, *statuses: str) -> None:
    """The counter holds a ticket in one of the statuses; else a Conflict (naming the ticket it holds)."""
    if at.ticket is None:
        raise Conflict(f"counter {at.counter.number} has no current ticket")
    if at.ticket.status not in statuses:
        raise Conflict(f"{at.ticket.number} is {at.ticket.status}, not {' or '.join(statuses)}",
                       ticket=_numbered_view(action, call_rows.ticket_row(action.connection, at.ticket.id)))


def _publish_held(action: Action, kind: str, at: call_rows.Held, moved: dict[str, Any],
                  current_ticket_id: int | None, *others: Any, **extra: Any) -> dict[str, Any]:
    """Publish the action on a held ticket: its view with what the action `moved` (naming the counter
    holding it, or `others`), the counter holding `current_ticket_id` (the ORM views' fields:
    tests/test_call_rows.py)."""
    values, counter = {**vars(at.ticket), **moved}, at.counter
    service = call_rows.service_of(action.hall, values["service_id"])
    layout = call_rows.counter_layout(action.connection, counter.id, action.hall.layout_version)
    view = ticket_view(call_rows.TicketRow(values, service, counter, *others), action.hall.public_name_mode)
    return action.publish(kind, ticket=view, counter=call_rows.counter_view_of(counter, layout, current_ticket_id),
                          **extra)


def recall(hall_id: int, counter_number: int, *, staff_id: int | None = None,
           staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Repeat the call on the displays; the queue does not change."""
    with hall_action(hall_id, plain_hall=True) as action:
        at = _holding(action, hall_id, counter_number, staff_check)
        _must_hold(action, at, "called")
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
        _must_hold(action, at, "called")
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
        _must_hold(action, at, "called", "serving")
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
        _must_hold(action, at, "called")
        call_rows.close_stage(action.connection, at.stage, "no_show", action.now, finished=False)
        moved = {"status": "no_show", "closed_at": action.now}
        write_row(action.connection, _TICKETS, at.ticket.id, **moved)
        write_row(action.connection, _COUNTERS, at.counter.id, current_ticket_id=None)
        action.log("no_show", ticket_id=at.ticket.id, counter_id=at.counter.id, staff_id=_staff(at.counter, staff_id))
        return _publish_held(action, "no_show", at, moved, None)


def _numbered_view(action: Action, ticket: Any) -> dict[str, Any]:
    """The view of a `call_rows.numbered_ticket` (or `ticket_row`) as it stands."""
    service = call_rows.service_of(action.hall, ticket.service_id)
    return ticket_view(call_rows.TicketRow(vars(ticket), service, *call_rows.named_counters(ticket)),
                       action.hall.public_name_mode)


def _reinstate(action: Action, ticket: Any, staff_id: int | None) -> None:
    """Put a no-show (a `call_rows.numbered_ticket`, updated in place) back in its line, in its place."""
    grace = timedelta(seconds=ticket.noshow_grace_s)
    if ticket.status != "no_show":
        raise Conflict(f"{ticket.number} is {ticket.status}, not a no-show")
    if action.now - ticket.closed_at > grace:
        raise Conflict(f"{ticket.number} missed its call more than {ticket.noshow_grace_s // 60} minutes ago")
    service = call_rows.service_of(action.hall, ticket.service_id)
    moved = call_rows.queue_at(action.connection, ticket, service, ticket.stage_position, action.now,
                               keep_place=True, closed_at=None)
    vars(ticket).update(moved)
    action.log("reinstated", ticket_id=ticket.id, staff_id=staff_id)


def reinstate(hall_id: int, number: str, *, staff_id: int | None = None) -> dict[str, Any]:
    """Put a no-show back in its line, in its original place."""
    with hall_action(hall_id, plain_hall=True) as action:
        ticket = call_rows.numbered_ticket(action.connection, hall_id, number, today(action.hall, action.now))
        _reinstate(action, ticket, staff_id)
        return action.publish("reinstated", ticket=_numbered_view(action, ticket))


def transfer(hall_id: int, counter_number: int, *, service: str | None = None, stage: str | None = None,
             counter: int | None = None, keep_place: bool = True, note: str = "",
             staff_id: int | None = None, staff_check: StaffCheck | None = None) -> dict[str, Any]:
    """Send the current ticket to another service, stage or counter under the same number."""
    with hall_action(hall_id, plain_hall=True) as action:
        connection = action.connection
        at = _holding(action, hall_id, counter_number, staff_check)
        if service is None and stage is None and counter is None:
            raise QueueError("name a service, a stage or a counter to transfer to")
        _must_hold(action, at, "called", "serving")
        source, ticket = at.counter, at.ticket
        services = services_of(action.hall)
        target_service = services.service(service) if service else services.by_id[ticket.service_id]
        codes = [s.code for s in target_service.stages]
        if stage is not None and stage not in codes:
            raise NotFound(f"service {target_service.prefix} has no stage {stage!r}")
        position = codes.index(stage) if stage else (0 if service else ticket.stage_position)
        target = call_rows.counter_row(connection, hall_id, counter) if counter is not None else None
        if target is not None and target.id == source.id:
            raise Conflict("a ticket cannot be transferred to the counter it is at")
        call_rows.close_stage(connection, at.stage, "transferred", action.now)
        write_row(connection, _COUNTERS, source.id, current_ticket_id=None)
        moved = call_rows.queue_at(connection, ticket, target_service, position, action.now, keep_place=keep_place,
                                   target_counter_id=target.id if target else None)
        to_counter = target.number if target else None
        action.log("transferred", ticket_id=ticket.id, counter_id=source.id, staff_id=_staff(source, staff_id),
                   service=target_service.prefix, stage=moved["stage_code"], counter=to_counter,
                   keep_place=keep_place, note=note)
        return _publish_held(action, "transferred", at, moved, None, *([target] if target else []),
                             to_counter=to_counter, note=note)
