"""The profile's plan of the counters' day: its opening hours, and one break per counter, staggered
as a supervisor plans them. A counter with a schedule of its own keeps that instead (DayRun); the
profile's plan is stored as counters' schedules only in halls the simulator builds (a scratch hall,
the demo hall), never over a hall's own."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from hall.sim.layout import CounterPlan, Layout
from hall.sim.profile import Schedule


def _break_slots(lines: list[frozenset], slots: int) -> list[int]:
    """A break slot per counter (given by its lines): counters that serve the same lines take their
    breaks at different times where the slots allow (fewest shared lines, then earliest)."""
    taken: list[list[frozenset]] = [[] for _ in range(slots)]
    chosen = []
    for served in lines:
        clash = [sum(len(served & other) for other in slot) for slot in taken]
        best = min(range(slots), key=lambda i: (clash[i], len(taken[i]), i))
        taken[best].append(served)
        chosen.append(best)
    return chosen


def profile_plans(layout: Layout, schedule: Schedule) -> dict[int, CounterPlan]:
    """Counter number → the profile's plan of its day."""
    counters = sorted(layout.counters, key=lambda c: c.number)
    if not schedule.break_min:
        return {c.number: CounterPlan(schedule.opens, schedule.closes) for c in counters}
    length = timedelta(minutes=schedule.break_min)
    first = datetime.combine(date.min, schedule.breaks_from)
    slots = max(1, (datetime.combine(date.min, schedule.breaks_until) - first) // length)
    chosen = _break_slots([layout.lines(c) for c in counters], slots)
    return {c.number: CounterPlan(schedule.opens, schedule.closes,
                                  (((first + slot * length).time(), (first + (slot + 1) * length).time()),))
            for c, slot in zip(counters, chosen)}
