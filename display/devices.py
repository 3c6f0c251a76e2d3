"""Displays as registered devices: a token in the page URL names the screen and keeps its last_seen."""
from __future__ import annotations

from flask import abort
from sqlalchemy import select

from hall.devices import mark_seen
from hall.extensions import db
from hall.models import Device, Hall

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
    mark_seen(device)
    return device
