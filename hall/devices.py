"""Registered devices (kiosks, displays, rating pads) and counter screens report that they are alive."""
from __future__ import annotations

from datetime import timedelta

from hall import clock
from hall.database import begin_write
from hall.extensions import db
from hall.models import Device

#: last_seen_at is written at most this often per device, so polling pages do not each write.
SEEN_RESOLUTION = timedelta(seconds=30)


def record_seen(record: db.Model, attribute: str, resolution: timedelta) -> None:
    """Write the time now into `record.<attribute>`, unless it was written less than `resolution` ago."""
    now = clock.utcnow()
    last = getattr(record, attribute)
    if last is not None and now - last < resolution:
        return
    model, record_id = type(record), record.id
    begin_write(db.session())
    setattr(db.session.get(model, record_id), attribute, now)
    db.session.commit()


def mark_seen(device: Device | None) -> None:
    """Record that a device just spoke to the server (the monitor alarms on silent ones)."""
    if device is not None:
        record_seen(device, "last_seen_at", SEEN_RESOLUTION)
