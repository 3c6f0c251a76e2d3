"""One simulated hall day through the real queue engine, on a simulated clock: no sleeping.

Events (arrivals, calls, visitors reaching the counter, stage ends, no-shows, counters
opening, pausing for a break and closing) are taken from a heap in time order; for each
the clock is set to its moment and the engine function a screen or kiosk would call is
called. The engine's answers (numbers, stages, who was called) drive what happens next.
"""
from __future__ import annotations

import heapq
import itertools
from collections import Counter as Tally
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app

from hall import clock, queue
from hall.extensions import db
from hall.models import Ticket
from hall.queue.realname import simulated_id_number
from hall.queue.stages import current_stage
from hall.sim.layout import CounterLayout, Layout
from hall.sim.plan import profile_plans
from hall.sim.profile import Handling, Profile
from hall.sim.visitors import Visitor
from hall.visitor.feedback import add_rating


@contextmanager
def simulated_clock(start: datetime) -> Iterator[Callable[[datetime], None]]:
    """hall.clock.utcnow answers the simulated time (set through the yielded function) until exit."""
    now = [start]
    saved = clock.utcnow
    clock.utcnow = lambda: now[0]
    try:
        yield lambda moment: now.__setitem__(0, moment)
    finally:
        clock.utcnow = saved


@contextmanager
def quiet_events() -> Iterator[None]:
    """Simulated actions reach no screen, loudspeaker or phone: the app's subscribers are set aside."""
    extensions = current_app.extensions
    saved = extensions.get("hall_subscribers", [])
    extensions["hall_subscribers"] = []
    try:
        yield
    finally:
        extensions["hall_subscribers"] = saved


@dataclass
class _Counter:
    spec: CounterLayout
    staff_id: int | None
    lines: frozenset[tuple[str, str]]
    status: str = "closed"
    visitor: Visitor | None = None
    ticket_id: int | None = None
    on_break_when_free: bool = False
    closing: bool = False


