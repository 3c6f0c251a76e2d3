"""Appointment check-in: a booked visitor arriving in their window gets an appointment-priority ticket."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hall import clock
from hall.extensions import db
from hall.models import Appointment, Hall
from hall.queue.errors import QueueError, ServiceClosed
from hall.queue.layout import services_of
from hall.queue.privacy import mask_name
from hall.queue.realname import appointment_identity
from hall.queue.tickets import add_ticket, find_by_idempotency_key, issued_view
from hall.queue.unit import hall_action


class CheckInRefused(QueueError):
    """An appointment code that cannot be checked in now; `code` says why.

    appointment_unknown (404), appointment_cancelled, appointment_used, appointment_early,
    appointment_late (409).
    """

    status = 409

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code
        if code == "appointment_unknown":
            self.status = 404


def checkin_window(appointment: Appointment, hall: Hall) -> tuple[datetime, datetime]:
    """UTC moments between which the appointment can be checked in."""
    slot = clock.local_to_utc(appointment.day, appointment.slot_at, hall.timezone)
    return slot - timedelta(minutes=hall.checkin_before_min), slot + timedelta(minutes=hall.checkin_after_min)


def _local_hm(moment: datetime, hall: Hall) -> str:
    return clock.to_local(moment, hall.timezone).strftime("%H:%M")


def _refuse_unless_due(appointment: Appointment, hall: Hall, now: datetime) -> None:
    if appointment.status == "cancelled":
        raise CheckInRefused("appointment_cancelled", "this appointment was cancelled")
    if appointment.status != "booked":
        raise CheckInRefused("appointment_used", "this appointment has already been checked in")
    opens, closes = checkin_window(appointment, hall)
    details = {"day": appointment.day.isoformat(), "slot": appointment.slot_at.strftime("%H:%M"),
               "opens": _local_hm(opens, hall), "closes": _local_hm(closes, hall)}
    local_today = clock.to_local(now, hall.timezone).date()
    if now < opens:
        where = "today" if appointment.day == local_today else f"on {appointment.day.isoformat()}"
        raise CheckInRefused("appointment_early", f"too early: check-in opens {where} at {details['opens']}",
                             **details)
    if now > closes:
        raise CheckInRefused("appointment_late", f"too late: check-in closed at {details['closes']}"
                             f" on {appointment.day.isoformat()}", **details)


def check_in(hall_id: int, code: str, *, idempotency_key: str | None = None,
             staff_id: int | None = None) -> dict[str, Any]:
    """Check in the appointment with `code`; returns the issued ticket view.

    The appointment must be booked and `now` inside [slot − checkin_before_min, slot + checkin_after_min]
    (hall-local time). The same idempotency key returns the same ticket (a kiosk retrying one scan).
    The slot was reserved when booking, so service hours and daily capacity are not checked again.
    """
    code = code.strip()
    with hall_action(hall_id) as action:
        if idempotency_key and (existing := find_by_idempotency_key(hall_id, idempotency_key)):
            return {**issued_view(existing), "repeated": True}
        appointment = db.session.scalar(select(Appointment).where(
            Appointment.hall_id == hall_id, func.upper(Appointment.code) == code.upper()))
        if appointment is None or not code:
            raise CheckInRefused("appointment_unknown", f"no appointment with code {code!r}")
        _refuse_unless_due(appointment, action.hall, action.now)
        if not appointment.service.active:
            raise ServiceClosed(f"service {appointment.service.prefix} is closed (inactive)", reason="inactive")
        ticket_id, view = add_ticket(action, services_of(action.hall).by_id[appointment.service_id],
                                     priority="appointment", channel="appointment", idempotency_key=idempotency_key,
                                     appointment_id=appointment.id, staff_id=staff_id,
                                     identity=appointment_identity(appointment),
                                     visitor_masked=mask_name(appointment.visitor_name))
        appointment.status, appointment.ticket_id = "checked_in", ticket_id
        action.log("checked_in", ticket_id=ticket_id, staff_id=staff_id, appointment_id=appointment.id)
    return view
