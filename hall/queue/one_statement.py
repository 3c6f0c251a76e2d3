"""A common issue on PostgreSQL as one statement in autocommit (a real-name one: `limit_function`).

A normal ticket of a service with no real-name limit, no daily capacity and no appointment needs
nothing read under the hall's lock but what the statement itself returns: the hall's event seq,
the next number and the line's count. So the lock, the number, the line, the ticket, its first
stage and its event row go in one data-modifying statement, sent without BEGIN and COMMIT: the
hall's row lock is held only while the server runs it, not across round trips.

What the issue needs before it reaches the hall's row comes from this process's copies: the hall
as its last action here read it (`keep`; for the hall's first issue here, as read just before, outside
the lock: `read_copy`), its services (`layout`), the estimate's inputs (`pictures`). The statement
re-checks the copy: it locks the hall only where every column in `CHECKED` still has the copy's value,
so an edited hall (zone, reset time, who may issue, layout) writes nothing and the issue takes the
general path (`hall_action`), which reads everything again.

A statement sees the rows committed when it started, not those committed while it waited for the
lock; only rows it locks itself are read as they are now. Hence:
- the number, the line's count and the issue time come from the upserts' RETURNING (the locked rows);
  `ticket_sequences.last_issued_at` keeps each prefix's issue times in the order of its numbers,
  although the clock was read before the lock;
- an idempotency key already used makes the ticket's INSERT fail on the unique key (whether that ticket
  was committed before the statement started or while it waited), which undoes the whole statement (no
  number is lost), and the general path then finds that ticket;
- the estimate needs the exact people ahead, known only once the line's row is locked. It is
  computed beforehand for the places in line this process expects (`window`: the count it knows of,
  widened by how far the line's last issues here landed from that, which other processes' issues
  make several places), and the statement writes the one of the place it gets; for a place outside
  them the ticket and its event are written without it and `fix_estimate` writes it just after,
  outside the lock (a second statement: with two processes, it was most issues').

A real-name service's daily limit per person must count the visitor's tickets as they are once the
hall is locked, which no statement that waited for the lock can see: such an issue calls a function
instead (`hall.queue.limit_function`), whose statements each see what was committed when they start.

Neither takes the process's turn of the hall (`unit._in_turn`); instead a process has at most
`[database] issues_at_the_lock` of a hall's one-call issues at the database at once, the others wait in
the process.
"""
from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any

from flask import current_app
from sqlalchemy import JSON, Row, TextClause, bindparam, select, text
from sqlalchemy.exc import IntegrityError

from hall.database import kept_autocommit, run_driver
from hall.extensions import db
from hall.fifo import FifoPlaces
from hall.models import Hall
from hall.queue import unit

#: The hall's columns an issue reads before the statement (business day, who may issue, the names on
#: public screens, the services' copy): the statement locks the hall only if they are unchanged.
CHECKED = ("slug", "active", "layout_version", "timezone", "reset_at", "public_issue", "require_registered_kiosk",
           "public_name_mode")

#: The hall's lock: its event seq bumped where the copy still holds, RETURNING the seq. An idempotency key
#: already taken is not looked up here: the ticket's INSERT fails on the unique key and undoes the whole
#: statement. (A look-up here made PostgreSQL plan the real-name function's lock again at every call: with
#: no key the planner folds it away, so a plan for those values always looked cheaper than the cached one.)
LOCK = f"""UPDATE halls SET event_seq = event_seq + 1
  WHERE id = :hall_id AND {' AND '.join(f'{name} = :hall_{name}' for name in CHECKED)}
  RETURNING event_seq"""