@dataclass
class DayRun:
    hall_id: int
    layout: Layout
    profile: Profile
    visitors: list[Visitor]
    day: date
    zone: str
    staff_ids: dict[int, int | None]
    #: Stop at this moment and leave the day open (a hall in the middle of its day), instead of closing it.
    until: datetime | None = None
    trace: list[tuple] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._heap: list = []
        self._order = itertools.count()
        self._waiting: Tally = Tally()
        self._visitors: dict[int, Visitor] = {}
        self._id_numbers = itertools.count()  # each visitor brings their own ID card (real-name services)
        self._called_at: dict[int, datetime] = {}
        self._first_stage = {s.prefix: s.stages[0].code for s in self.layout.services}
        self._counters = [_Counter(spec, self.staff_ids.get(spec.number), self.layout.lines(spec))
                          for spec in sorted(self.layout.counters, key=lambda c: c.number)]
        self._wait_limit = {s.prefix: s.wait_limit_s for s in self.layout.services}
        self._default = Handling(float(current_app.config["HALL"]["queue"]["default_handling_s"]))

    # --- the loop -------------------------------------------------------------------------
    def _at(self, moment: datetime, action: Callable, *args: Any) -> None:
        heapq.heappush(self._heap, (moment, next(self._order), action, args))

    def run(self) -> list[tuple]:
        """Simulate the day; returns the trace (moment, what, ticket number, counter number)."""
        self._plan_counters()
        for visitor in self.visitors:
            self._at(visitor.at, self._arrive, visitor)
        first = self._heap[0][0] if self._heap else clock.local_to_utc(self.day, self.profile.opens, self.zone)
        with quiet_events(), simulated_clock(first) as set_now, queue.sole_writer(self.hall_id):
            self.now = first
            while self._heap and (self.until is None or self._heap[0][0] <= self.until):
                self.now, _, action, args = heapq.heappop(self._heap)
                set_now(self.now)
                action(*args)
            if self.until is None:
                set_now(self.now + timedelta(seconds=1))
                queue.close_business_day(self.hall_id, self.day)
        return self.trace

    def _log(self, what: str, number: str | None = None, counter: int | None = None) -> None:
        self.trace.append((self.now.isoformat(), what, number, counter))

    # --- counters ---------------------------------------------------------------------------
    def _plan_counters(self) -> None:
        """Each counter opens, takes its breaks and closes as planned: by its own schedule if it has
        one (the hall's, left as it is), else by the profile's plan."""
        planned = profile_plans(self.layout, self.profile.schedule)
        for counter in self._counters:
            own, profile_plan = counter.spec.schedule, planned[counter.spec.number]
            plan = own.over(profile_plan) if own else profile_plan
            self._at(self._local(plan.opens), self._open, counter)
            for start, end in plan.breaks:
                self._at(self._local(start), self._break, counter)
                self._at(self._local(end), self._open, counter)
            self._at(self._local(plan.closes), self._close, counter)

    def _local(self, moment: time) -> datetime:
        return clock.local_to_utc(self.day, moment, self.zone)

    def _open(self, counter: _Counter) -> None:
        counter.on_break_when_free = False
        if counter.status != "open":
            queue.open_counter(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
            counter.status = "open"
            self._log("counter_open", counter=counter.spec.number)
        self._call_free_counters()

    def _break(self, counter: _Counter) -> None:
        if counter.visitor is not None:
            counter.on_break_when_free = True
        elif counter.status == "open":
            self._pause(counter)

    def _pause(self, counter: _Counter) -> None:
        counter.on_break_when_free = False
        queue.pause_counter(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
        counter.status = "paused"
        self._log("counter_paused", counter=counter.spec.number)

    def _close(self, counter: _Counter) -> None:
        """Closing time: the counter closes once nobody it serves is waiting (it serves them first)."""
        counter.closing = True
        if counter.visitor is None and not self._has_work(counter):
            queue.close_counter(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
            counter.status = "closed"
            self._log("counter_closed", counter=counter.spec.number)

    def _has_work(self, counter: _Counter) -> bool:
        return any(self._waiting[line] for line in counter.lines)

    def _call_free_counters(self) -> None:
        for counter in self._counters:
            if counter.visitor is None:
                if counter.status == "open" and self._has_work(counter):
                    self._call(counter)
                elif counter.closing and counter.status != "closed":
                    self._close(counter)

    def _free(self, counter: _Counter) -> None:
        counter.visitor = counter.ticket_id = None
        if counter.on_break_when_free:
            self._pause(counter)
        self._call_free_counters()

    # --- visitors ---------------------------------------------------------------------------
    def _arrive(self, visitor: Visitor) -> None:
        try:
            view = queue.issue_ticket(self.hall_id, visitor.service, priority=visitor.priority,
                                      channel=visitor.channel, id_number=simulated_id_number(next(self._id_numbers)))
        except queue.ServiceClosed:
            self._log("turned_away")
            return
        self._visitors[view["id"]] = visitor
        self._waiting[(view["service"], view["stage"]["code"])] += 1
        self._log("issued", view["number"])
        self._call_free_counters()

    def _call(self, counter: _Counter) -> None:
        event = queue.call_next(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
        if event is None:
            return
        ticket = event["ticket"]
        visitor = self._visitors[ticket["id"]]
        counter.visitor, counter.ticket_id = visitor, ticket["id"]
        self._waiting[(ticket["service"], ticket["stage"]["code"])] -= 1
        self._called_at.setdefault(ticket["id"], self.now)
        self._log("called", ticket["number"], counter.spec.number)
        if not visitor.arrived_at_counter and visitor.chance(self.profile.no_show):
            self._at(self.now + timedelta(seconds=self.profile.no_show_after_s), self._no_show, counter)
            return
        visitor.arrived_at_counter = True
        self._at(self.now + timedelta(seconds=self.profile.walk_s), self._start, counter,
                 ticket["service"], ticket["stage"]["code"])

    def _start(self, counter: _Counter, prefix: str, stage: str) -> None:
        event = queue.start(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
        self._log("started", event["ticket"]["number"], counter.spec.number)
        service = self.profile.services.get(prefix)
        handling = service.handling.get(stage, self._default) if service else self._default
        seconds = max(1.0, counter.visitor.handling_s(handling))
        self._at(self.now + timedelta(seconds=round(seconds)), self._end_stage, counter)

    def _end_stage(self, counter: _Counter) -> None:
        visitor = counter.visitor
        others = sorted(p for p in self._first_stage if p != visitor.service)
        if not visitor.transferred and others and visitor.chance(self.profile.transfer):
            visitor.transferred = True
            target = others[visitor.rng.randrange(len(others))]
            event = queue.transfer(self.hall_id, counter.spec.number, service=target, keep_place=True,
                                   staff_id=counter.staff_id)
            self._waiting[(target, self._first_stage[target])] += 1
            self._log("transferred", event["ticket"]["number"], counter.spec.number)
        else:
            event = queue.finish(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
            ticket = event["ticket"]
            self._log(event["kind"], ticket["number"], counter.spec.number)
            if event["kind"] == "stage_finished":
                self._waiting[(ticket["service"], ticket["stage"]["code"])] += 1
            elif visitor.chance(self.profile.rating_share):
                self._rate(ticket["id"], visitor)
        self._free(counter)

    def _no_show(self, counter: _Counter) -> None:
        event = queue.no_show(self.hall_id, counter.spec.number, staff_id=counter.staff_id)
        self._log("no_show", event["ticket"]["number"], counter.spec.number)
        self._free(counter)

    def _rate(self, ticket_id: int, visitor: Visitor) -> None:
        """A rating at the counter's pad: mostly satisfied, less so after a wait over the limit."""
        ticket = db.session.get(Ticket, ticket_id)
        waited = (self._called_at[ticket_id] - ticket.issued_at).total_seconds()
        scale = (5, 5, 5, 5, 4, 4, 3) if waited <= self._wait_limit[visitor.service] else (5, 4, 4, 3, 3, 2, 1)
        rating = scale[visitor.rng.randrange(len(scale))]
        # the stage just finished (the visit is done) is the one rated
        add_rating(ticket, current_stage(ticket), "pad", rating, ["fast"] if rating >= 4 else ["long_wait"])
