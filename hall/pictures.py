"""The estimate's slow inputs of each hall, kept by each server process for a moment.

A new ticket's estimate needs its line's waiting count, which only the hall's lock makes exact
(`lines.join` returns it), and the rest of the hall's picture (`estimate.HallPicture`: handling
times, the counters serving, what they hold and their schedule, today's arrivals): several
statements that would hold the lock of a busy hall several times longer than issuing itself. That rest moves slowly,
so an issue takes it from this per-process copy when it is younger than `[queue]
estimate_inputs_max_age_s`.

Who reads a new copy: in a server process, its one `PictureReader` (a greenlet under gevent, a
thread otherwise) keeps the picture of every hall issued in lately (`KEEP_FRESH_S`) younger than
the max age, reading all due halls together in one statement on its one connection
(`estimate.read_pictures`): requests do not read pictures. An issue that finds no copy young
enough (a hall's first, one after a long pause, or after an action dropped the copy) waits for the
reader's next read, up to half the max age, then reads the picture itself. Where there is no reader
(commands, tests), the issue reads it itself, inside its action; after the commit, outside the
lock, an issue that finds the copy half the max age old reads a new one.

A normal ticket issued in this process moves its line's counts in the copy; any other action of
the hall in this process (a call, a finish, a counter opening, a priority ticket) drops the copy,
and a read already under way is not kept (it may not have seen the action); the reader reads the
hall again at once. An edit of a counter or its schedule moves the hall's layout_version, which
renews it; other processes' actions reach it within the max age.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import Flask, current_app

from hall import clock
from hall.estimate import HallPicture, read_pictures
from hall.extensions import db, socketio

log = logging.getLogger(__name__)

#: Seconds after a hall's last issue in this process during which the reader keeps its picture fresh.
KEEP_FRESH_S = 60.0
#: The part of the max age at which the reader reads a copy again: early enough that a read which takes
#: long on a busy server (up to about a second, measured) still lands before the copy is too old.
READ_AGAIN_AT = 0.25
#: Seconds the reader waits after a failed read before it tries again.
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class _Kept:
    day: date
    layout_version: int
    picture: HallPicture
    taken: float  # time.monotonic()
    taken_at: datetime  # clock.utcnow()


def _kept() -> dict[int, _Kept]:
    return current_app.extensions.setdefault("hall_pictures", {})


def _max_age_s() -> float:
    return float(current_app.config["HALL"]["queue"]["estimate_inputs_max_age_s"])


def _age_s(kept: _Kept) -> float:
    """Seconds since the picture was read, by the process's clock and by the hall's (which tests move)."""
    return max(time.monotonic() - kept.taken, abs((clock.utcnow() - kept.taken_at).total_seconds()))


def _read(hall_id: int, day: date, layout_version: int) -> HallPicture:
    picture = HallPicture(hall_id, day)
    _kept()[hall_id] = _Kept(day, layout_version, picture, time.monotonic(), picture.now)
    return picture


def picture(hall_id: int, day: date, layout_version: int) -> HallPicture:
    """Inside an action: the hall's picture, read now only when this process has none young enough (with
    a reader: when the reader has not read one within half the max age)."""
    if reader := _reader():
        reader.in_use(hall_id, day, layout_version)
    if young := _young(hall_id, day, layout_version):
        return young
    if reader and (young := reader.wait_for(lambda: _young(hall_id, day, layout_version), _max_age_s() / 2)):
        return young
    return _read(hall_id, day, layout_version)


def _young(hall_id: int, day: date, layout_version: int) -> HallPicture | None:
    kept = _kept().get(hall_id)
    if kept and kept.day == day and kept.layout_version == layout_version and _age_s(kept) < _max_age_s():
        return kept.picture
    return None


def refresh(hall_id: int) -> None:
    """After an action's commit: read the hall's picture again once it is half its max age old (where
    a reader keeps it fresh, nothing to do)."""
    kept = _kept().get(hall_id)
    if _reader() or kept is None or _age_s(kept) < _max_age_s() / 2:
        return
    # the copy in hand counts as new meanwhile, so that one request reads, not every one that finds it old
    _kept()[hall_id] = _Kept(kept.day, kept.layout_version, kept.picture, time.monotonic(), clock.utcnow())
    try:
        _read(hall_id, kept.day, kept.layout_version)
    finally:
        db.session.rollback()  # end the read transaction


def joined(hall_id: int, line: tuple[int, str], waiting: int) -> None:
    """A normal ticket joined `line` (committed), which now has `waiting` people: the copy follows.
    Issues answered out of order leave the highest count: while the copy lives, only this process's
    issues move it (any other action of the hall here drops it)."""
    kept = _kept().get(hall_id)
    if kept is not None:
        lines = kept.picture.lines
        before, joined = lines.get(line, (0, 0))
        lines[line] = (max(before, waiting), joined + 1)
    if reader := _reader():
        reader.joined(hall_id, line, waiting)


def forget(hall_id: int) -> None:
    """The hall's counters or handling times changed: the next issue reads them (or the reader, at once)."""
    if reader := _reader():
        reader.forget(hall_id)
    else:
        _kept().pop(hall_id, None)


# --- the process's reader ----------------------------------------------------------------------

def _reader() -> PictureReader | None:
    return current_app.extensions.get("hall_picture_reader")


@dataclass
class _InUse:
    """A hall this process issues in: the day and layout of its last issue, and when that was."""

    day: date
    layout_version: int
    last_issue: float  # time.monotonic()
    #: Bumped when an action of the hall drops the copy: a read begun before it is not kept.
    changes: int = 0
    #: While a read of the hall is under way: the lines' counts this process's issues reached meanwhile.
    joined_meanwhile: dict[tuple[int, str], int] | None = None


