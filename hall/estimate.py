"""Wait estimation (DESIGN §6).

A ticket's wait is found by draining its line through the counters that serve it (`_drain`):
- every open counter serving the line is free once the visitor it holds now is done: the stage's
  weighted handling time less the time already spent at the counter (at least a fifth of it);
  a paused counter (a break) is expected back at the end of its planned break, else a usual break
  after it paused (one paused for more than two usual breaks is not counted);
- the counters' schedule (hall/counter_schedule.py): a counter calls nobody during a planned break
  (a visitor called before it is served; the break waits for them) nor once it closes before the
  hall does; a closed counter that opens later today serves from its opening;
- a counter calls its services in its priority order: the people waiting now in lines it calls
  before this one go first (their handling time, shared among the counters serving them); after
  that it gives this line a share of its time in proportion to the recent mix of work among its
  lines of the same rank (today's arrivals in each × their handling times);
- the people ahead, and the priority tickets expected to arrive during the wait with a bigger head
  start than this ticket's, are handed to whichever counter is free first; the ticket's wait is
  when a counter is next free for it. Each counter offers its slots as runs of equal steps between
  its planned breaks (`Segment`).
The interval around it (about 80 % of actual waits fall inside) widens with the spread of handling
times and a stated model error. For a case with later stages, the expected end of each stage.

Inputs are running figures and the hall's counters, read in a few small statements per estimate
(`HallPicture`): line counts, weighted handling times, today's tickets per priority class, the
counters with their links, schedule and current visitors. Nothing scans the history.
"""
from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import NamedTuple

from flask import current_app
from sqlalchemy import (ARRAY, Date, DateTime, Float, Integer, String, Time, and_, any_, bindparam, cast, func,
                        literal_column, null, or_, select, text, union_all)
from sqlalchemy.types import TypeDecorator

from hall import clock, lines
from hall.counter_schedule import breaks_of
from hall.database import prepared, run_driver
from hall.extensions import db
from hall.models import (Counter, CounterService, Hall, HandlingTime, LineCount, Service, ServiceStage,
                         Ticket)

#: z of a two-sided 80 % interval of a normal distribution.
Z80 = 1.2816
#: Relative error of the model itself (arrivals, no-shows, counters switching lines), and an absolute floor.
MODEL_ERROR = 0.3
FLOOR_S = 60.0
#: A visitor at a counter is expected to need at least this part of the stage's handling time still.
MIN_REMAINING = 0.2
#: A paused counter whose usual break is over is expected back within this many seconds.
MIN_PAUSE_LEFT_S = 60.0


def _line(ticket_service_id: int, stage_code: str, hall_id: int, business_day):
    """Filter of the waiting tickets in one line (service and stage of one day)."""
    return and_(Ticket.hall_id == hall_id, Ticket.status == "waiting", Ticket.service_id == ticket_service_id,
                Ticket.stage_code == stage_code, Ticket.business_day == business_day)


def people_ahead(ticket: Ticket) -> int:
    if ticket.status != "waiting":
        return 0
    if ticket.id is None:  # not written yet: after every ticket of its line with the same sort key
        ahead = Ticket.sort_at <= ticket.sort_at
    else:
        ahead = or_(Ticket.sort_at < ticket.sort_at, and_(Ticket.sort_at == ticket.sort_at, Ticket.id < ticket.id))
    return db.session.scalar(
        select(func.count()).where(_line(ticket.service_id, ticket.stage_code, ticket.hall_id, ticket.business_day),
                                   ahead)) or 0


def _default_handling_s() -> float:
    return float(current_app.config["HALL"]["queue"]["default_handling_s"])


def handling_average_s(service_id: int, stage_code: str) -> float:
    """Exponentially weighted average handling time of a stage (the configured default before any)."""
    kept = lines.handling(service_id, stage_code)
    return kept.average_s if kept else _default_handling_s()


def counters_serving(hall_id: int, service_id: int, stage_code: str) -> int:
    links = db.session.scalars(
        select(CounterService).join(Counter, Counter.id == CounterService.counter_id)
        .where(Counter.hall_id == hall_id, Counter.status == "open", CounterService.service_id == service_id)).all()
    return sum(1 for link in links if link.serves(service_id, stage_code))


