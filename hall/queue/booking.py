"""Appointments: the bookable slots of a service's day, booking and cancelling.

A booking runs as a hall action, so bookings of one hall are serialised by the
hall's write lock: counting a slot's bookings and adding one cannot interleave
with another booking, and a slot never goes over its capacity.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from hall import clock
from hall.extensions import db
from hall.models import Appointment, Hall, Service
from hall.queue.errors import Conflict, NotFound, QueueError
from hall.queue.realname import admit
from hall.queue.unit import hall_action

#: Letters and digits a visitor cannot confuse (no 0/O, 1/I/L): 31⁸ ≈ 8.5·10¹¹ codes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
BOOKED = "booked"


class UnknownService(NotFound):
    code = "unknown_service"


class ClosedDay(Conflict):
    code = "closed_day"


class PastSlot(QueueError):
    code = "past_slot"


class NotASlot(QueueError):
    code = "not_a_slot"


class SlotFull(Conflict):
    code = "slot_full"


class AlreadyBooked(Conflict):
    code = "already_booked"


@dataclass(frozen=True)
class Slot:
    at: time
    capacity: int
    booked: int
    past: bool

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)

    def view(self) -> dict[str, Any]:
        return {"at": self.at.strftime("%H:%M"), "capacity": self.capacity, "booked": self.booked,
                "free": self.free, "past": self.past}


def _settings() -> dict[str, Any]:
    return current_app.config["HALL"]["booking"]


def local_today(hall: Hall, now: datetime | None = None) -> date:
    return clock.to_local(now or clock.utcnow(), hall.timezone).date()


def bookable_service(hall_id: int, prefix: str) -> Service:
    service = db.session.scalar(select(Service).where(Service.hall_id == hall_id, Service.prefix == prefix.upper(),
                                                      Service.active.is_(True)))
    if service is None or not service.stages:
        raise UnknownService(f"unknown service {prefix!r}")
    return service


def closed_reason(hall: Hall, day: date, now: datetime | None = None) -> str | None:
    """Why a day takes no bookings (past, too far ahead, weekly closing day, holiday), or None."""
    settings = _settings()
    first = local_today(hall, now)
    if day < first:
        return "past"
    if day > first + timedelta(days=settings["days_ahead"]):
        return "too_far_ahead"
    return calendar_reason(hall, day)


def calendar_reason(hall: Hall, day: date) -> str | None:
    """Why the hall's calendar makes a day no working day ("closed_weekday", "holiday"), or None.

    The hall's open dates (make-up working days) win over its weekly closing days and holidays;
    holidays are the server's ([booking] holidays) and the hall's own.
    """
    iso = day.isoformat()
    if iso in (hall.booking_open_dates or []):
        return None
    if day.isoweekday() in closed_weekdays(hall):
        return "closed_weekday"
    if iso in _settings()["holidays"] or iso in (hall.booking_closed_dates or []):
        return "holiday"
    return None


def working_days_after(hall: Hall, day: date, count: int) -> date:
    """The `count`-th working day after `day` in the hall's calendar (deadlines in working days)."""
    while count > 0:
        day += timedelta(days=1)
        if calendar_reason(hall, day) is None:
            count -= 1
    return day


def closed_weekdays(hall: Hall) -> list[int]:
    """ISO weekdays (1 = Monday) without appointments at this hall."""
    own = hall.booking_closed_weekdays
    return list(own) if own is not None else list(_settings()["closed_weekdays"])


def slot_times(service: Service, hall: Hall) -> list[time]:
    """Slot starts from the service's hours (else the hall's) in steps of its slot length."""
    opens, closes = service.opens_at or hall.opens_at, service.closes_at or hall.closes_at
    step = timedelta(minutes=max(1, service.slot_minutes))
    start, end = datetime.combine(date.min, opens), datetime.combine(date.min, closes)
    times = []
    while start + step <= end:
        times.append(start.time())
        start += step
    return times


def _booked_counts(service: Service, day: date) -> dict[time, int]:
    return dict(db.session.execute(
        select(Appointment.slot_at, func.count()).where(Appointment.service_id == service.id, Appointment.day == day,
                                                        Appointment.status != "cancelled")
        .group_by(Appointment.slot_at)).all())


