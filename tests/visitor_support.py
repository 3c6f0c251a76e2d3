"""Helpers of the visitor tests: a rating pad device and moving a ticket through the counters."""
from __future__ import annotations

import secrets

from hall import queue
from hall.extensions import db
from hall.models import Counter, Device


def add_rating_pad(hall_id: int, counter_number: int | None = None) -> str:
    """Register a rating pad (bound to a counter when given); returns its token."""
    counter_id = None
    if counter_number is not None:
        counter_id = db.session.query(Counter.id).filter_by(hall_id=hall_id, number=counter_number).scalar()
    token = secrets.token_urlsafe(24)
    db.session.add(Device(hall_id=hall_id, kind="rating_pad", name=f"Pad {counter_number}", token=token,
                          counter_id=counter_id))
    db.session.commit()
    return token


def serve_at(demo, counter: int, **finish) -> dict:
    """Open a counter with its staff, call the next ticket, start and finish it there."""
    queue.open_counter(demo.id, counter, staff_id=demo.staff(f"staff{counter}").id)
    queue.call_next(demo.id, counter)
    queue.start(demo.id, counter)
    return queue.finish(demo.id, counter, **finish)