@dataclass(frozen=True)
class Estimate:
    wait_s: int
    low_s: int
    high_s: int

    @property
    def range_s(self) -> list[int]:
        return [self.low_s, self.high_s]


@dataclass
class _Counter:
    status: str
    #: Seconds since the counter took its status (a paused counter: since its break began).
    status_for: float = 0.0
    #: (service id, stage codes or None, rank) of each service the counter serves.
    links: list[tuple[int, list | None, int]] = field(default_factory=list)
    #: (service id, stage code, seconds at the counter so far) of the visitor it holds, if any.
    holds: tuple[int, str, float] | None = None
    #: Seconds until its planned opening (a closed counter that opens later today), else None.
    opens_in: float | None = None
    #: Seconds until it closes when that is before the hall closes, else None (serves to the end).
    closes_in: float | None = None
    #: Its planned breaks not over yet, (start, end) in seconds from now, in time order.
    breaks: tuple[tuple[float, float], ...] = ()

    def serves(self, line: tuple[int, str]) -> bool:
        return any(_link_serves(sid, stages, line) for sid, stages, _ in self.links)


def _link_serves(service_id: int, stages: list | None, line: tuple[int, str]) -> bool:
    """Whether a counter's link to a service (all its stages, or the listed ones) covers a line."""
    return service_id == line[0] and (stages is None or line[1] in stages)


# The picture's read, built once (hall.database.prepared): one statement for any number of halls (`hall_ids`,
# `days`), so that a server process that keeps the pictures of all its halls fresh reads them in one round
# trip (on a busy server each round trip waits its turn on the event loop). Each kind of row is a part
# of a UNION ALL, with its hall and its values in typed slots (`_SLOTS`), the others NULL.
def _any_of(column, name: str, type_, dialect: str):
    """`column` is one of the values bound as `name`: one array parameter on PostgreSQL, an expanding IN elsewhere."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(type_)))
    return column.in_(bindparam(name, expanding=True))


class _DriverFloat(TypeDecorator):
    """A float as the driver gives it (both drivers give Python floats): SQLAlchemy's psycopg Float picks its
    result processor by the column's type code, which a statement run on the cursor (`run_driver`) does not pass."""

    impl = Float
    cache_ok = True

    def result_processor(self, dialect, coltype):
        return None


#: The slots of a row of the picture's statement and their types.
_SLOTS = {"day": Date, "i1": Integer, "i2": Integer, "i3": Integer, "s1": String, "f1": _DriverFloat,
          "f2": _DriverFloat,
          "ts": DateTime, "t1": Time, "t2": Time, "j1": String}
#: Each kind of row: the slots it fills, in the order of the tuple `HallPicture` takes.
_KINDS = {"lines": ("i1", "s1", "i2", "i3"), "stage_codes": ("i1", "s1", "i2"), "handling": ("i1", "s1", "f1", "f2"),
          "counters": ("i1", "s1", "ts", "t1", "t2", "j1"), "links": ("i1", "i2", "j1", "i3"),
          "holds": ("i1", "i2", "s1", "ts"), "arrivals": ("i1", "s1", "i2"), "hall": ("t1", "t2", "s1")}
#: Where each kind's values are in a row of the statement (after its kind and hall id).
_TAKE = {kind: itemgetter(*(2 + list(_SLOTS).index(name) for name in names)) for kind, names in _KINDS.items()}


def _part(kind: str, hall_id, values: tuple, day=None):
    """A select of one kind of row: its name, its hall, its day (or NULL), its values in their slots."""
    filled = dict(zip(_KINDS[kind], values), **({} if day is None else {"day": day}))
    slots = [filled.get(name, cast(null(), type_)).label(name) for name, type_ in _SLOTS.items()]
    return select(literal_column(f"'{kind}'").label("kind"), hall_id.label("hall_id"), *slots)


def _as_text(column):
    """A JSON column read as its text (`_json` parses each text once)."""
    return cast(column, String)


