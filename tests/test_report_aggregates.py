"""Figures read from the aggregates (whole months, day figures, folded ratings) equal the figures of the facts.

The scripted day (2026-03-02) is the only day of March: a report over the whole
month reads the monthly histograms and the stored day figures, one over the day
alone reads the facts. Both must give the same figures, for every breakdown and
single filter.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from hall import queue
from hall.extensions import db
from hall.models import Feedback, ReportHistogram, ReportRating, Service
from hall.reports.engine import DIMENSIONS, Filters, figures, stage_rows
from tests.supervisor_support import DAY, scripted  # noqa: F401  (scripted is a fixture)

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def _without_logged_in(result):
    """Logged-in time is counted over the range's clock window, not per business day: leave it out."""
    return {k: {name: v for name, v in f.items() if name not in ("logged_in_s", "utilisation_pct")}
            for k, f in result.items()}


@pytest.mark.parametrize("by", [None, *DIMENSIONS])
def test_whole_month_equals_the_day(demo, scripted, by):
    month = figures(Filters(demo.id, *MARCH), by)
    day = figures(Filters(demo.id, DAY, DAY), by)
    assert _without_logged_in(month) == _without_logged_in(day)
    assert db.session.scalar(select(func.count()).select_from(ReportHistogram)) > 0


def test_single_filters_read_the_month_histograms(demo, scripted):
    services = {s.prefix: s.id for s in db.session.scalars(select(Service))}
    for narrowed in ({"service_id": services["B"]}, {"hour": 10}, {"counter_id": scripted["counters"][2]},
                     {"staff_id": scripted["staff"][5]}):
        for by in (None, next(iter(k for k in ("service", "hour", "counter", "staff")
                                   if f"{k}_id" in narrowed or k in narrowed))):
            month = figures(Filters(demo.id, *MARCH, **narrowed), by)
            day = figures(Filters(demo.id, DAY, DAY, **narrowed), by)
            assert _without_logged_in(month) == _without_logged_in(day), (narrowed, by)
    assert stage_rows(Filters(demo.id, *MARCH)) == stage_rows(Filters(demo.id, DAY, DAY))


def test_month_with_an_open_day_adds_the_facts_of_that_day(demo, scripted, frozen):
    """The next day is open: its tickets come from the facts, the closed day from the aggregates."""
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(seconds=42)
    queue.call_next(demo.id, 1)
    month = figures(Filters(demo.id, *MARCH))[0]
    assert month["issued"] == 8 and month["wait_s"]["count"] == 6 and month["wait_s"]["max"] == 1200
    both_days = figures(Filters(demo.id, DAY, DAY + timedelta(days=1)))[0]
    assert _without_logged_in({0: month}) == _without_logged_in({0: both_days})


def test_ratings_are_folded_once_settled_and_late_ones_still_count(demo, scripted, frozen):
    # the model's default stamps the real time; the script gave its ratings at the frozen time
    db.session.execute(update(Feedback).values(created_at=frozen.now))
    db.session.commit()
    before = figures(Filters(demo.id, *MARCH))[0]["satisfaction"]
    assert db.session.scalar(select(func.count()).select_from(ReportRating)) == 0  # too fresh to fold
    frozen.advance(seconds=120)
    assert figures(Filters(demo.id, *MARCH))[0]["satisfaction"] == before
    assert db.session.scalar(select(func.sum(ReportRating.ratings))) == 4
    a002 = scripted["tickets"]["A002"]
    db.session.add(Feedback(hall_id=demo.id, ticket_id=a002.id, channel="phone", rating=1, created_at=frozen.now))
    db.session.commit()
    late = figures(Filters(demo.id, *MARCH))[0]["satisfaction"]
    assert (late["count"], late["average"]) == (5, round((5 + 3 + 4 + 2 + 1) / 5, 2))
    frozen.advance(seconds=120)
    assert figures(Filters(demo.id, *MARCH))[0]["satisfaction"] == late
    assert db.session.scalar(select(func.sum(ReportRating.ratings))) == 5
