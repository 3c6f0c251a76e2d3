"""Report figures equal figures computed here, independently, from a scripted day.

The day (2026-03-02, Asia/Shanghai, business day resets at 03:00) uses the real
engine with a frozen clock. Expected values come from the script's own times,
with percentiles from the standard library (`statistics`, inclusive method =
linear interpolation), not from hall.reports.
"""
from __future__ import annotations

import statistics
from datetime import date, timedelta

from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Service
from hall.reports.engine import Filters, figures, stage_rows
from tests.supervisor_support import DAY, T0, p, scripted  # noqa: F401  (scripted is a fixture)


def headline(demo, **filters):
    return figures(Filters(demo.id, DAY, DAY, **filters))[0]


def test_headline_figures(demo, scripted):
    result = headline(demo)
    waits = list(scripted["waits"].values())
    assert (result["issued"], result["served"], result["no_show"], result["cancelled"], result["not_served"],
            result["waiting"]) == (7, 4, 1, 1, 1, 0)
    assert result["wait_s"] == {"count": 5, "avg": round(statistics.mean(waits), 1), "p50": p(waits, 50),
                                "p90": round(p(waits, 90), 1), "max": 1200}
    assert result["wait_s"]["p90"] == 928.0  # 520 + 0.6 × (1200 − 520)
    # served within committed time: A001 and B001 (C001's stage and A004's wait were late)
    assert result["served_within_target_pct"] == 50.0
    consult = [h for _, code, h in scripted["handling"] if code == "consult"]
    certificate = [h for _, code, h in scripted["handling"] if code == "certificate"]
    assert result["handling_s"]["consult"] == {"count": 2, "avg": 300.0, "p50": 300.0, "p90": 300.0, "max": 300,
                                               "over_limit": 0}
    assert result["handling_s"]["certificate"]["p90"] == round(p(certificate, 90), 1) == 812.0
    assert result["handling_s"]["certificate"]["over_limit"] == 1
    assert set(result["handling_s"]) == {"consult", "certificate", "accept", "inspect", "review"}
    assert consult and result["handling_s"]["inspect"]["avg"] == 400.0  # the transferred pass counts
    # served at 10:xx local (three) and 00:15 local (A004): two clock hours
    assert result["throughput_per_hour"] == 2.0
    serving = sum(h for *_, h in scripted["handling"])
    logged = sum(scripted["sessions"].values())
    assert (result["serving_s"], result["logged_in_s"]) == (serving, logged)
    assert result["utilisation_pct"] == round(100 * serving / logged, 1)
    assert result["satisfaction"] == {"count": 4, "average": 3.5, "satisfied_pct": 75.0, "target_pct": 95.0}
    estimates = [abs(scripted["tickets"][n].estimated_wait_s - w) for n, w in scripted["waits"].items()]
    assert result["estimate"] == {"count": 5, "mae_s": round(statistics.mean(estimates), 1)}


def test_breakdowns_by_service_counter_staff_hour_day(demo, scripted):
    services = {s.prefix: s.id for s in db.session.scalars(select(Service))}
    by_service = figures(Filters(demo.id, DAY, DAY), by="service")
    a = by_service[services["A"]]
    a_waits = [scripted["waits"][n] for n in ("A001", "A002", "A004")]
    assert (a["issued"], a["served"], a["cancelled"], a["not_served"]) == (4, 2, 1, 0)
    assert a["wait_s"]["p50"] == p(a_waits, 50) and a["wait_s"]["p90"] == round(p(a_waits, 90), 1)
    assert by_service[services["B"]]["served_within_target_pct"] == 100.0
    assert by_service[services["C"]]["served_within_target_pct"] == 0.0

    counters, staff = scripted["counters"], scripted["staff"]
    by_counter = figures(Filters(demo.id, DAY, DAY), by="counter")
    assert by_counter[counters[1]]["issued"] == 2 and by_counter[counters[2]]["no_show"] == 1
    assert by_counter[None]["issued"] == 2  # A003 and C002 were never called
    assert by_counter[counters[1]]["logged_in_s"] == scripted["sessions"][1]
    by_staff = figures(Filters(demo.id, DAY, DAY), by="staff")
    assert by_staff[staff[1]]["utilisation_pct"] == round(100 * 600 / scripted["sessions"][1], 1)
    assert by_staff[staff[6]]["satisfaction"]["average"] == 4.0  # rated at the counter that finished

    by_hour = figures(Filters(demo.id, DAY, DAY), by="hour")
    assert sorted(by_hour) == [0, 10, 23] and by_hour[23]["issued"] == 1 and by_hour[10]["issued"] == 6
    # handling is filed under the hour it started: A004 was taken at 00:10
    assert by_hour[0]["issued"] == 0 and by_hour[0]["handling_s"]["consult"]["count"] == 1
    assert by_hour[10]["utilisation_pct"] is None  # logged-in time has no hour of day
    by_day = figures(Filters(demo.id, DAY - timedelta(days=1), DAY), by="day")
    assert list(by_day) == [DAY] and by_day[DAY]["logged_in_s"] == sum(scripted["sessions"].values())