@lru_cache(maxsize=1024)
def _parsed(text_: str):
    return json.loads(text_)


def _json(text_: str | None):
    """A JSON value of the picture's rows (a counter's breaks, a link's stages): the same few texts come back at
    every read of a hall, parsed once (the values are shared between pictures, which only read them)."""
    return None if text_ is None else _parsed(text_)


def _picture_statement(dialect: str):
    def of_halls(column):
        return _any_of(column, "hall_ids", Integer, dialect)

    return union_all(
        _part("lines", LineCount.hall_id,
              (LineCount.service_id, LineCount.stage_code, LineCount.waiting, LineCount.joined),
              LineCount.business_day).where(of_halls(LineCount.hall_id),
                                            _any_of(LineCount.business_day, "days", Date, dialect)),
        _part("stage_codes", Service.hall_id, (ServiceStage.service_id, ServiceStage.code, ServiceStage.position))
        .join_from(ServiceStage, Service, Service.id == ServiceStage.service_id).where(of_halls(Service.hall_id)),
        _part("handling", Service.hall_id, (HandlingTime.service_id, HandlingTime.stage_code, HandlingTime.average_s,
                                            HandlingTime.variance_s2))
        .join_from(HandlingTime, Service, Service.id == HandlingTime.service_id).where(of_halls(Service.hall_id)),
        _part("counters", Counter.hall_id, (Counter.id, Counter.status, Counter.status_since, Counter.opens_at,
                                            Counter.closes_at, _as_text(Counter.breaks)))
        .where(of_halls(Counter.hall_id), Counter.active.is_(True)),
        _part("links", Counter.hall_id, (CounterService.counter_id, CounterService.service_id,
                                         _as_text(CounterService.stages), CounterService.rank))
        .join_from(CounterService, Counter, Counter.id == CounterService.counter_id).where(of_halls(Counter.hall_id)),
        _part("holds", Counter.hall_id, (Counter.id, Ticket.service_id, Ticket.stage_code, Ticket.called_at))
        .join_from(Counter, Ticket, Ticket.id == Counter.current_ticket_id).where(of_halls(Counter.hall_id)),
        _part("arrivals", Ticket.hall_id, (Ticket.service_id, Ticket.priority, func.count()), Ticket.business_day)
        .where(of_halls(Ticket.hall_id), _any_of(Ticket.business_day, "days", Date, dialect),
               # ix_tickets_priority's own condition, as a literal: any plan (a generic one too) reads it
               Ticket.priority != literal_column("'normal'"))
        .group_by(Ticket.hall_id, Ticket.business_day, Ticket.service_id, Ticket.priority),
        _part("hall", Hall.id, (Hall.opens_at, Hall.closes_at, Hall.timezone)).where(of_halls(Hall.id)))


@dataclass
class _Rows:
    """One hall's rows of the picture's read, by kind (`_KINDS`)."""

    lines: list[tuple] = field(default_factory=list)
    stage_codes: list[tuple] = field(default_factory=list)
    handling: list[tuple] = field(default_factory=list)
    counters: list[tuple] = field(default_factory=list)
    links: list[tuple] = field(default_factory=list)
    holds: list[tuple] = field(default_factory=list)
    arrivals: list[tuple] = field(default_factory=list)
    #: (opens_at, closes_at, timezone): one row, none when the hall is gone.
    hall: list[tuple] = field(default_factory=list)


#: PostgreSQL weighs, at each run of a prepared statement, a plan made for the values at hand against its
#: generic plan; for the picture's statement the former always looked cheaper, so it was planned again at
#: every read (about 0.55 ms of the server's CPU; the generic plan runs as fast: 0.7 -> 0.12 ms a read).
#: It is read with generic plans, and the transaction's setting put back after it.
_GENERIC_PLANS, _PLANS_AS_SET = (text("SET LOCAL plan_cache_mode = force_generic_plan"),
                                 text("SET LOCAL plan_cache_mode TO DEFAULT"))


