"""Periodic work of a server process, every `[monitor] scan_interval_s`.

Per active hall: close past business days once the reset time has passed, release
counters whose screen went silent, and raise or clear the monitor's time alarms.
Each step is a hall action under the hall's lock, so several server processes
doing the same round neither repeat nor lose anything.

The halls are read once per round as plain rows: an ORM object would be expired by each
step's commit or rollback and read again by the next (three more statements per hall).

In a server process the round is spread over the interval, one hall every
interval / halls, rather than all halls back to back: the round's work shares the event
loop with requests, and in one burst (~100 ms of CPU for 12 halls, ~280 ms while its
statements are new to the process) every request in flight meanwhile waited for it (the
p99 of a busy hall's issues). Each hall is still tended once per interval.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Flask
from sqlalchemy import Row, select

from hall.alarms import scan_hall
from hall.extensions import db, socketio
from hall.models import Hall
from hall.queue.day import close_stale_days
from hall.unavailable import DATABASE_ERRORS, note_failure
from hall.web.counter.presence import release_silent_counters

log = logging.getLogger(__name__)

#: What the round's steps read of a hall: its id, its slug (for the log) and its business day's clock.
_ACTIVE_HALLS = select(Hall.id, Hall.slug, Hall.timezone, Hall.reset_at).where(Hall.active.is_(True)).order_by(Hall.id)

T = TypeVar("T")


def active_halls() -> list[Row]:
    """The active halls as plain rows (id, slug, timezone, reset_at), the read transaction ended."""
    halls = db.session.execute(_ACTIVE_HALLS).all()
    db.session.rollback()
    return halls


def tend_hall(hall: Row) -> None:
    close_stale_days(hall)
    release_silent_counters(hall)
    scan_hall(hall.id, hall)


def tend(hall: Row) -> None:
    """`tend_hall`, with one hall's trouble logged rather than stopping the others' rounds."""
    try:
        tend_hall(hall)
    except Exception as error:
        db.session.rollback()
        if not note_failure(error):
            log.exception("housekeeping of hall %s failed", hall.slug)


def tend_all_halls() -> None:
    """Every active hall's round, back to back (commands and tests; a server spreads it)."""
    for hall in active_halls():
        tend(hall)


def _in_app(app: Flask, work: Callable[..., T], *args) -> T | None:
    """`work(*args)` in an app context of its own; None while the database is away (next time)."""
    with app.app_context():
        try:
            return work(*args)
        except DATABASE_ERRORS as error:
            if not note_failure(error):
                raise
            return None
        finally:
            db.session.remove()


def tend_spread(app: Flask, interval: float) -> None:
    """One round of a server process, `interval` seconds long: every active hall, one every
    interval / halls (the halls as the round's start found them)."""
    halls = _in_app(app, active_halls)
    if not halls:
        socketio.sleep(interval)
        return
    for hall in halls:
        socketio.sleep(interval / len(halls))
        _in_app(app, tend, hall)


def start_housekeeping(app: Flask) -> None:
    """Tend every active hall once per `[monitor] scan_interval_s` in a background task of the server
    process (`tend_spread`)."""
    interval = float(app.config["HALL"].get("monitor", {}).get("scan_interval_s", 15))
    if interval <= 0:
        return

    def loop() -> None:
        while True:
            tend_spread(app, interval)

    socketio.start_background_task(loop)
