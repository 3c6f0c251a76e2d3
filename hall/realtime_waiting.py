"""The waiting counts public screens show, pushed at most once an interval per hall (DESIGN §5).

Public screens get no event for a normal ticket's issue (`hall.queue.unit.for_public_screens`), yet
the lobby shows how many wait for each service. So after events of a hall, this process sends the
hall's public room one `hall_waiting` message with the counts as they are then (the snapshot's
`services` list and the hall's `seq` they were read at), at most one per `[display] waiting_push_s`
per hall: a busy kiosk costs each screen one small message an interval, not one delivery per ticket,
and no display reads a whole snapshot for it. The counts are whole, not changes, so a message lost
(Redis away) is put right by the next one. Every public screen gets it: it also names the hall's last
public event, so in a busy hall a screen learns it lost one (Redis away) within a second or two, and
is not left to ask on its own after a quiet spell (hall/static/js/hall-live.js).
"""
from __future__ import annotations

import logging
import threading
from typing import Any

from flask import Flask

from hall.extensions import db, socketio
from hall.queue.lookup import hall_by_slug
from hall.snapshot import waiting_by_service

log = logging.getLogger(__name__)


def waiting_message(slug: str) -> dict[str, Any]:
    """The hall's waiting counts now, with the seq they are at least as new as, and the seq of the
    hall's last public event (`public_seq`): a screen that has not applied that one missed it."""
    hall = hall_by_slug(slug)
    return {"hall": slug, "seq": hall.event_seq, "public_seq": hall.public_seq, "services": waiting_by_service(hall)}


class WaitingPush:
    """Sends a hall's public room its waiting counts `interval_s` after an event, once per interval."""

    def __init__(self, app: Flask, room: Any, interval_s: float) -> None:
        self.app, self.room, self.interval_s = app, room, interval_s
        self.due: set[str] = set()  # halls whose message is on its way
        self.lock = threading.Lock()

    def note(self, event: dict[str, Any]) -> None:
        """An event of the hall committed: its counts may have moved."""
        slug = event["hall"]
        with self.lock:
            if slug in self.due:
                return
            self.due.add(slug)
        socketio.start_background_task(self._send_later, slug)

    def _send_later(self, slug: str) -> None:
        socketio.sleep(self.interval_s)
        with self.lock:  # an event from now on asks for a message of its own: none is missed
            self.due.discard(slug)
        with self.app.app_context():
            try:
                message = waiting_message(slug)
            except Exception as error:  # the database away: the next event's message puts it right
                log.warning("waiting counts of %s not sent: %s", slug, error)
                return
            finally:
                db.session.remove()
        socketio.emit("hall_waiting", message, to=self.room(slug))