def _read_rows(days: dict[int, date]) -> dict[int, _Rows]:
    """The picture's rows of several halls (hall id -> its business day), in one statement. On PostgreSQL it runs
    on the driver's cursor (`run_driver`): a server process's reader reads its halls' pictures twice a second,
    a few hundred rows each time, and SQLAlchemy's result rows and execution context cost more than the read."""
    db.session.flush()  # the read goes by the connection, past the session's autoflush
    connection = db.session.connection()
    rows = {hall_id: _Rows() for hall_id in days}
    params = {"hall_ids": list(days), "days": sorted(set(days.values()))}
    if connection.dialect.name == "postgresql":
        run_driver(connection, _GENERIC_PLANS, {})
        read = run_driver(connection, _picture_statement, params).rows
        run_driver(connection, _PLANS_AS_SET, {})
    else:
        read = connection.execute(prepared(connection, _picture_statement), params).all()
    for row in read:
        kind, hall_id, day = row[0], row[1], row[2]
        if day is None or day == days[hall_id]:
            getattr(rows[hall_id], kind).append(_TAKE[kind](row))
    for hall in rows.values():  # in each service's order of stages
        hall.stage_codes = [(sid, code) for sid, code, _ in sorted(hall.stage_codes, key=lambda r: r[2])]
    return rows


def read_pictures(days: dict[int, date]) -> dict[int, "HallPicture"]:
    """The pictures of several halls (hall id -> its business day) in one go: one statement for every kind
    of row, the halls' opening hours and time zones with them, whatever the number of halls (a server process
    keeps them fresh so). A hall deleted meanwhile has no picture."""
    now = clock.utcnow()
    rows = _read_rows(days) if days else {}
    return {hall_id: HallPicture(hall_id, day, now, rows[hall_id]) for hall_id, day in days.items()
            if rows[hall_id].hall}


class _HallClock(NamedTuple):
    """What a picture needs of its hall: its opening hours and time zone."""

    opens_at: time
    closes_at: time
    timezone: str


