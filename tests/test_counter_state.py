"""The counter screen's state: the line in call order, transfers, no-shows and today's figures."""
from __future__ import annotations

from hall.extensions import db
from hall.models import Feedback, Ticket
from hall.queue import call_next, finish, issue_ticket, no_show, open_counter, start, transfer
from hall.queue.lookup import counter_by_number
from hall.web.counter.state import counter_state


def test_state_of_a_counter_serving_a_multi_stage_case(app, demo, frozen):
    staff = demo.staff("staff4")
    open_counter(demo.id, 4, staff_id=staff.id)
    first = issue_ticket(demo.id, "B")["number"]
    frozen.advance(minutes=3)
    second = issue_ticket(demo.id, "B")["number"]
    frozen.advance(minutes=2)
    call_next(demo.id, 4, staff_id=staff.id)
    frozen.advance(seconds=30)
    start(demo.id, 4, staff_id=staff.id)
    frozen.advance(minutes=8)
    state = counter_state(counter_by_number(demo.id, 4), staff, "zh")
    held = state["ticket"]
    assert (held["number"], held["waited_s"], held["stage_name"], held["last_stage"]) == (first, 300, "受理", False)
    assert held["stage"]["limit_s"] == 600 and held["checklist"][0] == "报检单 Declaration form"
    assert state["queue"]["lines"] == [{"service": "B", "label": "B 报检申报 (受理, 审核)", "waiting": 1,
                                        "longest_wait_s": 630}]
    assert [t["number"] for t in state["queue"]["next"]] == [second]


def test_transfers_and_no_shows_show_at_the_right_counter(app, demo, frozen):
    one, two = demo.staff("staff1"), demo.staff("staff2")
    open_counter(demo.id, 1, staff_id=one.id)
    open_counter(demo.id, 2, staff_id=two.id)
    sent = issue_ticket(demo.id, "A")["number"]
    missed = issue_ticket(demo.id, "A")["number"]
    call_next(demo.id, 1, staff_id=one.id)
    transfer(demo.id, 1, counter=2, note="see counter 2", staff_id=one.id)
    call_next(demo.id, 1, staff_id=one.id)
    no_show(demo.id, 1, staff_id=one.id)
    at_two = counter_state(counter_by_number(demo.id, 2), two, "en")["queue"]
    assert [t["number"] for t in at_two["transferred"]] == [sent]
    at_one = counter_state(counter_by_number(demo.id, 1), one, "en")
    assert at_one["queue"]["transferred"] == [] and at_one["queue"]["waiting"] == 0
    assert [t["number"] for t in at_one["no_shows"]] == [missed]
    frozen.advance(seconds=demo.hall.noshow_grace_s + 1)
    assert counter_state(counter_by_number(demo.id, 1), one, "en")["no_shows"] == []


def test_todays_figures_of_the_staff_member(app, demo, frozen):
    staff = demo.staff("staff1")
    open_counter(demo.id, 1, staff_id=staff.id)
    for minutes in (4, 6):
        issue_ticket(demo.id, "A")
        call_next(demo.id, 1, staff_id=staff.id)
        start(demo.id, 1, staff_id=staff.id)
        frozen.advance(minutes=minutes)
        event = finish(demo.id, 1, staff_id=staff.id)
        db.session.add(Feedback(hall_id=demo.id, ticket_id=event["ticket"]["id"], channel="pad",
                                rating=5 if minutes == 4 else 4, staff_id=staff.id))
    db.session.commit()
    figures = counter_state(counter_by_number(demo.id, 1), staff, "en")["today"]
    assert figures == {"served": 2, "avg_handling_s": 300, "ratings": 2, "avg_rating": 4.5}
    other = counter_state(counter_by_number(demo.id, 1), demo.staff("staff2"), "en")["today"]
    assert other["served"] == 0 and other["avg_rating"] is None
    assert db.session.get(Ticket, event["ticket"]["id"]).status == "done"
