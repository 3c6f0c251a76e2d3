"""The estimate's slow inputs of each hall, kept by each server process for a moment.

A new ticket's estimate needs its line's waiting count, which only the hall's lock makes exact
(`lines.join` returns it), and the rest of the hall's picture (`estimate.HallPicture`: handling
times, the counters serving, what they hold and their schedule, today's arrivals): several
statements that would hold the lock of a busy hall several times longer than issuing itself. That rest moves slowly,
so an issue takes it from this per-process copy when it is younger than `[queue]
estimate_inputs_max_age_s`; after the commit, outside the lock, the issue that finds the copy
half that old reads a new one. Only an idle hall's first issue (or the first after a long pause)
reads the picture inside its action. A normal ticket issued in this process moves its line's
counts in the copy; any other action of the hall in this process (a call, a finish, a counter
opening, a priority ticket) drops the copy; an edit of a counter or its schedule moves the hall's
layout_version, which renews it; other processes' actions reach it within the max age.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app

from hall import clock
from hall.estimate import HallPicture
from hall.extensions import db


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
    """Inside an action: the hall's picture, read now only when this process has none young enough."""
    kept = _kept().get(hall_id)
    if kept and kept.day == day and kept.layout_version == layout_version and _age_s(kept) < _max_age_s():
        return kept.picture
    return _read(hall_id, day, layout_version)


def refresh(hall_id: int) -> None:
    """After an action's commit: read the hall's picture again once it is half its max age old."""
    kept = _kept().get(hall_id)
    if kept is None or _age_s(kept) < _max_age_s() / 2:
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


def forget(hall_id: int) -> None:
    """The hall's counters or handling times changed: the next issue reads them."""
    _kept().pop(hall_id, None)