class HallPicture:
    """What estimates of one hall need now, read once: lines, handling times, counters, arrivals."""

    def __init__(self, hall_id: int, day: date, now: datetime | None = None, rows: _Rows | None = None) -> None:
        """Read the hall's picture now (`rows`: already read, by `read_pictures`)."""
        self.now = now or clock.utcnow()
        rows = rows or _read_rows({hall_id: day})[hall_id]
        if not rows.hall:
            raise LookupError(f"hall {hall_id} is gone")
        hall = _HallClock(*rows.hall[0])
        self.lines = {(sid, code): (waiting, joined) for sid, code, waiting, joined in rows.lines}
        self.stages: dict[int, list[str]] = {}
        for sid, code in rows.stage_codes:
            self.stages.setdefault(sid, []).append(code)
        self.handling = {(sid, code): (avg, var) for sid, code, avg, var in rows.handling}
        opened = clock.local_to_utc(day, hall.opens_at, hall.timezone)
        #: Seconds from now to a local time of the day (the hall's UTC offset at its opening).
        self._local_s = (datetime.combine(day, hall.opens_at) - opened + (self.now - datetime.combine(day, time(0)))
                         ).total_seconds()
        self.counters = {cid: self._planned(_Counter(status, _seconds_since(since, self.now)), hall, plan)
                         for cid, status, since, *plan in rows.counters}
        for cid, sid, stages, rank in rows.links:
            if cid in self.counters:
                self.counters[cid].links.append((sid, _json(stages), rank))
        for cid, sid, code, called_at in rows.holds:
            if cid in self.counters:
                self.counters[cid].holds = (sid, code, _seconds_since(called_at, self.now))
        hours = max(0.5, (self.now - opened).total_seconds() / 3600)
        self.per_hour = {(sid, priority): n / hours for sid, priority, n in rows.arrivals}
        settings = current_app.config["HALL"]["queue"]
        self.head_start_s = {k: 60 * v for k, v in settings["head_start_min"].items()}
        self.pause_s = 60.0 * settings["expected_pause_min"]

    def _planned(self, counter: _Counter, hall: _HallClock, plan: tuple) -> _Counter:
        """The counter with its schedule for the day, in seconds from now (what is still ahead)."""
        opens, closes, breaks = plan

        def seconds_to(at: time) -> float:
            return at.hour * 3600 + at.minute * 60 + at.second - self._local_s

        if opens is not None and counter.status == "closed" and seconds_to(opens) > 0:
            counter.opens_in = seconds_to(opens)
        if closes is not None and closes < hall.closes_at and seconds_to(closes) > 0:
            counter.closes_in = seconds_to(closes)
        counter.breaks = tuple((seconds_to(start), seconds_to(end)) for start, end in breaks_of(_json(breaks))
                               if seconds_to(end) > 0)
        return counter

    # --- figures of a line ---------------------------------------------------------------------
    def waiting(self, line: tuple[int, str]) -> int:
        """People waiting in a line now (its running count)."""
        return self.lines.get(line, (0, 0))[0]

    def handling_s(self, line: tuple[int, str]) -> float:
        return self.handling.get(line, (_default_handling_s(), 0.0))[0]

    def spread(self, line: tuple[int, str]) -> float:
        """Coefficient of variation of the line's handling time (0.5 before there is any)."""
        avg, var = self.handling.get(line, (0.0, 0.0))
        return math.sqrt(var) / avg if avg > 0 and var > 0 else 0.5

    def _work(self, line: tuple[int, str]) -> float:
        """Recent work in a line: today's arrivals (at least one) × its handling time."""
        return (self.lines.get(line, (0, 0))[1] + 1) * self.handling_s(line)

    @staticmethod
    def _rank(counter: _Counter, line: tuple[int, str]) -> int:
        """Where a line comes in the counter's call order (its services' priority order)."""
        return min(r for sid, stages, r in counter.links if _link_serves(sid, stages, line))

    def _lines_ranked(self, counter: _Counter, keep) -> list[tuple[int, str]]:
        """The counter's lines whose rank passes `keep`."""
        return [(sid, code) for sid, stages, r in counter.links if keep(r)
                for code in (stages or self.stages.get(sid, []))]

    def share(self, counter: _Counter, line: tuple[int, str]) -> float:
        """The part of a counter's time that goes to a line once the lines it calls before this one
        are served (`_before`): in proportion to the recent mix of work among the counter's lines
        of the same rank (lines after this one do not take its time while this one waits)."""
        rank = self._rank(counter, line)
        competing = self._lines_ranked(counter, lambda r: r == rank)
        total = sum(self._work(other) for other in competing)
        return self._work(line) / total if total else 1.0

    def _counters_serving(self, line: tuple[int, str]) -> int:
        return sum(1 for counter in self.counters.values() if counter.status == "open" and counter.serves(line))

    def _before(self, counter: _Counter, line: tuple[int, str]) -> float:
        """Seconds the counter spends first on the people waiting now in lines it calls before this one
        (each such line's work shared among the open counters serving it)."""
        rank = self._rank(counter, line)
        earlier = self._lines_ranked(counter, lambda r: r < rank)
        return sum(self.waiting(other) * self.handling_s(other) / max(1, self._counters_serving(other))
                   for other in earlier)

    def _free_in(self, counter: _Counter) -> float | None:
        """Seconds until the counter can call again, its planned breaks aside (`_gaps`): after its
        present visitor, its break, or its opening (None: closed for the day, or paused for more
        than two usual breaks outside a planned one: not a break any more)."""
        if counter.status == "closed":
            return counter.opens_in
        free_in = 0.0
        if counter.status == "paused" and not _in_break(counter):
            if counter.status_for > 2 * self.pause_s:
                return None
            free_in = max(self.pause_s - counter.status_for, MIN_PAUSE_LEFT_S)
        if counter.holds is not None:
            held = self.handling_s(counter.holds[:2])
            free_in += max(held - counter.holds[2], MIN_REMAINING * held)
        return free_in

    def _servers(self, line: tuple[int, str]) -> list[Server]:
        """The slots of each counter serving the line that is open, on a break or opens later: from
        when it is free, one every (handling time ÷ its share) seconds, none in its planned breaks
        nor after it closes. When every one of them closes before the hall does, they serve on
        (whoever is in line at closing is served)."""
        plans = []
        for counter in self.counters.values():
            free_in = self._free_in(counter) if counter.serves(line) else None
            if free_in is not None:
                plans.append((counter, free_in + self._before(counter, line),
                              self.handling_s(line) / self.share(counter, line)))
        serve_on = all(counter.closes_in is not None for counter, _, _ in plans)
        return [segments(free_in, step, _gaps(counter), math.inf if serve_on else counter.closes_in or math.inf)
                for counter, free_in, step in plans]

    def _drain(self, line: tuple[int, str], ahead: float, servers: list[Server] | None = None) -> float:
        """Seconds until a counter is free for the visitor with `ahead` people before them (`servers`:
        the line's, when the caller has them already)."""
        servers = self._servers(line) if servers is None else servers
        if not servers:  # nobody serves the line now: as if one counter opened at once
            return ahead * self.handling_s(line)
        whole = int(ahead)
        free_in, step = first_free_slot(servers, whole)
        return free_in + (ahead - whole) * step

    def _jumpers(self, line: tuple[int, str], priority: str, wait_s: float) -> float:
        """Priority tickets expected to arrive during the wait and be called before this one."""
        own = self.head_start_s.get(priority, 0)
        return sum(per_hour / 3600 * min(wait_s, self.head_start_s.get(p, 0) - own)
                   for (sid, p), per_hour in self.per_hour.items()
                   if sid == line[0] and self.head_start_s.get(p, 0) > own)

    def estimate(self, line: tuple[int, str], ahead: int, priority: str = "normal") -> Estimate:
        servers = self._servers(line)
        return self._estimate(line, ahead, priority, servers, self._drain(line, ahead, servers))

    def estimates(self, line: tuple[int, str], first_ahead: int, count: int) -> list[Estimate]:
        """A normal ticket's estimate with `first_ahead`, `first_ahead + 1`, … people ahead (`count` of
        them), each the one `estimate` gives: the counters' slots are worked out once for all, and the
        free slots of the places in turn (`free_slots`)."""
        servers = self._servers(line)
        places = range(first_ahead, first_ahead + count)
        firsts = ([free_in for free_in, _ in free_slots(servers, first_ahead, count)] if servers
                  else [ahead * self.handling_s(line) for ahead in places])
        return [self._estimate(line, ahead, "normal", servers, first) for ahead, first in zip(places, firsts)]

    def _estimate(self, line: tuple[int, str], ahead: int, priority: str, servers: list[Server],
                  first: float) -> Estimate:
        """The estimate with `ahead` people ahead, `first` seconds until a counter is free for them."""
        jumpers = self._jumpers(line, priority, first)
        wait = self._drain(line, ahead + jumpers, servers) if jumpers else first
        visitors = ahead + jumpers + 1
        sigma = math.sqrt((wait * self.spread(line) / math.sqrt(visitors)) ** 2 + (MODEL_ERROR * wait) ** 2
                          + FLOOR_S ** 2)
        return Estimate(round(wait), round(max(0.0, wait - Z80 * sigma)), round(wait + Z80 * sigma))

    def stage_ends(self, service_id: int, position: int, wait_s: float) -> list[tuple[str, datetime]]:
        """Expected end of the current and each later stage of a case that waits `wait_s` now:
        each later line's present queue drains meanwhile; what is left of it is waited for."""
        codes = self.stages.get(service_id, [])
        ends, at = [], wait_s
        for index in range(position, len(codes)):
            line = (service_id, codes[index])
            if index > position:
                at += max(0.0, self._drain(line, self.waiting(line)) - at)
            at += self.handling_s(line)
            ends.append((codes[index], self.now + timedelta(seconds=round(at))))
        return ends


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


