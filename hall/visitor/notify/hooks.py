"""Engine subscriber: "your turn is near" when N people are ahead, and the rating link after the visit.

A ticket has a phone number to write to when it was checked in from an appointment or the
visitor left one on the ticket page (hall/visitor/contact.py). Messages
are composed in the request, read on the action's own connection once it has committed (no second
checkout), and sent on a worker thread, so a slow gateway never slows a counter's call.
"""
from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask, current_app, has_request_context, request
from flask_babel import force_locale, gettext as _
from sqlalchemy import Select, bindparam, select
from sqlalchemy.engine import Connection

from hall.database import run_driver
from hall.extensions import db
from hall.models import Appointment, Hall, Service, Ticket
from hall.queue.unit import subscribe_reading
from hall.visitor.notify import Message, notifier_from

log = logging.getLogger(__name__)
#: Events after which the ticket N places behind the head of a line has just moved up to N ahead.
LINE_MOVES = ("called", "cancelled")


class Dispatcher:
    """Sends messages one after another on a worker thread; failures are logged, never raised."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notify")

    def submit(self, settings: dict[str, Any], message: Message) -> Future:
        return self._pool.submit(self._send, dict(settings), message)

    @staticmethod
    def _send(settings: dict[str, Any], message: Message) -> None:
        try:
            notifier_from(settings).send(message)
        except Exception:
            log.exception("notify %s to %s failed", message.kind, message.phone)


@dataclass(frozen=True)
class Contact:
    phone: str
    name: str


def _contact(ticket: Any) -> Contact | None:
    """Where the visitor of a ticket (a row of `_message_fields`) can be written to: the ticket page's
    number first, then the booking's."""
    if ticket.notify_phone:
        return Contact(ticket.notify_phone, "")
    return Contact(ticket.booked_phone, ticket.booked_name) if ticket.booked_phone else None


def _link(token: str) -> str | None:
    base = current_app.config["HALL"]["server"]["public_url"]
    path = current_app.url_map.bind("").build("visitor.ticket", {"token": token})
    if base:
        return base.rstrip("/") + path
    return request.host_url.rstrip("/") + path if has_request_context() else None


def _message_fields() -> Select:
    """What a message needs of a ticket: its number, its token and where to write to (its booking's
    phone and name too: one statement)."""
    return (select(Ticket.number, Ticket.token, Ticket.notify_phone, Appointment.phone.label("booked_phone"),
                   Appointment.visitor_name.label("booked_name"))
            .outerjoin(Appointment, Appointment.id == Ticket.appointment_id))


def _by_token_statement(_dialect: str) -> Select:
    return _message_fields().where(Ticket.token == bindparam("token"))


def _near_statement(_dialect: str) -> Select:
    """The waiting ticket at offset `ahead` of a line named by the hall's slug, the service's prefix, the
    stage and the day."""
    return (_message_fields()
            .join(Hall, Hall.id == Ticket.hall_id).join(Service, Service.id == Ticket.service_id)
            .where(Hall.slug == bindparam("hall"), Service.prefix == bindparam("service"),
                   Ticket.business_day == bindparam("day"), Ticket.status == "waiting",
                   Ticket.stage_code == bindparam("stage"), Ticket.target_counter_id.is_(None))
            .order_by(Ticket.sort_at, Ticket.id).offset(bindparam("ahead")).limit(1))


def _near_ticket(connection: Connection, event: dict[str, Any], ahead: int) -> Any:
    """The waiting ticket that now has exactly `ahead` people ahead in the line the event's ticket left
    (one statement, built once and sent on the driver's cursor: it runs after every call)."""
    moved = event["ticket"]
    return run_driver(connection, _near_statement, {
        "hall": event["hall"], "service": moved["service"], "day": date.fromisoformat(moved["business_day"]),
        "stage": moved["stage"]["code"], "ahead": ahead}).one_or_none()


def messages_for(event: dict[str, Any], settings: dict[str, Any], connection: Connection) -> list[Message]:
    """The messages an engine event calls for, read on `connection`."""
    if not event.get("ticket") or not event["ticket"].get("token"):
        return []
    if event["kind"] in LINE_MOVES:
        ticket = _near_ticket(connection, event, settings["near_ahead"])
        contact = _contact(ticket) if ticket else None
        if contact is None:
            return []
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = _("Ticket %(number)s: %(n)s people ahead of you. Please come to the waiting area.",
                     number=ticket.number, n=settings["near_ahead"])
            link = _link(ticket.token)
            return [Message(contact.phone, contact.name, _("Your turn is near"),
                            f"{text} {link or ''}".strip(), "near")]
    if event["kind"] == "finished":
        ticket = run_driver(connection, _by_token_statement,
                            {"token": event["ticket"]["token"]}).one_or_none()
        contact = _contact(ticket) if ticket else None
        link = _link(ticket.token) if contact else None
        if contact is None or link is None:
            return []
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            return [Message(contact.phone, contact.name, _("Please rate your visit"),
                            _("Thank you for visiting. Please rate our service: %(link)s", link=link), "rating")]
    return []


def init_notify(app: Flask) -> None:
    dispatcher = Dispatcher()
    app.extensions["hall_notify"] = dispatcher

    def on_event(event: dict[str, Any], connection: Connection | None) -> None:
        settings = current_app.config["HALL"]["notify"]
        if settings["backend"] == "none":
            return
        for message in messages_for(event, settings, connection or db.session.connection()):
            dispatcher.submit(settings, message)

    subscribe_reading(app, on_event, (*LINE_MOVES, "finished"))
