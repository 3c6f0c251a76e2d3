"""One queue action = one transaction = one published event.

Every action first bumps its hall's event sequence. That single UPDATE is also
the hall's write lock: on PostgreSQL it locks the hall row until commit, on
SQLite the transaction is BEGIN IMMEDIATE. Actions of one hall are therefore
serialised, which is what keeps numbers unique and calls exclusive; actions of
different halls do not wait for each other on PostgreSQL.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import update

from hall import clock
from hall.database import begin_write
from hall.extensions import db
from hall.models import Hall, TicketEvent
from hall.queue.errors import NotFound

log = logging.getLogger(__name__)


@dataclass
class Action:
    hall: Hall
    seq: int
    now: datetime
    event: dict[str, Any] | None = None
    _logged: list[TicketEvent] = field(default_factory=list)

    def log(self, kind: str, *, ticket_id: int | None = None, counter_id: int | None = None,
            staff_id: int | None = None, **data: Any) -> None:
        """Append a row to the event log (several rows may share the action's seq)."""
        row = TicketEvent(hall_id=self.hall.id, seq=self.seq, ticket_id=ticket_id, kind=kind, at=self.now,
                          counter_id=counter_id, staff_id=staff_id, data=data)
        db.session.add(row)
        self._logged.append(row)

    def publish(self, kind: str, **payload: Any) -> dict[str, Any]:
        """Set the one event this action publishes after it commits."""
        self.event = {"seq": self.seq, "hall": self.hall.slug, "kind": kind, "at": clock.iso(self.now), **payload}
        return self.event


def _take_lock(hall: int | str) -> Hall:
    """Bump the hall's event sequence (the hall's write lock) and read the hall back, in one statement."""
    which = Hall.id == hall if isinstance(hall, int) else (Hall.slug == hall) & Hall.active.is_(True)
    record = db.session.scalars(
        update(Hall).where(which).values(event_seq=Hall.event_seq + 1).returning(Hall),
        execution_options={"synchronize_session": False, "populate_existing": True}).one_or_none()
    if record is None:
        raise NotFound("unknown hall" if isinstance(hall, int) else f"unknown hall {hall!r}")
    return record


@contextmanager
def hall_action(hall: int | str) -> Iterator[Action]:
    """Run a queue action of a hall (id, or slug of an active hall) in one write transaction;
    publish its event after commit.

    The transaction the request has open goes on where it may write (see `begin_write`), so a
    request is one transaction on one connection. An action that sets no event (nothing
    happened, e.g. nobody waiting) is rolled back, so the sequence has no gaps that clients
    would take for lost events.
    """
    session = db.session()
    begin_write(session, go_on=True)
    try:
        record = _take_lock(hall)
        action = Action(hall=record, seq=record.event_seq, now=clock.utcnow())
        yield action
    except BaseException:
        session.rollback()
        raise
    if action.event is None:
        session.rollback()
        return
    session.commit()
    publish(action.event)


def publish(event: dict[str, Any]) -> None:
    """Hand a committed event to every subscriber of the app (realtime push, notifiers)."""
    for subscriber in current_app.extensions.get("hall_subscribers", []):
        try:
            subscriber(event)
        except Exception:  # a failing screen push must not undo a committed action
            log.exception("event subscriber %r failed for %s", subscriber, event.get("kind"))


def subscribe(app, subscriber) -> None:
    app.extensions.setdefault("hall_subscribers", []).append(subscriber)
