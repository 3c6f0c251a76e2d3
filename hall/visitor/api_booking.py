"""Appointment API: a day's slots, booking, looking up and cancelling by code, the staff's day list."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, jsonify, request, url_for
from sqlalchemy import select

from hall.api import body
from hall.api.stats import date_arg
from hall.auth import role_required
from hall.extensions import db, limiter
from hall.models import Appointment
from hall.queue.booking import (
    appointment_by_code, appointment_view, book_appointment, bookable_service, cancel_appointment, closed_reason,
    day_slots, local_today,
)
from hall.queue.lookup import hall_by_slug
from hall.queue.views import masked_phone
from hall.visitor import api
from hall.visitor.schemas import Booking

#: Lookups by code are limited so that codes cannot be guessed by trying.
CODE_RATE = "30 per minute"


def _booking_rate() -> str:
    return current_app.config["HALL"]["booking"]["rate"]


def public_view(appointment: Appointment) -> dict:
    """What the holder of a code sees: the phone masked, links to the page and the day."""
    view = appointment_view(appointment, appointment.service.hall)
    view.pop("ticket_id")
    return {**view, "phone": masked_phone(view["phone"]),
            "page_url": url_for("visitor.appointment", hall=view["hall"], code=view["code"])}


@api.get("/halls/<hall>/appointments/slots")
def appointment_slots(hall: str):
    record = hall_by_slug(hall)
    service = bookable_service(record.id, request.args.get("service", ""))
    day = date_arg("day", local_today(record))
    reason = closed_reason(record, day)
    slots = [] if reason else [s.view() for s in day_slots(service, record, day)]
    return jsonify({"hall": record.slug, "service": service.prefix, "day": day.isoformat(), "closed": reason,
                    "slot_minutes": service.slot_minutes, "slots": slots})


@api.post("/halls/<hall>/appointments")
@limiter.limit(_booking_rate, error_message="Too many bookings from this address; try again later.")
def appointment_create(hall: str):
    record = hall_by_slug(hall)
    data = body(Booking)
    view = book_appointment(record.id, data.service, data.day, data.slot, visitor_name=data.name, phone=data.phone,
                            id_number=data.id_number)
    return jsonify(public_view(appointment_by_code(view["code"]))), 201


@api.get("/appointments/<code>")
@limiter.limit(CODE_RATE)
def appointment_get(code: str):
    return jsonify(public_view(appointment_by_code(code)))


@api.delete("/appointments/<code>")
@limiter.limit(CODE_RATE)
def appointment_delete(code: str):
    cancel_appointment(code)
    return jsonify(public_view(appointment_by_code(code)))


def day_list(hall_id: int, day: date) -> list[Appointment]:
    return db.session.scalars(select(Appointment).where(Appointment.hall_id == hall_id, Appointment.day == day)
                              .order_by(Appointment.slot_at, Appointment.service_id, Appointment.id)).all()


@api.get("/halls/<hall>/appointments")
@role_required("staff")
def appointment_day(hall: str):
    record = hall_by_slug(hall)
    day = date_arg("day", local_today(record))
    if abs((day - local_today(record)).days) > 366:
        abort(400, description="ask for a day within a year")
    return jsonify({"hall": record.slug, "day": day.isoformat(),
                    "appointments": [appointment_view(a, record) for a in day_list(record.id, day)]})