def _in_break(counter: _Counter) -> bool:
    return any(start <= 0 < end for start, end in counter.breaks)


def _gaps(counter: _Counter) -> tuple[tuple[float, float], ...]:
    """The planned breaks in which the counter calls nobody. A break that has begun counts only
    while the counter keeps it: paused, or busy with a visitor (it pauses when they leave)."""
    if counter.status == "open" and counter.holds is None:
        return tuple(gap for gap in counter.breaks if gap[0] > 0)
    return counter.breaks


#: A run of a counter's slots: (first slot, seconds between slots, how many: math.inf for no end).
Segment = tuple[float, float, float]
#: A counter's slots: its runs in time order (the same step in each).
Server = tuple[Segment, ...]


def segments(free_in: float, step: float, gaps: tuple[tuple[float, float], ...] = (),
             end: float = math.inf) -> Server:
    """A counter's slots from `free_in`, one every `step` seconds, none starting inside a gap
    (the next starts at the gap's end) nor at or after `end`."""
    runs, at = [], free_in
    for start, stop in gaps:
        if at >= end:
            break
        limit = min(start, end)
        if at < limit:
            count = math.ceil((limit - at) / step)
            runs.append((at, step, count))
            at += count * step
        at = max(at, stop)
    if at < end:
        runs.append((at, step, math.inf if end == math.inf else math.ceil((end - at) / step)))
    return tuple(runs)


