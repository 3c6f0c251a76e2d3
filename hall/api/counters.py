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
from hall.queue.lookup import counter_staff, hall_by_slug


def one_transaction(view: Callable) -> Callable:
    """A counter action's request is one write transaction on one connection: the caller's login
    and the checks are read in the action's own transaction instead of one before it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        begin_write(db.session(), go_on=True)
        return view(*args, **kwargs)

    return wrapped


def _guard(hall: str, number: int) -> int:
    """The hall id, once the caller may act at this counter: its own staff or a supervisor."""
    record = current_user.hall  # role_required saw that it is the hall of the path
    if not record.active:
        raise NotFound(f"unknown hall {hall!r}")
    staff_id = counter_staff(record.id, number)
    if staff_id not in (None, current_user.id) and not current_user.has_role("supervisor"):
        abort(403, description=f"counter {number} is open for another staff member")
    return record.id


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
        return _ticket_or_204(action(_guard(hall, number), number, staff_id=current_user.id))

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
    return _ticket_or_204(queue.finish(_guard(hall, number), number, outcome=data.outcome, notice=notice,
                                       staff_id=current_user.id))


@bp.post("/halls/<hall>/counters/<int:number>/transfer")
@one_transaction
@role_required("staff")
def counter_transfer(hall: str, number: int):
    data = body(Transfer)
    return _ticket_or_204(queue.transfer(_guard(hall, number), number, service=data.service, stage=data.stage,
                                         counter=data.counter, keep_place=data.keep_place, note=data.note,
                                         staff_id=current_user.id))


@bp.post("/halls/<hall>/counters/<int:number>/call")
@one_transaction
@role_required("staff")
def counter_call_number(hall: str, number: int):
    data = body(CallNumber)
    return _ticket_or_204(queue.call_ticket(_guard(hall, number), number, data.number, staff_id=current_user.id))


@bp.post("/halls/<hall>/tickets/<ticket_number>/reinstate")
@role_required("staff")
def ticket_reinstate(hall: str, ticket_number: str):
    event = queue.reinstate(hall_by_slug(hall).id, ticket_number, staff_id=current_user.id)
    return jsonify({**event["ticket"], "event": event["kind"], "seq": event["seq"]})
