"""Displays as registered devices: a token in the page URL names the screen and keeps its last_seen."""
from __future__ import annotations

from datetime import timedelta

from flask import abort
from sqlalchemy import select

from hall import clock
from hall.extensions import db
from hall.models import Device, Hall

#: last_seen_at is written at most this often per display (pages poll every minute).
SEEN_RESOLUTION = timedelta(seconds=30)


def display_device(hall: Hall, token: str | None) -> Device | None:
    """The active display of `hall` with this token, marked as seen; None without a token.

    A token that names no active display of this hall is refused (403) rather than
    quietly treated as anonymous, so a mistyped kiosk URL shows up at once.
    """
    if not token:
        return None
    device = db.session.scalar(select(Device).where(Device.token == token))
    if device is None or not device.active or device.kind != "display" or device.hall_id != hall.id:
        abort(403, description="this display token is not registered for this hall")
    now = clock.utcnow()
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_RESOLUTION:
        device.last_seen_at = now
        db.session.commit()
    return device
