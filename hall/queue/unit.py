"""One queue action = one transaction = one published event.

Every action first bumps its hall's event sequence. That single UPDATE is also
the hall's write lock: on PostgreSQL it locks the hall row until commit, on
SQLite the transaction is BEGIN IMMEDIATE. Actions of one hall are therefore
serialised, which is what keeps numbers unique and calls exclusive; actions of
different halls do not wait for each other on PostgreSQL.

A bulk load by a hall's only writer (the simulator filling a hall's past) runs its actions
in a `sole_writer` batch instead: the same functions, each action with its own seq and
event rows, but many actions per transaction (see `sole_writer`).
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
from sqlalchemy import event as orm_event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from hall import clock, pictures
from hall.database import (WriteOnOwnConnection, WriteOnSession, begin_write, read_committed, run_driver,
                           session_made, write_transaction)
from hall.extensions import db
from hall.fifo import FifoPlaces
from hall.models import Hall, TicketEvent
from hall.queue.errors import NotFound
from hall.queue.rows import expire_noted, forget_written, noting_rows, written_kept

log = logging.getLogger(__name__)


INSERT_EVENT = insert(TicketEvent.__table__)


@dataclass
class Action:
    hall: Hall | Row
    seq: int
    now: datetime
    #: The connection of the action's transaction, for statements sent as driver SQL (`run_driver`).
    connection: Connection
    event: dict[str, Any] | None = None
    #: What to do once the action has committed (outside the lock), in order.
    after_commit: list[Callable[[], None]] = field(default_factory=list)

    def log(self, kind: str, *, ticket_id: int | None = None, counter_id: int | None = None,
            staff_id: int | None = None, **data: Any) -> None:
        """Append a row to the event log (several rows may share the action's seq): one INSERT, now."""
        run_driver(self.connection, INSERT_EVENT, self.event_row(
            kind, ticket_id=ticket_id, counter_id=counter_id, staff_id=staff_id, **data))

    def event_row(self, kind: str, *, ticket_id: int | None = None, counter_id: int | None = None,
                  staff_id: int | None = None, **data: Any) -> dict[str, Any]:
        """The event log's row `log` writes, for a statement that writes it along with other rows."""
        return dict(hall_id=self.hall.id, seq=self.seq, ticket_id=ticket_id, kind=kind, at=self.now,
                    counter_id=counter_id, staff_id=staff_id, data=data)

    def publish(self, kind: str, **payload: Any) -> dict[str, Any]:
        """Set the one event this action publishes after it commits."""
        self.event = {"seq": self.seq, "hall": self.hall.slug, "kind": kind, "at": clock.iso(self.now), **payload}
        return self.event


def _unknown_hall(hall: int | str) -> NotFound:
    return NotFound("unknown hall" if isinstance(hall, int) else f"unknown hall {hall!r}")


def _bumped(table, public: bool | None) -> dict[str, Any]:
    """The lock's new values: the next seq and, for an action whose event public screens get, the
    public chain's next link (right-hand sides read the row as it was before the UPDATE)."""
    values = {"event_seq": table.c.event_seq + 1}
    if public:
        values |= {"public_prev_seq": table.c.public_seq, "public_seq": table.c.event_seq + 1}
    return values


def _take_lock(hall: int | str, public: bool | None = True) -> Hall:
    """Bump the hall's event sequence (the hall's write lock) and read the hall back, in one statement.
    `public` says whether the action's event is expected to be public (None: leave the chain alone)."""
    which = Hall.id == hall if isinstance(hall, int) else (Hall.slug == hall) & Hall.active.is_(True)
    record = db.session.scalars(
        update(Hall).where(which).values(_bumped(Hall.__table__, public)).returning(Hall),
        execution_options={"synchronize_session": False, "populate_existing": True}).one_or_none()
    if record is None:
        raise _unknown_hall(hall)
    return record


#: What an action with a plain hall (an issue, and the copy of the hall the one-statement issue checks
#: against) reads of the hall, with the public chain's links: its lock returns only these (the booking
#: calendar, languages and silent zones are JSON that every issue would otherwise decode).
PLAIN_HALL_COLUMNS = ("id", "slug", "active", "timezone", "reset_at", "public_issue", "require_registered_kiosk",
                      "public_name_mode", "event_seq", "layout_version", "public_seq", "public_prev_seq")


def named_hall(by_slug: bool):
    """The hall an action names (bound as `hall`): by id, or by the slug of an active hall."""
    table = Hall.__table__
    return (table.c.slug == bindparam("hall")) & table.c.active.is_(True) if by_slug else table.c.id == bindparam(
        "hall")


def _lock_statement(by_slug: bool, public: bool):
    table = Hall.__table__
    returned = [table.c[name] for name in PLAIN_HALL_COLUMNS]
    return lambda _dialect: update(table).where(named_hall(by_slug)).values(_bumped(table, public)).returning(
        *returned)


_LOCKS = {(by_slug, public): _lock_statement(by_slug, public) for by_slug in (False, True) for public in (False, True)}


def _take_lock_plain(connection: Connection, hall: int | str, public: bool = True) -> Row:
    """`_take_lock` for an action that only reads the hall: a named tuple of `PLAIN_HALL_COLUMNS`, not an
    ORM object."""
    record = run_driver(connection, _LOCKS[not isinstance(hall, int), public], {"hall": hall}).one_or_none()
    if record is None:
        raise _unknown_hall(hall)
    return record


@dataclass
class _Batch:
    """A sole writer's run of actions of one hall (see `sole_writer`)."""

    hall_id: int
    actions_per_commit: int
    #: The root transaction the hall's lock was taken in, the hall read there, and the last seq used.
    transaction: Any = None
    hall: Hall | None = None
    seq: int = 0
    #: The seq of the last event public screens get (the public chain, see `Hall.public_seq`).
    public_seq: int = 0
    actions: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    #: Every object loaded or written meanwhile: the session's identity map holds objects only while
    #: someone refers to them, and the next action on a ticket would read it again.
    held: list[Any] = field(default_factory=list)
    #: Statements other than reads sent so far (an action that failed before any can simply be dropped).
    writes: int = 0
    #: Set when a failed action undid the open transaction: the batch cannot go on.
    undone: BaseException | None = None

    def count_write(self, _connection, _cursor, statement: str, *_args) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            self.writes += 1

    def hold(self, _session: Session, instance: Any) -> None:
        self.held.append(instance)

    def current(self, session: Session) -> bool:
        return self.transaction is not None and self.transaction is session.get_transaction()

    def begin(self, session: Session) -> None:
        """Take the hall's lock for a new transaction, unless the running one holds it."""
        if self.undone is not None:
            raise RuntimeError("a failed action undid this sole writer's batch") from self.undone
        if self.current(session):
            return
        begin_write(session)
        self.hall = _take_lock(self.hall_id, public=None)
        self.seq = self.hall.event_seq - 1  # the lock's bump is the next action's seq
        self.public_seq = self.hall.public_seq
        self.transaction = session.get_transaction()

    def done(self, session: Session, action: Action) -> None:
        self.seq = action.seq
        if for_public_screens(action.event):
            action.event["public_prev"], self.public_seq = self.public_seq, action.seq
        self.events.append(action.event)
        self.actions += 1
        if self.actions >= self.actions_per_commit:
            self.commit(session)

    def drop(self, session: Session, writes_before: int, error: BaseException | None) -> None:
        """An action failed or did nothing. Before it wrote anything, it simply leaves no trace; after,
        the transaction is rolled back with the batch's actions since the last commit, and the batch
        stops (its writer fails as a whole)."""
        if self.writes == writes_before and not (session.new or session.dirty or session.deleted):
            return
        _undo(session)
        self.transaction, self.events, self.actions = None, [], 0
        self.undone = error or RuntimeError("an action of a sole writer's batch wrote but published nothing")
        if error is None:
            raise self.undone

    def before_commit(self, session: Session) -> None:
        """Whoever commits the batch's transaction (also code between actions) writes the last seq."""
        if self.current(session) and not session.in_nested_transaction():
            self.hall.event_seq, self.hall.public_seq = self.seq, self.public_seq
            self.transaction = None

    def commit(self, session: Session) -> None:
        session.commit()
        events, self.events, self.actions = self.events, [], 0
        for event in events:
            read_for(event, None)
            publish(event)


_BATCH = "hall_sole_writer"


def _batch(hall: int | str) -> _Batch | None:
    if (session := session_made(db.session)) is None:  # no session yet: none runs a batch
        return None
    batch = session.info.get(_BATCH)
    return batch if batch is not None and batch.hall_id == hall else None


def writing_alone(hall: int | str) -> bool:
    """Whether the hall's actions run in a sole writer's batch (see `sole_writer`)."""
    return _batch(hall) is not None


@contextmanager
def sole_writer(hall_id: int, *, actions_per_commit: int = 1000) -> Iterator[None]:
    """Run the queue actions of one hall as its only writer, for a bulk load (a simulated past).

    Inside, the actions of the hall (the same engine functions) share a transaction, up to
    `actions_per_commit` of them: the hall's lock is taken once per transaction, each action still
    gets its own seq and event rows, and objects are not expired at commit, so what one action
    loaded serves the next. An action that fails or does nothing before it writes (a closed
    service, nobody waiting) leaves no trace and the batch goes on; one that fails after writing
    undoes the transaction and the batch (no savepoint per action: they would cost a fifth of a
    load). Events are published after the commit that holds them. Only for a hall nobody else
    writes meanwhile (a CLI load, a scratch database): a live hall's actions must see each other at once.
    """
    session = db.session()
    batch = _Batch(hall_id, actions_per_commit)
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    session.info[_BATCH] = batch
    listeners = (("before_commit", batch.before_commit), ("loaded_as_persistent", batch.hold),
                 ("pending_to_persistent", batch.hold))
    for name, listener in listeners:
        orm_event.listen(session, name, listener)
    engine = session.get_bind()
    orm_event.listen(engine, "before_cursor_execute", batch.count_write)
    try:
        yield
        batch.commit(session)
    except BaseException:
        session.rollback()
        raise
    finally:
        for name, listener in listeners:
            orm_event.remove(session, name, listener)
        orm_event.remove(engine, "before_cursor_execute", batch.count_write)
        del session.info[_BATCH]
        session.expire_on_commit = expire_on_commit
        session.expire_all()


@contextmanager
def _batched_action(session: Session, batch: _Batch) -> Iterator[Action]:
    batch.begin(session)
    session.flush()  # what the writer did between actions (a rating) is not the action's
    writes_before = batch.writes
    action = Action(hall=batch.hall, seq=batch.seq + 1, now=clock.utcnow(), connection=session.connection())
    with noting_rows(action.connection):
        try:
            yield action
        except BaseException as error:
            batch.drop(session, writes_before, error)
            raise
        if action.event is None:
            batch.drop(session, writes_before, None)
            return
        expire_noted(session, action.connection)  # rows the action wrote by id: their objects are read again
    session.flush()  # what the action left to the ORM is written before the next one reads by statement
    written_kept(session)
    _after_commit(batch.hall_id, action)
    batch.done(session, action)


def turn_wait_s() -> float:
    """Longest wait for a turn in this process before an action goes on to the hall's row lock
    regardless (`[database] turn_wait_s`)."""
    return current_app.config["HALL"]["database"]["turn_wait_s"]


@contextmanager
def _in_turn(hall: int | str) -> Iterator[None]:
    """On PostgreSQL, this process's actions of a hall take turns here, first come first served, so
    that one at a time waits for the hall's row lock: a row lock handed on wakes all its waiters to
    race for it again, and the unlucky ones waited several times the median (p99).

    Actions name a hall by id or by slug (issues): each name has its turns. A turn not had within
    `turn_wait_s()` goes on to the row lock all the same, so a request that already holds rows the
    running action needs cannot wait here for ever. SQLite needs none: the process's writers queue
    for its write lock (`hall.database`).
    """
    if db.engine.dialect.name != "postgresql":
        yield
        return
    turns = current_app.extensions.setdefault("hall_turns", {})
    turn = turns.get(hall) or turns.setdefault(hall, FifoPlaces(reentrant=True))
    had = turn.acquire(timeout=turn_wait_s())
    try:
        yield
    finally:
        if had:
            turn.release()


@contextmanager
def hall_action(hall: int | str, *, plain_hall: bool = False, public: bool = True) -> Iterator[Action]:
    """Run a queue action of a hall (id, or slug of an active hall) in one write transaction;
    publish its event after commit. With `plain_hall`, `action.hall` is the hall's row (read only,
    same attribute names, only `PLAIN_HALL_COLUMNS`), for actions that do not change the hall. `public`
    says whether its event will be one public screens get (`for_public_screens`): the lock then links it
    into the public chain at no extra cost; a wrong guess costs one more UPDATE.

    The transaction the request has open goes on where it may write (see `begin_write`), so a
    request is one transaction on one connection. An action that sets no event (nothing
    happened, e.g. nobody waiting) is rolled back, so the sequence has no gaps that clients
    would take for lost events.
    """
    if (batch := _batch(hall)) is not None:
        with _batched_action(db.session(), batch) as action:
            yield action
        return
    with _in_turn(hall):
        try:  # an issue begun outside a transaction runs on a connection of its own (`write_transaction`)
            write = write_transaction(db.session, db.engine) if plain_hall else WriteOnSession(db.session())
        except BaseException:
            if (session := session_made(db.session)) is not None:
                _undo(session)
            raise
        try:
            try:
                record = _take_lock_plain(write.connection, hall, public) if plain_hall else _take_lock(hall, public)
                action = Action(hall=record, seq=record.event_seq, now=clock.utcnow(), connection=write.connection)
                yield action
            except BaseException:
                _undo(write)
                raise
            if action.event is None:
                _undo(write)
                return
            hall_id = action.hall.id
            _link_public_chain(action, record, guessed=public)
            write.commit(then=_reading(action.event))
        finally:
            write.close()
    if (session := session_made(db.session)) is not None:  # an issue on a connection of its own may make none
        written_kept(session)
    _after_commit(hall_id, action)
    publish(action.event)


def _link_public_chain(action: Action, record: Hall | Row, *, guessed: bool) -> None:
    """Give a public event the seq of the hall's previous public event (`public_prev`), so a public
    screen, which gets no other events, can still tell a missed one. The lock has already moved the
    chain when the action was expected to be public; a wrong guess is put right here."""
    public = for_public_screens(action.event)
    if public != guessed:
        table = Hall.__table__
        moved = {"public_prev_seq": table.c.public_seq, "public_seq": action.seq} if public else {
            "public_seq": table.c.public_prev_seq}
        db.session.execute(update(table).where(table.c.id == record.id).values(moved))
    if public:
        action.event["public_prev"] = record.public_prev_seq if guessed else record.public_seq


def _undo(write: Session | WriteOnSession | WriteOnOwnConnection) -> None:
    """Roll back an action (its write transaction, or the session's); rows it wrote are read again."""
    write.rollback()
    if (session := session_made(db.session)) is not None:
        forget_written(session)


def _after_commit(hall_id: int, action: Action) -> None:
    """What follows an action's commit, outside the lock: the estimate's copy, the action's own steps."""
    if not _only_joined_a_line(action.event):  # counters, handling times or arrival rates changed
        pictures.forget(hall_id)
    for then in action.after_commit:
        then()


def _only_joined_a_line(event: dict[str, Any]) -> bool:
    """A normal ticket was issued: of the estimate's inputs, only line counts moved."""
    return event["kind"] == "issued" and event["ticket"]["priority"] == "normal"


def for_public_screens(event: dict[str, Any]) -> bool:
    """Whether public screens (displays, phones, rating pads) get the event: all but a normal ticket's
    issue, which calls no one, changes no counter and puts no one back in line (it joins at the end);
    the waiting counts it changes reach them as a throttled `hall_waiting` message (hall.realtime)."""
    return not _only_joined_a_line(event)


def publish(event: dict[str, Any]) -> None:
    """Hand a committed event to every subscriber of the app (realtime push) that reads nothing for it."""
    for subscriber in current_app.extensions.get("hall_subscribers", []):
        try:
            subscriber(event)
        except Exception:  # a failing screen push must not undo a committed action
            log.exception("event subscriber %r failed for %s", subscriber, event.get("kind"))


Reader = Callable[[dict[str, Any], Connection | None], None]


def _readers(event: dict[str, Any]) -> list[Reader]:
    return [reader for reader, kinds in current_app.extensions.get("hall_readers", ()) if event["kind"] in kinds]


def _reading(event: dict[str, Any]) -> Callable[[Connection], None] | None:
    """What reads for a committed event on the action's connection (None: no subscriber reads for its kind)."""
    if not _readers(event):
        return None
    return lambda connection: read_for(event, connection)


def read_for(event: dict[str, Any], connection: Connection | None) -> None:
    """Hand a committed event to the subscribers that read the database for its kind (notifiers), with the
    action's committed connection to read on before it goes back to the pool (`read_committed`); None in a
    sole writer's batch, whose session they read through."""
    for reader in _readers(event):
        try:
            if connection is None:
                reader(event, None)
                continue
            with read_committed(connection):
                reader(event, connection)
        except Exception:  # a failing notifier must not undo a committed action
            log.exception("event reader %r failed for %s", reader, event.get("kind"))


def subscribe(app, subscriber) -> None:
    app.extensions.setdefault("hall_subscribers", []).append(subscriber)


def subscribe_reading(app, reader: Reader, kinds: tuple[str, ...]) -> None:
    """Subscribe `reader(event, connection)`, which reads the database for events of these kinds: on the
    action's own committed connection (no second checkout, no BEGIN), or through the session when given None."""
    app.extensions.setdefault("hall_readers", []).append((reader, kinds))
