"""A counter follows its staff member and their screen.

Signing out or leaving releases the counter at once: it closes, or pauses while it still holds a
ticket (the ticket must be finished or marked no-show before the counter closes). A screen that
goes silent (tab closed, PC off) releases it after `[counter] screen_timeout_s`, so visitors are
not called to an empty window. The screen's state requests are its sign of life.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, flash
from flask_babel import gettext as _
from flask_login import user_logged_out
from sqlalchemy import or_, select

from hall import clock
from hall.devices import record_seen
from hall.extensions import db
from hall.models import Counter, Hall, Staff
from hall.queue import Conflict, release_counter
from hall.web.counter import bp


def screen_timeout_s() -> float:
    return float(current_app.config["HALL"].get("counter", {}).get("screen_timeout_s", 120))


def _seen_resolution() -> timedelta:
    """screen_seen_at is written at most this often, so a screen refreshing on every event does not each write."""
    return timedelta(seconds=min(15.0, screen_timeout_s() / 4))


def mark_screen_seen(counter: Counter) -> None:
    """The screen of the counter's staff member just asked for its state."""
    record_seen(counter, "screen_seen_at", _seen_resolution())


def release_silent_counters(hall: Hall, now: datetime | None = None) -> list[dict[str, Any]]:
    """Release the hall's counters whose screen has not been heard from within the timeout."""
    timeout = screen_timeout_s()
    if timeout <= 0:
        return []
    silent_since = (now or clock.utcnow()) - timedelta(seconds=timeout)
    silent = db.session.execute(
        select(Counter.number, Counter.staff_id).where(
            Counter.hall_id == hall.id, Counter.screen_seen_at < silent_since,
            or_(Counter.status == "open", (Counter.status == "paused") & Counter.current_ticket_id.is_(None)))
        .order_by(Counter.number)).all()
    db.session.rollback()
    events = []
    for number, staff_id in silent:
        try:
            events.append(release_counter(hall.id, number, staff_id=staff_id))
        except Conflict:  # closed meanwhile: its ticket was finished and the counter left between the two steps
            db.session.rollback()
    return events


def release_counters_of(staff: Staff, keep: Counter | None = None) -> list[dict[str, Any]]:
    """Release every counter the staff member holds (but `keep`), flashing what happened to each."""
    held = db.session.scalars(select(Counter).where(Counter.staff_id == staff.id, Counter.status != "closed")
                              .order_by(Counter.number)).all()
    events = []
    for counter in held:
        if keep is not None and counter.id == keep.id:
            continue
        event = release_counter(counter.hall_id, counter.number, staff_id=staff.id)
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
