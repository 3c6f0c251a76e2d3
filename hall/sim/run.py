"""Simulated days: `simulate` runs one day per staffing option on a scratch database and answers each
option's figures, computed by the reports' code; `simulate_into` runs days in a hall of
the live database (the demo hall's history).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from hall.extensions import db
from hall.models import Hall, Staff
from hall.sim.day import DayRun
from hall.sim.figures import day_figures
from hall.sim.layout import Layout, build_hall, layout_of
from hall.sim.plan import profile_plans
from hall.sim.profile import Profile
from hall.sim.scratch import scratch_database
from hall.sim.visitors import draw_visitors

def counter_staff(hall: Hall, layout: Layout) -> dict[int, int | None]:
    """Counter number → the staff member who opens it: the hall's counter staff in order."""
    staff = db.session.scalars(select(Staff.id).where(Staff.hall_id == hall.id, Staff.role == "staff",
                                                      Staff.active.is_(True)).order_by(Staff.id)).all()
    numbers = sorted(c.number for c in layout.counters)
    return {number: staff[i] if i < len(staff) else None for i, number in enumerate(numbers)}


def run_day(hall: Hall, layout: Layout, profile: Profile, seed: int, day: date,
            until: datetime | None = None) -> list[tuple]:
    """Simulate one business day in an existing hall (up to `until`, leaving it open); returns the trace."""
    visitors = draw_visitors(profile, day, hall.timezone, seed, {s.prefix for s in layout.services})
    return DayRun(hall.id, layout, profile, visitors, day, hall.timezone, counter_staff(hall, layout),
                  until).run()


def scratch_hall(slug: str, layout: Layout, profile: Profile) -> Hall:
    """A new hall of the layout; counters without a schedule of their own take the profile's plan as
    theirs (the estimate knows the breaks ahead, as in a hall whose supervisor planned them)."""
    hall = Hall(slug=slug, name_zh="模拟大厅", name_en="Simulated hall", timezone=layout.timezone)
    db.session.add(hall)
    db.session.flush()
    build_hall(hall, layout, profile_plans(layout, profile.schedule))
    for counter in layout.counters:  # one staff member per counter, without a password: nobody logs in
        db.session.add(Staff(hall_id=hall.id, login=f"{slug}-{counter.number}", name=f"{counter.number}",
                             role="staff", password_hash="!"))
    db.session.commit()
    return hall


def simulate(layouts: list[Layout], profile: Profile, seed: int, day: date,
             traces: list | None = None) -> list[dict[str, Any]]:
    """Figures of one simulated day per layout (staffing option), all with the same visitors."""
    results = []
    with scratch_database(current_app.config["HALL"]):
        for i, layout in enumerate(layouts):
            hall = scratch_hall(f"sim-{i + 1}", layout, profile)
            trace = run_day(hall, layout, profile, seed, day)
            if traces is not None:
                traces.append(trace)
            results.append(day_figures(hall.id, day, layout.staffing()))
    return results


def simulate_into(hall: Hall, profile: Profile, seed: int, day: date) -> dict[str, Any]:
    """Simulate a day in a hall of the live database (kept: the hall's history grows by a day). Its counters
    keep their own schedules, and those without one follow the profile's plan for the day only."""
    layout = layout_of(hall)
    run_day(hall, layout, profile, seed, day)
    return day_figures(hall.id, day, layout.staffing())