#: What follows the hall (a `hall` with its new event_seq): the number, the line, the ticket, its first
#: stage, its event row. Each writes a row only from the one before it, so a `hall` with no row writes nothing.
#: The ticket's RETURNING hands on what the stage, the event and `WRITTEN` need of the number and the line (its
#: seq, issue time, estimate), so they read the ticket alone, not the ticket joined again to the number and the
#: line: each join of the statement's rows is a node PostgreSQL sets up at every run.
WRITES = """number AS (
  INSERT INTO ticket_sequences (hall_id, business_day, prefix, last, last_issued_at)
  SELECT :hall_id, :business_day, :prefix, 1, CAST(:now AS TIMESTAMP) FROM hall
  ON CONFLICT (hall_id, business_day, prefix) DO UPDATE SET last = ticket_sequences.last + 1,
    last_issued_at = GREATEST(ticket_sequences.last_issued_at, excluded.last_issued_at)
  RETURNING last, last_issued_at),
line AS (
  INSERT INTO line_counts (hall_id, business_day, service_id, stage_code, waiting, joined)
  SELECT :hall_id, :business_day, :service_id, :stage_code, 1, 1 FROM hall
  ON CONFLICT (hall_id, business_day, service_id, stage_code) DO UPDATE
    SET waiting = line_counts.waiting + 1, joined = line_counts.joined + 1
  RETURNING waiting - 1 AS ahead, (CAST(:estimates AS INTEGER[]))[waiting - :expected_ahead] AS estimated_wait_s),
ticket AS (
  INSERT INTO tickets (hall_id, service_id, business_day, seq, number, token, priority, channel, status,
                       stage_position, stage_code, issued_at, queued_at, sort_at, idempotency_key, recall_count,
                       estimated_wait_s, id_hash, id_masked)
  SELECT :hall_id, :service_id, :business_day, number.last,
         :prefix || lpad(CAST(number.last AS TEXT), GREATEST(3, length(CAST(number.last AS TEXT))), '0'), :token,
         'normal', :channel, 'waiting', 0, :stage_code, number.last_issued_at, number.last_issued_at,
         number.last_issued_at - CAST(:head_start AS INTERVAL),
         CAST(:idempotency_key AS VARCHAR), 0, line.estimated_wait_s,
         CAST(:id_hash AS VARCHAR), CAST(:id_masked AS VARCHAR)
  FROM number, line
  RETURNING id, seq, issued_at, estimated_wait_s),
stage AS (
  INSERT INTO stages (ticket_id, hall_id, business_day, service_id, position, code, queued_at)
  SELECT ticket.id, :hall_id, :business_day, :service_id, 0, :stage_code, ticket.issued_at FROM ticket),
event AS (
  INSERT INTO ticket_events (hall_id, seq, ticket_id, kind, at, staff_id, data)
  SELECT :hall_id, hall.event_seq, ticket.id, 'issued', ticket.issued_at, CAST(:staff_id AS INTEGER),
         CAST(CAST(:data AS JSONB) || jsonb_build_object('estimated_wait_s', ticket.estimated_wait_s) AS JSON)
  FROM hall, ticket)"""

#: The row the statement returns after `WRITES`: (event_seq, seq, issued_at, ahead, expected, ticket_id).
WRITTEN = """SELECT hall.event_seq, ticket.seq, ticket.issued_at, line.ahead,
       ticket.estimated_wait_s IS NOT NULL AS expected, ticket.id AS ticket_id
FROM hall, line, ticket"""


_FIX_ESTIMATE = text("""
WITH ticket AS (UPDATE tickets SET estimated_wait_s = :estimated_wait_s WHERE id = :ticket_id)
UPDATE ticket_events SET data = CAST(:data AS JSON) WHERE hall_id = :hall_id AND seq = :seq AND ticket_id = :ticket_id
""").bindparams(bindparam("data", type_=JSON))


def _copies() -> dict[int | str, Row]:
    return current_app.extensions.setdefault("hall_issue_copies", {})


def keep(hall: int | str, record: Row) -> None:
    """After an issue of `hall` (id or slug) took the general path: the hall as its lock read it."""
    _copies()[hall] = record


def copy_of(hall: int | str) -> Row | None:
    """The hall as this process's last general issue read it, or None."""
    return _copies().get(hall)


_READ_COPY = {by_slug: select(*(Hall.__table__.c[name] for name in unit.PLAIN_HALL_COLUMNS))
              .where(unit.named_hall(by_slug)) for by_slug in (False, True)}


def read_copy(hall: int | str) -> Row | None:
    """For a hall this process has no copy of yet (its first issue here): the hall as it is now, read
    outside its lock, kept as the copy; None for no such hall. The one call re-checks it, as any copy."""
    record = db.session.execute(_READ_COPY[not isinstance(hall, int)], {"hall": hall}).one_or_none()
    if record is not None:
        keep(hall, record)
    return record


def forget(hall: int | str) -> None:
    _copies().pop(hall, None)


