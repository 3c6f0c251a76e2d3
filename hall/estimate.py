"""Wait estimation (DESIGN §6).

A ticket's wait is found by draining its line through the counters that serve it (`_drain`):
- every open counter serving the line is free once the visitor it holds now is done: the stage's
  weighted handling time less the time already spent at the counter (at least a fifth of it);
  a paused counter (a break) is expected back a usual break after it paused (one paused for more
  than two usual breaks is not counted);
- a counter calls its services in its priority order: the people waiting now in lines it calls
  before this one go first (their handling time, shared among the counters serving them); after
  that it gives this line a share of its time in proportion to the recent mix of work among its
  lines of the same rank (today's arrivals in each × their handling times);
- the people ahead, and the priority tickets expected to arrive during the wait with a bigger head
  start than this ticket's, are handed to whichever counter is free first; the ticket's wait is
  when a counter is next free for it.
The interval around it (about 80 % of actual waits fall inside) widens with the spread of handling
times and a stated model error. For a case with later stages, the expected end of each stage.

Inputs are running figures and the hall's counters, read in a few small statements per estimate
(`HallPicture`): line counts, weighted handling times, today's tickets per priority class, the
counters with their links and current visitors. Nothing scans the history.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select

from hall import clock, lines
from hall.extensions import db
from hall.models import (PRIORITIES, Counter, CounterService, Hall, HandlingTime, LineCount, Service, ServiceStage,
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

    def serves(self, line: tuple[int, str]) -> bool:
        return any(_link_serves(sid, stages, line) for sid, stages, _ in self.links)


def _link_serves(service_id: int, stages: list | None, line: tuple[int, str]) -> bool:
    """Whether a counter's link to a service (all its stages, or the listed ones) covers a line."""
    return service_id == line[0] and (stages is None or line[1] in stages)


class HallPicture:
    """What estimates of one hall need now, read once: lines, handling times, counters, arrivals."""

    def __init__(self, hall_id: int, day: date, now: datetime | None = None) -> None:
        self.now = now or clock.utcnow()
        hall = db.session.get(Hall, hall_id)
        self.lines = {(sid, code): (waiting, joined) for sid, code, waiting, joined in db.session.execute(
            select(LineCount.service_id, LineCount.stage_code, LineCount.waiting, LineCount.joined)
            .where(LineCount.hall_id == hall_id, LineCount.business_day == day))}
        self.stages = {sid: codes for sid, codes in self._stage_codes(hall_id)}
        self.handling = {(sid, code): (avg, var) for sid, code, avg, var in db.session.execute(
            select(HandlingTime.service_id, HandlingTime.stage_code, HandlingTime.average_s, HandlingTime.variance_s2)
            .join(Service, Service.id == HandlingTime.service_id).where(Service.hall_id == hall_id))}
        self.counters = self._counters(hall_id)
        opened = clock.local_to_utc(day, hall.opens_at, hall.timezone)
        hours = max(0.5, (self.now - opened).total_seconds() / 3600)
        self.per_hour = {(sid, priority): n / hours for sid, priority, n in db.session.execute(
            select(Ticket.service_id, Ticket.priority, func.count()).where(
                Ticket.hall_id == hall_id, Ticket.business_day == day,  # by ix_tickets_priority: normal ones unread
                Ticket.priority.in_([p for p in PRIORITIES if p != "normal"]))
            .group_by(Ticket.service_id, Ticket.priority))}
        settings = current_app.config["HALL"]["queue"]
        self.head_start_s = {k: 60 * v for k, v in settings["head_start_min"].items()}
        self.pause_s = 60.0 * settings["expected_pause_min"]

    @staticmethod
    def _stage_codes(hall_id: int):
        codes: dict[int, list[str]] = {}
        for sid, code in db.session.execute(select(ServiceStage.service_id, ServiceStage.code)
                                            .join(Service, Service.id == ServiceStage.service_id)
                                            .where(Service.hall_id == hall_id).order_by(ServiceStage.position)):
            codes.setdefault(sid, []).append(code)
        return codes.items()

    def _counters(self, hall_id: int) -> dict[int, _Counter]:
        counters = {cid: _Counter(status, _seconds_since(since, self.now)) for cid, status, since in db.session.execute(
            select(Counter.id, Counter.status, Counter.status_since)
            .where(Counter.hall_id == hall_id, Counter.active.is_(True)))}
        for cid, sid, stages, rank in db.session.execute(
                select(CounterService.counter_id, CounterService.service_id, CounterService.stages,
                       CounterService.rank).join(Counter, Counter.id == CounterService.counter_id)
                .where(Counter.hall_id == hall_id)):
            if cid in counters:
                counters[cid].links.append((sid, stages, rank))
        for cid, sid, code, called_at in db.session.execute(
                select(Counter.id, Ticket.service_id, Ticket.stage_code, Ticket.called_at)
                .join(Ticket, Ticket.id == Counter.current_ticket_id).where(Counter.hall_id == hall_id)):
            if cid in counters:
                counters[cid].holds = (sid, code, _seconds_since(called_at, self.now))
        return counters

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
        """Seconds until the counter can call again: after its present visitor, or its break
        (None: closed, or paused for more than two usual breaks: not a break any more)."""
        if counter.status == "closed" or (counter.status == "paused" and counter.status_for > 2 * self.pause_s):
            return None
        free_in = 0.0
        if counter.status == "paused":
            free_in = max(self.pause_s - counter.status_for, MIN_PAUSE_LEFT_S)
        if counter.holds is not None:
            held = self.handling_s(counter.holds[:2])
            free_in += max(held - counter.holds[2], MIN_REMAINING * held)
        return free_in

    def _servers(self, line: tuple[int, str]) -> list[tuple[float, float]]:
        """(free in s, seconds between two visitors of this line) of each counter serving it that is
        open or on a break."""
        servers = []
        for counter in self.counters.values():
            free_in = self._free_in(counter) if counter.serves(line) else None
            if free_in is not None:
                servers.append((free_in + self._before(counter, line),
                                self.handling_s(line) / self.share(counter, line)))
        return servers

    def _drain(self, line: tuple[int, str], ahead: float) -> float:
        """Seconds until a counter is free for the visitor with `ahead` people before them."""
        servers = self._servers(line)
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
        first = self._drain(line, ahead)
        jumpers = self._jumpers(line, priority, first)
        wait = self._drain(line, ahead + jumpers) if jumpers else first
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


