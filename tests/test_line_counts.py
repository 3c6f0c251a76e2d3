"""Running figures of the lines: kept by every action, equal to what a count over the queue says."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hall import lines, queue
from hall.estimate import handling_average_s, people_ahead
from hall.extensions import db
from hall.models import LineCount, Ticket
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


def test_waiting_counts_follow_every_action(demo, frozen):
    for number in (1, 2, 3, 5):
        queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)
    steps = [
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
    ]
    for step in steps:
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