def _pending() -> dict[tuple[int, int, str], int]:
    return current_app.extensions.setdefault("hall_issues_in_flight", {})


def in_flight(line: tuple[int, int, str]) -> int:
    """Issues of this process sent for a line and not answered yet (they will most likely be ahead)."""
    return _pending().get(line, 0)


#: Most places in line an issue sends an estimate for (each costs the process a few microseconds).
WINDOW_MAX = 8
#: How many of a line's last issues in this process set its window.
LANDINGS_KEPT = 16


def _landings() -> dict[tuple[int, int, str], deque[int]]:
    return current_app.extensions.setdefault("hall_issue_landings", {})


def window(line: tuple[int, int, str]) -> tuple[int, int]:
    """The places an issue of `line` sends estimates for: (the first, as an offset from the place this
    process expects; how many). They span where the line's last `LANDINGS_KEPT` issues here landed
    against the place expected (`landed`), at most `WINDOW_MAX` of them (the furthest back dropped): one
    place while this process is the line's only issuer, several when others issue in it too."""
    landings = _landings().get(line)
    if not landings:
        return 0, 1
    last = max(landings)
    first = max(min(landings), last - WINDOW_MAX + 1)
    return first, last - first + 1


def landed(line: tuple[int, int, str], offset: int) -> None:
    """An issue of `line` got the place `offset` after the one this process expected."""
    landings = _landings().get(line)
    if landings is None:
        landings = _landings()[line] = deque(maxlen=LANDINGS_KEPT)
    landings.append(offset)


@dataclass(slots=True)
class Issue:
    """A normal ticket to write: what the statement binds besides the hall. (Not frozen: a frozen dataclass
    sets each of its 18 fields through `object.__setattr__`.)"""

    hall_id: int
    day: date
    now: datetime
    #: The priority's head start (the ticket's sort key is its issue time less this).
    head_start: timedelta
    prefix: str
    service_id: int
    stage_code: str
    token: str
    channel: str
    idempotency_key: str | None
    staff_id: int | None
    #: The people ahead the first of `estimates` was computed for.
    expected_ahead: int
    #: The ticket's estimated wait (seconds) with `expected_ahead`, `expected_ahead + 1`, … people ahead:
    #: the statement writes the one of the place it gets, if any (`window`).
    estimates: tuple[int, ...]
    #: The "issued" event's data, but its estimate.
    data: dict[str, Any]
    id_hash: str | None = None
    id_masked: str | None = None

    def params(self) -> dict[str, Any]:
        """What the statement (and the function's arguments) bind from this issue: `PARAMETERS`."""
        return {name: value(self) for name, value in _VALUES}

    @property
    def line(self) -> tuple[int, int, str]:
        return self.hall_id, self.service_id, self.stage_code


@dataclass(frozen=True, slots=True)
class Parameter:
    """One value an issue binds: its name in the statement, its PostgreSQL type (the real-name function's
    argument), and how it is taken from the issue."""

    name: str
    sql_type: str
    value: Callable[[Issue], Any]


def _its_own(name: str, sql_type: str) -> Parameter:
    """A parameter that is the issue's attribute of the same name."""
    return Parameter(name, sql_type, attrgetter(name))


#: Everything the common statement and the real-name function take from an `Issue`, in the function's
#: order: the one list both follow (a name missing from one would fail at the first real-name issue).
#: The function's arguments also hold the copy's checked columns and the daily limit (`limit_function`).
PARAMETERS: tuple[Parameter, ...] = (
    _its_own("hall_id", "integer"),
    Parameter("business_day", "date", attrgetter("day")),
    _its_own("now", "timestamp"),
    _its_own("head_start", "interval"),
    _its_own("prefix", "varchar"),
    _its_own("service_id", "integer"),
    _its_own("stage_code", "varchar"),
    _its_own("token", "varchar"),
    _its_own("channel", "varchar"),
    _its_own("idempotency_key", "varchar"),
    _its_own("staff_id", "integer"),
    _its_own("expected_ahead", "integer"),
    Parameter("estimates", "integer[]", lambda issue: _array_text(issue.estimates)),
    _its_own("id_hash", "varchar"),
    _its_own("id_masked", "varchar"),
    Parameter("data", "json", lambda issue: json.dumps(issue.data)))

