"""Appointment check-in over the API: a booked visitor gets an appointment-priority ticket."""
from __future__ import annotations

from flask import jsonify
from flask_login import current_user

from hall.api import bp, body
from hall.api.public import may_issue
from hall.api.schemas import CheckIn
from hall.queue.checkin import check_in
from hall.queue.lookup import hall_by_slug


@bp.post("/halls/<hall>/appointments/<code>/check-in")
def check_in_appointment(hall: str, code: str):
    """Staff, or the public where the hall lets the public (or only registered kiosks) issue tickets."""
    record = hall_by_slug(hall)
    data = body(CheckIn)
    may_issue(record, "kiosk")
    staff_id = current_user.id if current_user.is_authenticated else None
    view = check_in(record.id, code, idempotency_key=data.idempotency_key, staff_id=staff_id)
    return jsonify(view), 200 if view.get("repeated") else 201
