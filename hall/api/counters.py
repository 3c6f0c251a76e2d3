"""Counter actions for staff: call, recall, start, finish, no-show, transfer, pause, open, close."""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask import abort, jsonify
from flask_login import current_user

from hall import queue
from hall.api import bp, body
from hall.api.schemas import CallNumber, Finish, Transfer
from hall.auth import role_required
from hall.database import begin_write
from hall.extensions import db
from hall.queue.errors import NotFound
from hall.queue.lookup import counter_staff


def one_transaction(view: Callable) -> Callable:
    """A counter action's request is one write transaction on one connection: the caller's login
    and the checks are read in the action's own transaction instead of one before it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        begin_write(db.session(), go_on=True)
        return view(*args, **kwargs)

    return wrapped


def _hall_of(hall: str) -> int:
    """The id of the hall of the path (role_required saw that it is the caller's), if it is active."""
    record = current_user.hall
    if not record.active:
        raise NotFound(f"unknown hall {hall!r}")
    return record.id


def _staff_check(number: int) -> Callable[[int | None], None]:
    """Whether the caller may act at a counter open for a staff member: its own staff, or a supervisor."""

    def check(staff_id: int | None) -> None:
        if staff_id not in (None, current_user.id) and not current_user.has_role("supervisor"):
            abort(403, description=f"counter {number} is open for another staff member")

    return check


def _guard(hall: str, number: int) -> int:
    """The hall id, once the caller may act at this counter (read before the action: a counter status
    action reads the counter itself; the ticket actions check it in their own read, `staff_check`)."""
    hall_id = _hall_of(hall)
    _staff_check(number)(counter_staff(hall_id, number))
    return hall_id


def _checked(hall: str, number: int) -> dict:
    """A ticket action's hall id and the staff check it makes on the counter it reads under the hall's lock."""
    return {"hall_id": _hall_of(hall), "counter_number": number, "staff_id": current_user.id,
            "staff_check": _staff_check(number)}


def _ticket_or_204(event: dict | None):
    if event is None:
        return "", 204
    return jsonify({**event["ticket"], "event": event["kind"], "seq": event["seq"]})


def counter_answer(event: dict):
    """A counter action's answer: the counter, the event's kind and its sequence number."""
    return jsonify({**event["counter"], "event": event["kind"], "seq": event.get("seq")})


def _ticket_action(path: str, action: Callable) -> None:
    """Register a body-less counter action that answers with the ticket it acted on."""

    @one_transaction
    @role_required("staff")
    def view(hall: str, number: int):
        return _ticket_or_204(action(**_checked(hall, number)))

    bp.add_url_rule(f"/halls/<hall>/counters/<int:number>/{path}", f"counter_{path.replace('-', '_')}", view,
                    methods=["POST"])


def _counter_action(path: str, action: Callable) -> None:
    """Register a counter status action that answers with the counter."""

    @one_transaction
    @role_required("staff")
    def view(hall: str, number: int):
        return counter_answer(action(_guard(hall, number), number, staff_id=current_user.id))

    bp.add_url_rule(f"/halls/<hall>/counters/<int:number>/{path}", f"counter_{path}", view, methods=["POST"])


for _path, _action in (("call-next", queue.call_next), ("recall", queue.recall), ("start", queue.start),
                       ("no-show", queue.no_show)):
    _ticket_action(_path, _action)
for _path, _action in (("open", queue.open_counter), ("pause", queue.pause_counter),
                       ("close", queue.close_counter)):
    _counter_action(_path, _action)


@bp.post("/halls/<hall>/counters/<int:number>/finish")
@one_transaction
@role_required("staff")
def counter_finish(hall: str, number: int):
    data = body(Finish)
    notice = data.missing.model_dump() if data.missing else None
    return _ticket_or_204(queue.finish(**_checked(hall, number), outcome=data.outcome, notice=notice))


@bp.post("/halls/<hall>/counters/<int:number>/transfer")
@one_transaction
@role_required("staff")
def counter_transfer(hall: str, number: int):
    data = body(Transfer)
    return _ticket_or_204(queue.transfer(**_checked(hall, number), service=data.service, stage=data.stage,
                                         counter=data.counter, keep_place=data.keep_place, note=data.note))


@bp.post("/halls/<hall>/counters/<int:number>/call")
@one_transaction
@role_required("staff")
def counter_call_number(hall: str, number: int):
    data = body(CallNumber)
    return _ticket_or_204(queue.call_ticket(**_checked(hall, number), number=data.number))


@bp.post("/halls/<hall>/tickets/<ticket_number>/reinstate")
@one_transaction
@role_required("staff")
def ticket_reinstate(hall: str, ticket_number: str):
    event = queue.reinstate(_hall_of(hall), ticket_number, staff_id=current_user.id)
    return jsonify({**event["ticket"], "event": event["kind"], "seq": event["seq"]})