_VALUES = tuple((parameter.name, parameter.value) for parameter in PARAMETERS)


def _array_text(numbers: tuple[int, ...]) -> str:
    """Integers as PostgreSQL's text form of an array ({1,2,3}), which the statement casts. Sent as a
    list, psycopg would build a dumper for it (and adapters for the dumper) at every execution: a fifth
    of the driver's Python for the whole issue; a string, like the event data's JSON text, is sent as is."""
    return "{" + ",".join(map(str, numbers)) + "}"


_ISSUE = text(f"WITH hall AS ({LOCK}),\n{WRITES}\n{WRITTEN}")

_CHECKED_NAMES = tuple(f"hall_{name}" for name in CHECKED)
_checked_values = attrgetter(*CHECKED)


def checked(hall: Row) -> dict[str, Any]:
    """The copy's `CHECKED` columns as the hall's lock binds them (hall_<column>)."""
    return dict(zip(_CHECKED_NAMES, _checked_values(hall)))


def _places_at_the_lock() -> int:
    """How many of a hall's one-call issues (this module's and `limit_function`'s) this process has at the
    database at once (`[database] issues_at_the_lock`, 2): one running, one waiting on the hall's row lock
    to take it the moment it is free. More would all wait there, in a race that is not first come first
    served (a waiter woken by the commit reads the row again, and a newcomer may lock it first): the p99.
    One alone would leave the row idle between two issues. Measured in bench/RESULTS.md ("A real-name
    issue on PostgreSQL in one call")."""
    return current_app.config["HALL"]["database"]["issues_at_the_lock"]


@contextmanager
def _at_the_lock(hall_id: int) -> Iterator[None]:
    """Wait in this process for one of the hall's places at the lock, first come first served; past
    `unit.turn_wait_s()` the issue goes on regardless (as an action does when its turn does not come)."""
    places = current_app.extensions.setdefault("hall_issue_places", {})
    place = places.get(hall_id) or places.setdefault(hall_id, FifoPlaces(_places_at_the_lock()))
    had = place.acquire(timeout=unit.turn_wait_s())
    try:
        yield
    finally:
        if had:
            place.release()


def counted_in_flight(issue: Issue, run: Callable[[], Row | None]) -> Row | None:
    """`run()` (the one call that issues `issue`), counted in its line's issues in flight, at the lock."""
    pending = _pending()
    pending[issue.line] = pending.get(issue.line, 0) + 1
    try:
        with _at_the_lock(issue.hall_id):
            return run()
    finally:
        pending[issue.line] -= 1


def issue(hall: Row, new: Issue) -> Row | None:
    """Lock the hall and write the ticket in one statement, in autocommit; the statement's row
    (event_seq, seq, issued_at, ahead, expected, ticket_id), or None when it wrote nothing (the hall
    changed or is gone, or the idempotency key is taken): then take the general path.

    The session must have no transaction open (the call runs on a connection of its own).
    """
    params = {**new.params(), **checked(hall)}

    def run() -> Row | None:
        try:
            return in_autocommit(_ISSUE, params)
        except IntegrityError:  # an idempotency key used meanwhile: nothing was written
            return None

    return counted_in_flight(new, run)


def fix_estimate(hall_id: int, seq: int, ticket_id: int, estimated_wait_s: int, data: dict[str, Any]) -> None:
    """Write the estimate of a ticket the statement wrote without it (its line's count was not the one
    expected), in autocommit, outside the hall's lock."""
    in_autocommit(_FIX_ESTIMATE, {"hall_id": hall_id, "seq": seq, "ticket_id": ticket_id,
                                   "estimated_wait_s": estimated_wait_s,
                                   "data": {**data, "estimated_wait_s": estimated_wait_s}})


def in_autocommit(statement: TextClause, params: dict[str, Any]) -> Row | None:
    """Run one statement in autocommit (no BEGIN, no COMMIT round trip); its row, for a statement that
    returns one. On a connection of its own, not the session's: nothing else is in its transaction, and
    the session's transaction machinery would cost more than the call's own Python; one of those the
    process keeps in autocommit for such calls (`kept_autocommit`), not a pool checkout each time."""
    with kept_autocommit(db.engine).connection() as connection:
        return run_driver(connection, statement, params).one_or_none()
