"""Periodic work of a server process, every `[monitor] scan_interval_s`.

Per active hall: close past business days once the reset time has passed, release
counters whose screen went silent, and raise or clear the monitor's time alarms.
Each step is a hall action under the hall's lock, so several server processes
doing the same round neither repeat nor lose anything.
"""
from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import select

from hall.alarms import scan_hall
from hall.extensions import db, socketio
from hall.models import Hall
from hall.queue.day import close_stale_days
from hall.unavailable import DATABASE_ERRORS, note_failure
from hall.web.counter.presence import release_silent_counters

log = logging.getLogger(__name__)


def tend_hall(hall: Hall) -> None:
    close_stale_days(hall)
    release_silent_counters(hall)
    scan_hall(hall.id)


def tend_all_halls() -> None:
    for hall in db.session.scalars(select(Hall).where(Hall.active.is_(True))).all():
        try:
            tend_hall(hall)
        except Exception as error:  # one hall's trouble must not stop the others' rounds
            db.session.rollback()
            if not note_failure(error):
                log.exception("housekeeping of hall %s failed", hall.slug)


def start_housekeeping(app: Flask) -> None:
    """Run `tend_all_halls` periodically in a background task of the server process."""
    interval = float(app.config["HALL"].get("monitor", {}).get("scan_interval_s", 15))
    if interval <= 0:
        return

    def loop() -> None:
        while True:
            socketio.sleep(interval)
            with app.app_context():
                try:
                    tend_all_halls()
                except DATABASE_ERRORS as error:  # the database is away: try next round
                    if not note_failure(error):
                        raise
                finally:
                    db.session.remove()

    socketio.start_background_task(loop)
