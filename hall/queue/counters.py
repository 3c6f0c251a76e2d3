"""Counter status: open with a staff member, pause, close."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hall.extensions import db
from hall.models import Counter, StaffSession, Ticket
from hall.queue.errors import Conflict
from hall.queue.lookup import counter_by_number
from hall.queue.unit import Action, hall_action
from hall.queue.views import counter_view


def _end_sessions(counter: Counter, action: Action) -> None:
    for session in db.session.scalars(select(StaffSession).where(StaffSession.counter_id == counter.id,
                                                                 StaffSession.ended_at.is_(None))):
        session.ended_at = action.now


def _set_status(action: Action, counter: Counter, status: str, staff_id: int | None) -> dict[str, Any]:
    counter.status, counter.status_since = status, action.now
    db.session.flush()
    db.session.refresh(counter, ["staff"])
    action.log(f"counter_{status}", counter_id=counter.id, staff_id=staff_id)
    return action.publish(f"counter_{status}", counter=counter_view(counter))


def _unchanged(counter: Counter) -> dict[str, Any]:
    """What a repeated status change answers (a double click, another server process first)."""
    return {"kind": f"counter_{counter.status}", "counter": counter_view(counter), "unchanged": True}


def open_counter(hall_id: int, counter_number: int, *, staff_id: int | None = None) -> dict[str, Any]:
    """Open (or resume) a counter; a new staff member takes it over from the previous one."""
    with hall_action(hall_id) as action:
        counter = counter_by_number(hall_id, counter_number)
        db.session.refresh(counter)
        staff_id = staff_id if staff_id is not None else counter.staff_id
        if counter.status == "open" and counter.staff_id == staff_id:
            return _unchanged(counter)
        if counter.status == "closed":
            counter.screen_seen_at = None  # a screen that opens it says so on its first request
        if counter.staff_id != staff_id:
            _end_sessions(counter, action)
        if staff_id is not None and (counter.staff_id != staff_id or counter.status == "closed"):
            db.session.add(StaffSession(staff_id=staff_id, counter_id=counter.id, started_at=action.now))
        counter.staff_id = staff_id
        return _set_status(action, counter, "open", staff_id)


def pause_counter(hall_id: int, counter_number: int, *, staff_id: int | None = None) -> dict[str, Any]:
    with hall_action(hall_id) as action:
        counter = counter_by_number(hall_id, counter_number)
        db.session.refresh(counter)
        if counter.status == "closed":
            raise Conflict(f"counter {counter.number} is closed")
        if counter.status == "paused":
            return _unchanged(counter)
        return _set_status(action, counter, "paused", staff_id)


def close_counter(hall_id: int, counter_number: int, *, staff_id: int | None = None) -> dict[str, Any]:
    """Close a counter; it must not hold a ticket, and its staff session ends."""
    with hall_action(hall_id) as action:
        counter = counter_by_number(hall_id, counter_number)
        db.session.refresh(counter)
        if counter.status == "closed":
            return _unchanged(counter)
        if counter.current_ticket_id:
            held = db.session.get(Ticket, counter.current_ticket_id)
            raise Conflict(f"{held.number} is still {held.status} at counter {counter.number}; finish it first")
        _end_sessions(counter, action)
        counter.staff_id = None
        return _set_status(action, counter, "closed", staff_id)


def release_counter(hall_id: int, counter_number: int, *, staff_id: int | None = None) -> dict[str, Any]:
    """Close the counter, or pause it while it holds a ticket (finish or no-show it first)."""
    try:
        return close_counter(hall_id, counter_number, staff_id=staff_id)
    except Conflict:
        return pause_counter(hall_id, counter_number, staff_id=staff_id)
