"""Registered devices (kiosks, displays, rating pads) report that they are alive."""
from __future__ import annotations

from datetime import timedelta

from hall import clock
from hall.database import begin_write
from hall.extensions import db
from hall.models import Device

#: last_seen_at is written at most this often per device, so polling pages do not each write.
SEEN_RESOLUTION = timedelta(seconds=30)


def mark_seen(device: Device | None) -> None:
    """Record that a device just spoke to the server (the monitor alarms on silent ones)."""
    if device is None:
        return
    now = clock.utcnow()
    if device.last_seen_at is not None and now - device.last_seen_at < SEEN_RESOLUTION:
        return
    device_id = device.id
    begin_write(db.session())
    db.session.get(Device, device_id).last_seen_at = now
    db.session.commit()
