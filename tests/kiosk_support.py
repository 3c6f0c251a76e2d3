"""Shared helpers of the kiosk tests: appointments written directly as rows."""
from __future__ import annotations

import itertools
from datetime import date, time

from hall.extensions import db
from hall.models import Appointment
from hall.queue.lookup import service_by_prefix

_codes = itertools.count(1)


def book(hall_id: int, *, day: date = date(2026, 3, 2), slot: time = time(10, 0), service: str = "B",
         status: str = "booked", code: str | None = None) -> Appointment:
    """A booked appointment row (the booking pages are another part of Hall)."""
    appointment = Appointment(hall_id=hall_id, service_id=service_by_prefix(hall_id, service).id, day=day,
                              slot_at=slot, visitor_name="王小明", phone="13800000000",
                              code=code or f"AP{next(_codes):06d}", status=status)
    db.session.add(appointment)
    db.session.commit()
    return appointment
