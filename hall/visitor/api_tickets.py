"""The visitor's own ticket (by its token): cancel, rate; and the counter rating pad's rating."""
from __future__ import annotations

from flask import abort, current_app, jsonify, request
from sqlalchemy import select

from hall.api import body
from hall.api.public import public_ticket_view
from hall.devices import mark_seen
from hall.extensions import db
from hall.models import Counter, Device, Hall
from hall.queue import cancel_ticket
from hall.queue.lookup import counter_by_number, hall_by_slug, ticket_by_number, ticket_by_token
from hall.queue.rules import today
from hall.visitor import api
from hall.queue.views import notify_view
from hall.visitor.contact import set_notify_phone
from hall.visitor.feedback import feedback_view, pad_stage, phone_stage, rate
from hall.visitor.schemas import NotifyContact, PadRating, Rating


@api.post("/tickets/<token>/cancel")
def ticket_cancel(token: str):
    ticket = ticket_by_token(token)
    cancel_ticket(ticket.hall_id, ticket.id)
    db.session.refresh(ticket)
    return jsonify(public_ticket_view(ticket))


@api.post("/tickets/<token>/notify")
def ticket_notify(token: str):
    """The visitor asks to be told by phone when their turn is near."""
    data = body(NotifyContact)
    ticket = set_notify_phone(ticket_by_token(token), data.phone)
    return jsonify({"notify": notify_view(ticket), "near_ahead": current_app.config["HALL"]["notify"]["near_ahead"]})


@api.delete("/tickets/<token>/notify")
def ticket_notify_stop(token: str):
    set_notify_phone(ticket_by_token(token), None)
    return "", 204


@api.post("/tickets/<token>/feedback")
def ticket_feedback(token: str):
    data = body(Rating)
    ticket = ticket_by_token(token)
    feedback = rate(ticket, phone_stage(ticket), "phone", data.rating, data.reasons, data.comment, data.aspects())
    return jsonify(feedback_view(feedback)), 201


def rating_pad(hall: Hall, counter: Counter, token: str | None) -> Device:
    """The registered, active rating pad of this hall (and counter, if it is bound to one) with this token."""
    device = db.session.scalar(select(Device).where(Device.token == (token or ""), Device.kind == "rating_pad",
                                                    Device.hall_id == hall.id, Device.active.is_(True)))
    if device is None or device.counter_id not in (None, counter.id):
        abort(403, description="this needs the token of a registered rating pad of this counter")
    mark_seen(device)
    return device


@api.post("/halls/<hall>/counters/<int:number>/feedback")
def counter_feedback(hall: str, number: int):
    record = hall_by_slug(hall)
    counter = counter_by_number(record.id, number)
    rating_pad(record, counter, request.headers.get("X-Device-Token"))
    data = body(PadRating)
    ticket = ticket_by_number(record.id, data.number, today(record))
    stage = pad_stage(ticket, counter, current_app.config["HALL"]["feedback"]["pad_window_s"])
    feedback = rate(ticket, stage, "pad", data.rating, data.reasons, data.comment, data.aspects())
    return jsonify(feedback_view(feedback)), 201
