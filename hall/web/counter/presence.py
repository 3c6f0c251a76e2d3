"""A counter follows its staff member: signing out or leaving closes it, or pauses it while it
still holds a ticket (the ticket must be finished or marked no-show before the counter closes)."""
from __future__ import annotations

from typing import Any

from flask import Flask, flash
from flask_babel import gettext as _
from flask_login import user_logged_out
from sqlalchemy import select

from hall.extensions import db
from hall.models import Counter, Staff
from hall.queue import Conflict, close_counter, pause_counter
from hall.web.counter import bp


def release_counter(counter: Counter, staff_id: int) -> dict[str, Any]:
    """Close the counter, or pause it when it holds a ticket."""
    try:
        return close_counter(counter.hall_id, counter.number, staff_id=staff_id)
    except Conflict:
        return pause_counter(counter.hall_id, counter.number, staff_id=staff_id)


def release_counters_of(staff: Staff, keep: Counter | None = None) -> list[dict[str, Any]]:
    """Release every counter the staff member holds (but `keep`), flashing what happened to each."""
    held = db.session.scalars(select(Counter).where(Counter.staff_id == staff.id, Counter.status != "closed")
                              .order_by(Counter.number)).all()
    events = []
    for counter in held:
        if keep is not None and counter.id == keep.id:
            continue
        event = release_counter(counter, staff.id)
        flash_release(event)
        events.append(event)
    return events


def flash_release(event: dict[str, Any]) -> None:
    number = event["counter"]["number"]
    if event["counter"]["status"] == "closed":
        flash(_("Counter %(number)s is closed.", number=number))
    else:
        flash(_("Counter %(number)s is paused: it still holds a ticket.", number=number))


def _on_logout(app: Flask, user: Staff | None = None, **_extra: Any) -> None:
    if isinstance(user, Staff):
        release_counters_of(user)


@bp.record_once
def _connect_logout(state) -> None:
    user_logged_out.connect(_on_logout, state.app)