#: Up to this many visitors ahead, `first_free_slot` hands them out one by one.
HAND_OUT = 64


def hand_out(servers: list[tuple[float, float]], taken: int) -> tuple[float, float]:
    """`first_free_slot` by handing the visitors out one by one to the counter free first."""
    heap = list(servers)
    heapq.heapify(heap)
    for _ in range(taken):
        free_in, step = heapq.heappop(heap)
        heapq.heappush(heap, (free_in + step, step))
    return heap[0]


def first_free_slot(servers: list[tuple[float, float]], taken: int) -> tuple[float, float]:
    """(start, step) of the earliest counter slot left once `taken` visitors took the earliest ones,
    each counter offering slots at free_in, free_in + step, … (ties: the smaller step first).

    The same as handing the visitors out one by one from a heap, but for a long line it counts the
    slots before a moment instead (a bisection over time), so the cost does not grow with the line.
    """
    if taken <= HAND_OUT:
        return hand_out(servers, taken)

    def slots_up_to(moment: float) -> int:
        return sum(math.floor((moment - free_in) / step) + 1 for free_in, step in servers if free_in <= moment)

    low = min(free_in for free_in, _ in servers)  # one slot at least starts here
    high = min(free_in + taken * step for free_in, step in servers)  # taken + 1 slots at least by then
    for _ in range(100):  # the first moment with taken + 1 slots, to the float's precision
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if slots_up_to(middle) >= taken + 1:
            high = middle
        else:
            low = middle
    before, ties = 0, []
    for free_in, step in servers:  # the slots starting before `high`, and those starting at it
        if free_in > high:
            continue
        steps = (high - free_in) / step
        nearest = round(steps)
        if abs(steps - nearest) <= 1e-9 * max(1.0, steps):
            before += nearest
            ties.append(step)
        else:
            before += math.ceil(steps)
    ties.sort()
    return high, ties[min(max(taken - before, 0), len(ties) - 1)] if ties else min(s for _, s in servers)


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