def test_filters_narrow_every_figure(demo, scripted):
    c = db.session.scalar(select(Service).where(Service.prefix == "C"))
    result = headline(demo, service_id=c.id)
    assert (result["issued"], result["served"], result["not_served"]) == (2, 1, 1)
    assert result["wait_s"]["max"] == 380 and result["satisfaction"]["average"] == 3.0
    assert result["utilisation_pct"] is None  # logged-in time is not per service
    late = headline(demo, hour=23)
    assert late["issued"] == 1 and late["wait_s"]["p50"] == 1200.0
    staff1 = headline(demo, staff_id=scripted["staff"][1])
    assert staff1["served"] == 2 and staff1["handling_s"]["consult"]["count"] == 2


def test_stage_rows_per_service_and_stage(demo, scripted):
    rows = {(r["service"], r["stage"]): r for r in stage_rows(Filters(demo.id, DAY, DAY))}
    assert list(rows) == [("A", "consult"), ("B", "accept"), ("B", "inspect"), ("B", "review"),
                          ("B", "certificate"), ("C", "certificate")]
    assert rows[("C", "certificate")]["over_limit_pct"] == 100.0 and rows[("C", "certificate")]["limit_s"] == 600
    assert rows[("B", "certificate")]["avg"] == 200.0 and rows[("B", "certificate")]["over_limit_pct"] == 0.0


def test_no_tickets_gives_zeros_and_blanks(demo, frozen):
    result = headline(demo)
    assert (result["issued"], result["served"], result["wait_s"]["count"]) == (0, 0, 0)
    assert result["wait_s"]["p50"] is None and result["served_within_target_pct"] is None
    assert result["satisfaction"]["average"] is None and result["throughput_per_hour"] is None


def test_one_ticket(demo, frozen):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(seconds=95)
    queue.call_next(demo.id, 1)
    result = headline(demo)
    assert result["wait_s"] == {"count": 1, "avg": 95.0, "p50": 95.0, "p90": 95.0, "max": 95}
    assert result["waiting"] == 1 and result["served"] == 0  # called, still open: the day is rolled up again
    frozen.advance(seconds=30)
    queue.start(demo.id, 1)
    frozen.advance(seconds=60)
    queue.finish(demo.id, 1)
    result = headline(demo)
    assert result["served"] == 1 and result["handling_s"]["consult"]["p90"] == 60.0


def test_closed_day_is_rolled_up_once_at_day_close(demo, frozen):
    from hall.models import ReportDay

    queue.issue_ticket(demo.id, "A")
    frozen.advance(days=1)
    queue.close_business_day(demo.id)
    row = db.session.get(ReportDay, (demo.id, DAY))
    assert row is not None and row.final
    assert headline(demo)["not_served"] == 1


def test_same_figures_on_postgresql(pg_demo, frozen):
    queue.open_counter(pg_demo.id, 1, staff_id=pg_demo.staff("staff1").id)
    for seconds in (0, 10, 20):
        frozen.now = T0 + timedelta(seconds=seconds)
        queue.issue_ticket(pg_demo.id, "A")
    for seconds in (100, 250, 700):
        frozen.now = T0 + timedelta(seconds=seconds)
        queue.call_next(pg_demo.id, 1)
        frozen.now += timedelta(seconds=40)
        queue.start(pg_demo.id, 1)
        queue.finish(pg_demo.id, 1)
    waits = [100, 240, 680]
    result = figures(Filters(pg_demo.id, DAY, DAY))[0]
    assert result["wait_s"] == {"count": 3, "avg": round(statistics.mean(waits), 1), "p50": 240.0,
                                "p90": round(p(waits, 90), 1), "max": 680}
    assert result["served"] == 3 and result["handling_s"]["consult"]["avg"] == 0.0