def day_slots(service: Service, hall: Hall, day: date, now: datetime | None = None) -> list[Slot]:
    now = now or clock.utcnow()
    counts = _booked_counts(service, day)
    return [Slot(at=at, capacity=service.slot_capacity, booked=counts.get(at, 0),
                 past=clock.local_to_utc(day, at, hall.timezone) <= now)
            for at in slot_times(service, hall)]


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.session.scalar(select(Appointment.id).where(Appointment.code == code)) is None:
            return code


def appointment_view(appointment: Appointment, hall: Hall) -> dict[str, Any]:
    service = appointment.service
    return {
        "code": appointment.code, "hall": hall.slug, "service": service.prefix,
        "service_name_zh": service.name_zh, "service_name_en": service.name_en,
        "day": appointment.day.isoformat(), "slot": appointment.slot_at.strftime("%H:%M"),
        "slot_minutes": service.slot_minutes, "status": appointment.status,
        "visitor_name": appointment.visitor_name, "phone": appointment.phone,
        "ticket_id": appointment.ticket_id, "created_at": clock.iso(appointment.created_at),
    }


def _slot_event(action, appointment: Appointment, kind: str) -> None:
    """Publish the slot's new count; no names or codes, as the public rooms see it too."""
    booked = _booked_counts(appointment.service, appointment.day).get(appointment.slot_at, 0)
    action.log(kind, service=appointment.service.prefix, day=appointment.day.isoformat(),
               slot=appointment.slot_at.strftime("%H:%M"), appointment_id=appointment.id)
    action.publish(kind, appointment={"service": appointment.service.prefix, "day": appointment.day.isoformat(),
                                      "slot": appointment.slot_at.strftime("%H:%M"), "booked": booked,
                                      "capacity": appointment.service.slot_capacity})


def book_appointment(hall_id: int, service_prefix: str, day: date, slot_at: time, *, visitor_name: str,
                     phone: str, id_number: str | None = None) -> dict[str, Any]:
    """Book one place in a slot; refuses closed days, past or unknown slots and full slots, and on a
    real-name service a missing or invalid ID number or one over the day's limit per person."""
    with hall_action(hall_id) as action:
        hall = action.hall
        service = bookable_service(hall_id, service_prefix)
        reason = closed_reason(hall, day, action.now)
        if reason == "past":
            raise PastSlot(f"{day.isoformat()} is in the past")
        if reason:
            raise ClosedDay(f"no appointments on {day.isoformat()} ({reason.replace('_', ' ')})", reason=reason)
        slot = next((s for s in day_slots(service, hall, day, action.now) if s.at == slot_at), None)
        if slot is None:
            raise NotASlot(f"{slot_at.strftime('%H:%M')} is not a slot of service {service.prefix}")
        if slot.past:
            raise PastSlot(f"the {slot_at.strftime('%H:%M')} slot has already begun")
        if slot.free == 0:
            raise SlotFull(f"the {slot_at.strftime('%H:%M')} slot is full", capacity=slot.capacity)
        if db.session.scalar(select(Appointment.id).where(
                Appointment.service_id == service.id, Appointment.day == day, Appointment.phone == phone,
                Appointment.status == BOOKED)) is not None:
            raise AlreadyBooked(f"this phone already has an appointment for service {service.prefix} that day")
        identity = admit(service, day, id_number)
        appointment = Appointment(hall_id=hall_id, service=service, day=day, slot_at=slot_at,
                                  visitor_name=visitor_name, phone=phone, code=_new_code(), status=BOOKED,
                                  created_at=action.now, id_hash=identity.hash if identity else None,
                                  id_masked=identity.masked if identity else None)
        db.session.add(appointment)
        db.session.flush()
        _slot_event(action, appointment, "appointment_booked")
        return appointment_view(appointment, hall)


def appointment_by_code(code: str) -> Appointment:
    appointment = db.session.scalar(select(Appointment).where(Appointment.code == normalise_code(code)))
    if appointment is None:
        raise NotFound("unknown appointment code")
    return appointment


def cancel_appointment(code: str) -> dict[str, Any]:
    """Give up a booked place; a checked-in or cancelled appointment cannot be cancelled."""
    hall_id = appointment_by_code(code).hall_id
    with hall_action(hall_id) as action:
        appointment = appointment_by_code(code)
        db.session.refresh(appointment)
        if appointment.status != BOOKED:
            raise Conflict(f"the appointment is {appointment.status.replace('_', ' ')} and cannot be cancelled",
                           appointment_status=appointment.status)
        appointment.status = "cancelled"
        db.session.flush()
        _slot_event(action, appointment, "appointment_cancelled")
        return appointment_view(appointment, action.hall)
