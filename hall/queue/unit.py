"""One queue action = one transaction = one published event.

Every action first bumps its hall's event sequence. That single UPDATE is also
the hall's write lock: on PostgreSQL it locks the hall row until commit, on
SQLite the transaction is BEGIN IMMEDIATE. Actions of one hall are therefore
serialised, which is what keeps numbers unique and calls exclusive; actions of
different halls do not wait for each other on PostgreSQL.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Row, bindparam, insert, update

from hall import clock, pictures
from hall.database import begin_write, prepared
from hall.extensions import db
from hall.models import Hall, TicketEvent
from hall.queue.errors import NotFound

log = logging.getLogger(__name__)


_INSERT_EVENT = insert(TicketEvent.__table__)


@dataclass
class Action:
    hall: Hall | Row
    seq: int
    now: datetime
    event: dict[str, Any] | None = None
    #: What to do once the action has committed (outside the lock), in order.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def log(self, kind: str, *, ticket_id: int | None = None, counter_id: int | None = None,
            staff_id: int | None = None, **data: Any) -> None:
        """Append a row to the event log (several rows may share the action's seq): one INSERT, now."""
        db.session.connection().execute(_INSERT_EVENT, dict(
            hall_id=self.hall.id, seq=self.seq, ticket_id=ticket_id, kind=kind, at=self.now, counter_id=counter_id,
            staff_id=staff_id, data=data))

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


def _lock_statement(by_slug: bool):
    table = Hall.__table__
    which = (table.c.slug == bindparam("hall")) & table.c.active.is_(True) if by_slug else table.c.id == bindparam(
        "hall")
    return lambda _dialect: update(table).where(which).values(event_seq=table.c.event_seq + 1).returning(*table.c)


_LOCK_BY_ID, _LOCK_BY_SLUG = _lock_statement(False), _lock_statement(True)


def _take_lock_plain(hall: int | str) -> Row:
    """`_take_lock` for an action that only reads the hall: its row, not an ORM object (cheaper)."""
    connection = db.session.connection()
    statement = prepared(connection, _LOCK_BY_ID if isinstance(hall, int) else _LOCK_BY_SLUG)
    record = connection.execute(statement, {"hall": hall}).one_or_none()
    if record is None:
        raise NotFound("unknown hall" if isinstance(hall, int) else f"unknown hall {hall!r}")
    return record


@contextmanager
def hall_action(hall: int | str, *, plain_hall: bool = False) -> Iterator[Action]:
    """Run a queue action of a hall (id, or slug of an active hall) in one write transaction;
    publish its event after commit. With `plain_hall`, `action.hall` is the hall's row (read only,
    same attribute names), for actions that do not change the hall.

    The transaction the request has open goes on where it may write (see `begin_write`), so a
    request is one transaction on one connection. An action that sets no event (nothing
    happened, e.g. nobody waiting) is rolled back, so the sequence has no gaps that clients
    would take for lost events.
    """
    session = db.session()
    begin_write(session, go_on=True)
    try:
        record = _take_lock_plain(hall) if plain_hall else _take_lock(hall)
        action = Action(hall=record, seq=record.event_seq, now=clock.utcnow())
        yield action
    except BaseException:
        session.rollback()
        raise
    if action.event is None:
        session.rollback()
        return
    hall_id = action.hall.id
    session.commit()
    if not _only_joined_a_line(action.event):  # counters, handling times or arrival rates changed
        pictures.forget(hall_id)
    for then in action.after_commit:
        then()
    publish(action.event)


def _only_joined_a_line(event: dict[str, Any]) -> bool:
    """A normal ticket was issued: of the estimate's inputs, only line counts moved."""
    return event["kind"] == "issued" and event["ticket"]["priority"] == "normal"


def publish(event: dict[str, Any]) -> None:
    """Hand a committed event to every subscriber of the app (realtime push, notifiers)."""
    for subscriber in current_app.extensions.get("hall_subscribers", []):
        try:
            subscriber(event)
        except Exception:  # a failing screen push must not undo a committed action
            log.exception("event subscriber %r failed for %s", subscriber, event.get("kind"))


def subscribe(app, subscriber) -> None:
    app.extensions.setdefault("hall_subscribers", []).append(subscriber)