#: Up to this many visitors ahead, `first_free_slot` hands them out one by one.
HAND_OUT = 64


def hand_out(servers: list[Server], taken: int) -> tuple[float, float]:
    """`first_free_slot` by handing the visitors out one by one to the counter free first."""
    heap = _first_slots(servers)
    heapq.heapify(heap)
    for _ in range(taken):
        _hand_on(heap, servers)
    return heap[0][:2]


def _first_slots(servers: list[Server]) -> list:
    """Each counter's first slot, as `_hand_on`'s heap holds them."""
    return [(runs[0][0], runs[0][1], which, 0, 0) for which, runs in enumerate(servers) if runs]


def _hand_on(heap: list, servers: list[Server]) -> None:
    """Give the earliest slot in the heap to a visitor: the same counter's next slot takes its place."""
    _, step, which, run, nth = heapq.heappop(heap)
    runs = servers[which]
    nth += 1
    if nth >= runs[run][2]:
        run, nth = run + 1, 0
        if run == len(runs):
            return
    heapq.heappush(heap, (runs[run][0] + nth * step, step, which, run, nth))


def first_free_slot(servers: list[Server], taken: int) -> tuple[float, float]:
    """(start, step) of the earliest counter slot left once `taken` visitors took the earliest ones
    (ties: the smaller step first). One server at least has a run with no end.

    The same as handing the visitors out one by one from a heap, but for a long line it counts the
    slots before a moment instead (a bisection over time), so the cost does not grow with the line.
    """
    if taken <= HAND_OUT:
        return hand_out(servers, taken)
    high, before, ties = _counted(servers, taken)
    ties.sort()
    return high, ties[min(max(taken - before, 0), len(ties) - 1)] if ties else min(
        step for runs in servers for _, step, _ in runs)


def _counted(servers: list[Server], taken: int) -> tuple[float, int, list[float]]:
    """The moment the slot after the `taken` earliest starts, the number of slots starting before it,
    and the steps of those starting at it: by a bisection over time."""
    runs = [run for server in servers for run in server]

    def slots_up_to(moment: float) -> int:
        return sum(min(math.floor((moment - start) / step) + 1, count) for start, step, count in runs
                   if start <= moment)

    low = min(start for start, _, _ in runs)  # one slot at least starts here
    high = min(start + taken * step for start, step, count in runs if count == math.inf)  # taken + 1 by then
    narrow = min(step for _, step, _ in runs)
    for _ in range(100):  # the first moment with taken + 1 slots, to the float's precision
        if high - low < narrow:  # at most one slot of each run starts in between: take it from those
            moment = _nth_start_between(runs, low, high, taken + 1 - slots_up_to(low))
            if moment is not None:
                high = moment
                break
            narrow = 0.0  # not found so (float rounding): halve on to the float's precision
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if slots_up_to(middle) >= taken + 1:
            high = middle
        else:
            low = middle
    before, ties = 0, []
    for start, step, count in runs:  # the slots starting before `high`, and those starting at it
        if start > high:
            continue
        steps = (high - start) / step
        nearest = round(steps)
        if abs(steps - nearest) <= 1e-9 * max(1.0, steps) and nearest < count:
            before += nearest
            ties.append(step)
        else:
            before += min(math.ceil(steps), count)
    return high, before, ties


