"""The demo hall with a simulated past: reports, charts, the monthly report and the monitor have figures."""
from __future__ import annotations

import tomllib
from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from hall import queue
from hall.complaints.cases import overdue_cases
from hall.extensions import db
from hall.models import ComplaintCase, Counter, Feedback, Hall, Stage, Ticket, TicketEvent, TicketSequence
from hall.monitor.state import monitor_state
from hall.reports.engine import Filters
from hall.reports.monthly import Month, monthly_report
from hall.reports.tables import all_tables
from hall.sim.history import history_days, load_history
from hall.sim.parts import simulate_in_parts, worth_splitting
from hall.sim.profile import parse_profile
from tests.test_simulator import SMALL


def test_history_fills_reports_charts_monthly_report_and_monitor(app, demo, frozen):
    """Monday 2026-03-02 10:00: Thursday and Friday before are simulated, and this morning so far."""
    days = load_history(demo.hall, 4, profile=parse_profile(tomllib.loads(SMALL), "small"))
    assert days == [date(2026, 2, 26), date(2026, 2, 27)]  # the weekend is closed

    answer = app.test_client().get("/api/v1/halls/demo/stats/report?from=2026-02-26&to=2026-02-27&by=day",
                                   headers={"Authorization": f"Bearer {demo.token('supervisor')}"})
    rows = answer.get_json()["rows"]
    assert [r["key"] for r in rows] == ["2026-02-26", "2026-02-27"]
    assert all(r["served"] > 10 and r["wait_s"]["p90"] is not None and r["utilisation_pct"] for r in rows)

    with app.test_request_context("/?lang=zh"):
        tables = {t.name: t for t in all_tables(Filters(demo.id, days[0], days[-1]), "zh")}  # what the charts draw
        monthly = monthly_report(demo.hall, Month.parse("2026-02"), "zh")["figures"]
    assert len(tables["day"].rows) == 2 and len(tables["hour"].rows) >= 2 and tables["stage"].rows
    assert monthly["no_show"] > 0 and monthly["satisfaction"]["count"] > 0 and monthly["served"] > 20

    state = monitor_state(demo.hall)  # the hall at 10:00 today: visitors at counters
    assert state["business_day"] == "2026-03-02"
    assert any(c["ticket"] for c in state["counters"]) or any(s["waiting"] for s in state["services"])
    assert db.session.scalar(select(func.count()).where(Ticket.business_day == date(2026, 3, 2))) > 0
    assert all((c.opens_at, c.closes_at, c.breaks) == (None, None, None) for c in demo.hall.counters)  # no schedule stored over the hall's
    # the past's bad ratings were followed up as a supervisor would: no complaint case of it is overdue
    assert overdue_cases(demo.hall) == []
    assert all(c.status == "closed" for c in db.session.scalars(select(ComplaintCase))
               if c.opened_at < datetime(2026, 3, 1, 16, 0))


def test_demo_without_history_has_its_counters_planned_day(app):
    result = app.test_cli_runner().invoke(args=["hall", "demo", "--slug", "empty", "--history-days", "0"])
    assert result.exit_code == 0, result.output
    assert "history" not in result.output
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    counters = db.session.scalars(select(Counter).join(Hall).where(Hall.slug == "empty").order_by(Counter.number))
    plans = [(c.opens_at, c.closes_at, c.breaks) for c in counters]
    # the shipped profiles' hours, and 30-minute breaks staggered so that counters serving a line take turns
    assert {(opens, closes) for opens, closes, _ in plans} == {(time(8, 30), time(17, 30))}
    assert [breaks for _, _, breaks in plans] == [[["11:30", "12:00"]], [["12:00", "12:30"]], [["12:30", "13:00"]],
                                                  [["13:00", "13:30"]], [["11:30", "12:00"]], [["12:30", "13:00"]]]


@pytest.mark.parametrize("which", ["demo", pytest.param("pg_demo", marks=pytest.mark.postgres)])
def test_history_in_two_parts_keeps_ids_and_the_event_sequence_whole(request, frozen, which):
    """A first start's history: two processes simulate a run of days each; their rows land under new ids."""
    demo = request.getfixturevalue(which)
    plan = [(day, parse_profile(tomllib.loads(SMALL), "small")) for day in history_days(demo.hall, 6)]
    assert len(plan) == 4 and worth_splitting(plan)
    simulate_in_parts(demo.hall, plan, seed=1)
    assert all((c.opens_at, c.closes_at, c.breaks) == (None, None, None) for c in demo.hall.counters)  # no schedule stored over the hall's

    seqs = db.session.scalars(select(TicketEvent.seq).where(TicketEvent.hall_id == demo.id)).all()
    assert set(seqs) == set(range(1, demo.hall.event_seq + 1))  # no gap, no seq of two actions
    assert {t.business_day for t in db.session.scalars(select(Ticket))} == {day for day, _ in plan}
    prefix = func.substr(Ticket.number, 1, 1)  # a transferred ticket keeps its number
    for day, _ in plan:  # each day's numbers and their sequences, as one run leaves them
        last = dict(db.session.execute(select(TicketSequence.prefix, TicketSequence.last)
                                       .where(TicketSequence.business_day == day)).all())
        assert last == dict(db.session.execute(select(prefix, func.max(Ticket.seq))
                                               .where(Ticket.business_day == day).group_by(prefix)).all())
    # every stage, event row, rating and complaint case belongs to a ticket of its own hall and day
    assert db.session.scalar(select(func.count()).select_from(Stage).join(Ticket).where(
        Stage.business_day != Ticket.business_day)) == 0
    assert db.session.scalar(select(func.count()).select_from(TicketEvent).join(Ticket).where(
        func.date(TicketEvent.at) != Ticket.business_day)) == 0
    rated = db.session.execute(select(Ticket.status, Feedback.staff_id).join(Feedback, Feedback.ticket_id == Ticket.id)).all()
    assert rated and all(status == "done" and staff for status, staff in rated)
    assert all(case.feedback.ticket_id == case.ticket_id for case in db.session.scalars(select(ComplaintCase)))
    # the next ticket takes the next id (on PostgreSQL the id sequences follow the copied rows)
    highest = db.session.scalar(select(func.max(Ticket.id)))
    assert queue.issue_ticket(demo.id, "A")["id"] == highest + 1
