"""A past for a hall: its last weeks' working days simulated through the engine (the demo hall's history)."""
from __future__ import annotations

from datetime import date, time, timedelta

from hall import clock
from hall.complaints.cases import settle_past_cases
from hall.models import Hall
from hall.queue.rules import today
from hall.reports.rollup import roll_up
from hall.sim.layout import layout_of
from hall.sim.profile import Profile, load_profile
from hall.sim.parts import simulate_in_parts, worth_splitting
from hall.sim.run import run_day

#: Profile of each weekday (Monday first): busy Mondays, groups on Fridays, quiet days between.
WEEK = ("peak", "light", "light", "light", "bursty")


def history_days(hall: Hall, days: int) -> list[date]:
    """The working days (Monday to Friday) among the `days` days before today."""
    current = today(hall)
    return [d for d in (current - timedelta(days=n) for n in range(days, 0, -1)) if d.weekday() < len(WEEK)]


def load_history(hall: Hall, days: int, seed: int = 1, profile: Profile | None = None) -> list[date]:
    """Simulate the hall's working days of the last `days` days and roll them up for the reports, then
    today up to now; every day with `profile` if given, else with the profile of its weekday (WEEK).
    On a database without tickets yet the past days are simulated in parts at once (hall.sim.parts)."""
    simulated = history_days(hall, days)
    layout = layout_of(hall)
    profiles = {name: load_profile(name) for name in set(WEEK)}
    plan = [(day, profile or profiles[WEEK[day.weekday()]]) for day in simulated]
    if worth_splitting(plan):  # a first start: the days in two parts at once, on two cores
        simulate_in_parts(hall, plan, seed)
    else:
        for day, day_profile in plan:
            run_day(hall, layout, day_profile, seed + day.toordinal(), day)
    if simulated:
        roll_up(hall.id, simulated[0], simulated[-1])
        settle_past_cases(hall, clock.local_to_utc(simulated[-1] + timedelta(days=1), time(0), hall.timezone))
    current = today(hall)
    if current.weekday() < len(WEEK):  # and this morning up to now: people wait, counters serve
        run_day(hall, layout, profile or profiles[WEEK[current.weekday()]], seed + current.toordinal(), current,
                until=clock.utcnow())
    return simulated