def _nth_start_between(runs: list[Segment], low: float, high: float, nth: int) -> float | None:
    """The `nth` earliest slot start after `low` and at or before `high`, where each run has one at
    most; None if there are not that many."""
    starts = []
    for start, step, count in runs:
        if start <= high:
            last = min(math.floor((high - start) / step), count - 1)
            if low < (at := start + last * step) <= high:
                starts.append(at)
    if not 1 <= nth <= len(starts):
        return None
    starts.sort()
    return starts[nth - 1]


def free_slots(servers: list[Server], first: int, count: int) -> list[tuple[float, float]]:
    """`first_free_slot` for `first`, `first + 1`, … visitors taken (`count` of them) in one go: the
    slots from the first of them on are handed out in turn, from the start of the day for a short
    line, else from the moment the bisection finds for `first` (each counter's first slot at or after it)."""
    if first <= HAND_OUT:
        heap, skip = _first_slots(servers), first
    else:
        high, before, _ = _counted(servers, first)
        heap, skip = _slots_from(servers, high), max(first - before, 0)
    heapq.heapify(heap)
    for _ in range(skip):
        _hand_on(heap, servers)
    slots = []
    for _ in range(count):
        slots.append(heap[0][:2])
        _hand_on(heap, servers)
    return slots


def _slots_from(servers: list[Server], moment: float) -> list:
    """Each counter's first slot starting at `moment` (to the float's precision: it counts as at it) or
    after, as `_hand_on`'s heap holds them."""
    heap = []
    for which, runs in enumerate(servers):
        for run, (start, step, count) in enumerate(runs):
            steps = (moment - start) / step
            nearest = round(steps)
            if 0 <= nearest < count and abs(steps - nearest) <= 1e-9 * max(1.0, steps):
                heap.append((moment, step, which, run, nearest))
                break
            nth = max(0, math.ceil(steps))
            if nth < count:
                heap.append((start + nth * step, step, which, run, nth))
                break
    return heap


def estimate_ticket(ticket: Ticket, ahead: int | None = None, picture: HallPicture | None = None) -> Estimate:
    """The estimate of a waiting ticket (0 once it is called)."""
    if ticket.status != "waiting":
        return Estimate(0, 0, 0)
    ahead = people_ahead(ticket) if ahead is None else ahead
    picture = picture or HallPicture(ticket.hall_id, ticket.business_day)
    return picture.estimate((ticket.service_id, ticket.stage_code), ahead, ticket.priority)


def estimate_wait_s(ticket: Ticket, ahead: int | None = None) -> int:
    return estimate_ticket(ticket, ahead).wait_s


def stage_plan(ticket: Ticket, ahead: int | None = None, picture: HallPicture | None = None) -> list[dict]:
    """For a waiting case: when each stage from the current one is expected to end (UTC, ISO)."""
    if ticket.status != "waiting":
        return []
    picture = picture or HallPicture(ticket.hall_id, ticket.business_day)
    wait = estimate_ticket(ticket, ahead, picture).wait_s
    return [{"code": code, "at": at, "expected_end_at": clock.iso(at)}
            for code, at in picture.stage_ends(ticket.service_id, ticket.stage_position, wait)]


def estimate_new_ticket(hall_id: int, service_id: int, stage_code: str, business_day,
                        picture: HallPicture | None = None) -> tuple[int, Estimate]:
    """(people waiting, estimate) for a normal ticket taken now; a list of services passes one
    picture of the hall for all of them."""
    picture = picture or HallPicture(hall_id, business_day)
    line = (service_id, stage_code)
    waiting = picture.waiting(line)
    return waiting, picture.estimate(line, waiting)


def estimate_new_ticket_s(hall_id: int, service_id: int, stage_code: str, business_day,
                          picture: HallPicture | None = None) -> tuple[int, int]:
    """(people waiting, estimated wait) for a ticket taken now."""
    waiting, estimate = estimate_new_ticket(hall_id, service_id, stage_code, business_day, picture)
    return waiting, estimate.wait_s