@dataclass
class PictureReader:
    """Keeps the picture of every hall this process issued in within `KEEP_FRESH_S` younger than the
    max age: once a copy is `READ_AGAIN_AT` of that old (or dropped), it is read again, with every
    other hall then due, in one statement on the reader's one connection (`estimate.read_pictures`)."""

    app: Flask
    halls: dict[int, _InUse] = field(default_factory=dict)
    wake: threading.Event = field(default_factory=threading.Event)
    stopping: bool = False
    #: Reads done so far (each of every hall then due).
    rounds: int = 0
    task: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Notified after each read, under `lock`.
    read: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.read = threading.Condition(self.lock)

    def start(self) -> PictureReader:
        self.app.extensions["hall_picture_reader"] = self
        self.task = socketio.start_background_task(self._run)
        return self

    def stop(self, timeout: float | None = None) -> None:
        """End the loop (at once when it waits; after its read under way otherwise)."""
        with self.lock:
            self.stopping = True
            self.read.notify_all()
        self.wake.set()
        if self.app.extensions.get("hall_picture_reader") is self:
            del self.app.extensions["hall_picture_reader"]
        if timeout is not None and self.task is not None:
            self.task.join(timeout)

    # called from requests (the same process; under gevent, no switch happens inside these)
    def in_use(self, hall_id: int, day: date, layout_version: int) -> None:
        with self.lock:
            hall = self.halls.get(hall_id)
            if hall is not None:
                hall.day, hall.layout_version, hall.last_issue = day, layout_version, time.monotonic()
                return
            self.halls[hall_id] = _InUse(day, layout_version, time.monotonic())
        self.wake.set()

    def wait_for(self, young: Callable[[], HallPicture | None], timeout: float) -> HallPicture | None:
        """Wait up to `timeout` seconds for the reader to read a copy `young` gives (a hall's first issue,
        or one after an action dropped the copy: the reader reads it at once)."""
        with self.lock:
            if self.stopping:
                return None
            self.read.wait_for(young, timeout)
        return young()

    def joined(self, hall_id: int, line: tuple[int, str], waiting: int) -> None:
        with self.lock:
            hall = self.halls.get(hall_id)
            if hall is not None and hall.joined_meanwhile is not None:
                hall.joined_meanwhile[line] = max(hall.joined_meanwhile.get(line, 0), waiting)

    def forget(self, hall_id: int) -> None:
        with self.lock:
            _kept().pop(hall_id, None)
            hall = self.halls.get(hall_id)
            if hall is None:
                return
            hall.changes += 1
        self.wake.set()

    # the loop
    def _run(self) -> None:
        while not self.stopping:
            with self.app.app_context():
                try:
                    pause = self._round()
                except Exception:  # the database is away, say: the copies age and requests read them
                    log.exception("reading the halls' estimate pictures failed")
                    pause = RETRY_S
                finally:
                    db.session.remove()
            self.wake.wait(pause)
            self.wake.clear()

    def _round(self) -> float | None:
        """Read every due hall; returns the seconds until the next one is due (None: none in use)."""
        now, again = time.monotonic(), _max_age_s() * READ_AGAIN_AT
        if again <= 0:  # no copy is ever young enough: nothing to keep
            return None
        kept = _kept()
        with self.lock:
            for hall_id in [h for h, hall in self.halls.items() if now - hall.last_issue > KEEP_FRESH_S]:
                del self.halls[hall_id]
            halls = list(self.halls.items())
        due = {}
        next_due = None
        for hall_id, hall in halls:
            copy = kept.get(hall_id)
            fresh = copy is not None and copy.day == hall.day and copy.layout_version == hall.layout_version
            due_in = again - _age_s(copy) if fresh else 0.0
            if due_in <= 0:
                due[hall_id] = hall
            else:
                next_due = due_in if next_due is None else min(next_due, due_in)
        if due:
            self._read(due)
            return 0.0 if next_due is None else next_due  # look again: read halls are due in `again`
        return next_due

    def _read(self, due: dict[int, _InUse]) -> None:
        with self.lock:
            begun = {hall_id: (hall.changes, hall.day, hall.layout_version) for hall_id, hall in due.items()}
            for hall in due.values():
                hall.joined_meanwhile = {}
        taken = time.monotonic()
        try:
            pictures = read_pictures({hall_id: day for hall_id, (_, day, _) in begun.items()})
            db.session.rollback()  # end the read transaction
        except BaseException:
            with self.lock:
                for hall in due.values():
                    hall.joined_meanwhile = None
                self.read.notify_all()  # who waits for it reads it themselves
            raise
        self.rounds += 1
        kept = _kept()
        with self.lock:
            for hall_id, (changes, day, layout_version) in begun.items():
                hall, picture = due[hall_id], pictures.get(hall_id)
                meanwhile, hall.joined_meanwhile = hall.joined_meanwhile or {}, None
                if picture is None:  # the hall is gone
                    self.halls.pop(hall_id, None)
                    continue
                if hall.changes != changes:  # an action of the hall may have come after the read: read again
                    continue
                for line, waiting in meanwhile.items():  # issues of this process the read may have missed
                    before, joined = picture.lines.get(line, (0, 0))
                    picture.lines[line] = (max(before, waiting), joined)
                kept[hall_id] = _Kept(day, layout_version, picture, taken, picture.now)
            self.read.notify_all()


def start_reader(app: Flask) -> PictureReader:
    """Start the process's picture reader (a server process: hall/wsgi.py)."""
    return PictureReader(app).start()
