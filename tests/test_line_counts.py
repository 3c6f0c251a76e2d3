"""Running figures of the lines: kept by every action, equal to what a count over the queue says."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import and_, event, func, select

from hall import lines, queue
from hall.estimate import handling_average_s, people_ahead
from hall.extensions import db
from hall.models import Hall, LineCount, Service, Ticket
from hall.queue.rules import today
from hall.realtime_waiting import waiting_message
from hall.snapshot import hall_snapshot
from tests.resident_ids import issue_args


@pytest.fixture
def app(any_app):
    return any_app


def counted() -> dict:
    rows = db.session.execute(select(Ticket.business_day, Ticket.service_id, Ticket.stage_code, func.count())
                              .where(Ticket.status == "waiting")
                              .group_by(Ticket.business_day, Ticket.service_id, Ticket.stage_code)).all()
    return {tuple(row[:3]): row[3] for row in rows}


def kept() -> dict:
    db.session.commit()
    rows = db.session.execute(select(LineCount.business_day, LineCount.service_id, LineCount.stage_code,
                                     LineCount.waiting).where(LineCount.waiting != 0)).all()
    return {tuple(row[:3]): row[3] for row in rows}


def _a_day_of_actions(demo) -> list:
    """Issues, calls, a cancel, transfers between services and on to a later stage, no-shows, a
    reinstatement and a no-show called back: each a step to check the running counts after."""
    for number in (1, 2, 3, 5):
        queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)
    return [
        lambda: [queue.issue_ticket(demo.id, prefix, **issue_args(prefix)) for prefix in "AABBBC"],
        lambda: queue.issue_ticket(demo.id, "A", priority="vip", channel="staff"),
        lambda: queue.call_next(demo.id, 1),
        lambda: queue.cancel_ticket(demo.id, db.session.scalar(select(Ticket.id).where(Ticket.number == "C001"))),
        lambda: queue.transfer(demo.id, 1, service="C"),
        lambda: queue.call_next(demo.id, 3),
        lambda: queue.finish(demo.id, 3),  # on to the next stage of B's flow
        lambda: queue.call_next(demo.id, 5),
        lambda: queue.no_show(demo.id, 5),
        lambda: queue.reinstate(demo.id, "B001"),
        lambda: queue.call_next(demo.id, 2),
        lambda: queue.no_show(demo.id, 2),
        lambda: queue.call_ticket(demo.id, 2, "A001"),
        lambda: queue.transfer(demo.id, 2, service="B", stage="review"),  # straight to a later stage
    ]


def test_waiting_counts_follow_every_action(demo, frozen):
    for step in _a_day_of_actions(demo):
        step()
        assert kept() == counted()
    assert counted()
    frozen.advance(days=1)
    queue.close_business_day(demo.id)
    assert kept() == counted() == {}


def test_people_ahead_of_a_new_ticket_is_the_line_before_it(demo, frozen):
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    fourth = queue.issue_ticket(demo.id, "A")
    assert fourth["people_ahead"] == 3 == people_ahead(db.session.get(Ticket, fourth["id"]))
    assert queue.issue_ticket(demo.id, "A", priority="vip", channel="staff")["people_ahead"] == 0  # head start
    assert queue.issue_ticket(demo.id, "A")["people_ahead"] == 5


def test_handling_time_is_averaged_plainly_first_then_weighted(demo, frozen, app, monkeypatch):
    """The first 1/alpha stages are a plain average (a new stage learns from its first visitor, not
    from the configured default); later ones move it by alpha."""
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    monkeypatch.setitem(app.config["HALL"]["queue"], "estimate_alpha", 0.25)
    for seconds in (100, 200, 400, 700):
        service_id = db.session.get(Ticket, queue.issue_ticket(demo.id, "A")["id"]).service_id
        queue.call_next(demo.id, 1)
        queue.start(demo.id, 1)
        frozen.advance(seconds=seconds)
        queue.finish(demo.id, 1)
        if seconds == 400:  # three stages: their plain mean and (population) variance
            assert handling_average_s(service_id, "consult") == pytest.approx(700 / 3)
            assert lines.handling(service_id, "consult").variance_s2 == pytest.approx(70000 - (700 / 3) ** 2)
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    frozen.advance(seconds=5000)
    queue.transfer(demo.id, 1, service="C")  # a transfer is no handling time
    assert handling_average_s(service_id, "consult") == pytest.approx(700 / 3 + 0.25 * (700 - 700 / 3))
    kept_time = lines.handling(service_id, "consult")
    assert kept_time.samples == 4 and kept_time.variance_s2 > 0


def _counted_per_service(demo) -> dict[str, int]:
    """Today's waiting tickets of each active service, counted over the tickets."""
    day = today(db.session.get(Hall, demo.id))
    counts = dict(db.session.execute(
        select(Service.prefix, func.count(Ticket.id)).outerjoin(Ticket, and_(
            Ticket.service_id == Service.id, Ticket.status == "waiting", Ticket.business_day == day))
        .where(Service.hall_id == demo.id, Service.active.is_(True)).group_by(Service.prefix)).all())
    assert counts
    return counts


def _pushed_and_snapshot_counts() -> tuple[dict[str, int], dict[str, int]]:
    db.session.commit()  # what a screen's request reads: everything committed so far
    pushed = waiting_message("demo")
    snapshot = hall_snapshot(db.session.scalar(select(Hall).where(Hall.slug == "demo")))
    assert pushed["services"] == snapshot["services"]
    return {s["service"]: s["waiting"] for s in pushed["services"]}, {s["service"]: s["waiting"] for s in snapshot["services"]}


def test_the_waiting_counts_screens_get_are_the_count_of_waiting_tickets(demo, frozen):
    """`hall_waiting` and the snapshot's services come from the running line counts; after every kind
    of action, and across a day's end before and after its close, they equal a count over the tickets."""
    for step in _a_day_of_actions(demo):
        step()
        pushed, snapshot = _pushed_and_snapshot_counts()
        assert pushed == snapshot == _counted_per_service(demo)
    assert sum(pushed.values()) > 0
    frozen.advance(days=1)  # the reset time passed: yesterday's tickets still wait until the day is closed
    assert _pushed_and_snapshot_counts()[0] == _counted_per_service(demo) == dict.fromkeys(pushed, 0)
    queue.close_business_day(demo.id)
    queue.issue_ticket(demo.id, "B", **issue_args("B"))
    assert _pushed_and_snapshot_counts()[0] == _counted_per_service(demo) == {**dict.fromkeys(pushed, 0), "B": 1}


def test_the_waiting_counts_are_read_from_the_lines_not_the_tickets(demo, app):
    """Once a second per hall and process: the read must not grow with the queue."""
    for prefix in "AABC":
        queue.issue_ticket(demo.id, prefix, **issue_args(prefix))
    db.session.commit()
    statements: list[str] = []
    listen = lambda *args: statements.append(args[2].lower())  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        message = waiting_message("demo")
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert {s["service"]: s["waiting"] for s in message["services"]}["A"] == 2
    counts = [s for s in statements if "line_counts" in s]
    assert len(counts) == 1 and not any(re.search(r"\btickets\b", s) for s in statements), statements
