"""The wait estimator on scripted queues: shared counters, visitors already at counters, priority
arrivals expected ahead, multi-stage cases, counters' planned breaks and hours, and the range shown
with the estimate."""
from __future__ import annotations

from datetime import time

from sqlalchemy import select

from hall import queue
from hall.estimate import estimate_new_ticket, estimate_ticket
from hall.queue.realname import simulated_id_number
from hall.extensions import db
from hall.models import Counter, Hall, Service, Ticket

# No stage has finished yet: every handling time is the configured default of 300 s.


def _service_id(prefix: str) -> int:
    return db.session.scalar(select(Service.id).where(Service.prefix == prefix))


def _new(demo, prefix: str, stage: str):
    from datetime import date

    return estimate_new_ticket(demo.id, _service_id(prefix), stage, date(2026, 3, 2))


def _open(demo, *numbers: int) -> None:
    for number in numbers:
        queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)


def test_a_counter_serves_the_lines_it_calls_first_before_this_one(demo, frozen):
    """Counter 2 calls A before C: the A visitors waiting now go first, then C has the counter."""
    _open(demo, 2)
    for n, prefix in enumerate("AAAC"):
        queue.issue_ticket(demo.id, prefix, id_number=simulated_id_number(n))  # C is a real-name service
    waiting, estimate = _new(demo, "C", "certificate")
    # three A first (900 s), then the C ahead (300 s): 1200 s (people ahead × 300 s ÷ 1 counter: 300 s)
    assert waiting == 1 and estimate.wait_s == 1200
    waiting, estimate = _new(demo, "A", "consult")
    assert waiting == 3 and estimate.wait_s == 900  # A comes first at counter 2: all its time


def test_a_shared_counter_gives_lines_of_the_same_rank_their_share_of_the_recent_mix(demo, frozen):
    """Counter 5 serves inspect and review of B at the same rank: each gets its part of today's work."""
    _open(demo, 5)
    for _ in range(3):  # three cases through accept (no counter needed: finished by counter 3)
        queue.issue_ticket(demo.id, "B")
    _open(demo, 3)
    queue.call_next(demo.id, 3)
    queue.start(demo.id, 3)
    queue.finish(demo.id, 3)  # one case now waits at inspect
    waiting, estimate = _new(demo, "B", "inspect")
    # inspect: (1 + 1) × 300 of work, review: (0 + 1) × 300: inspect has 2/3 of counter 5, a case every
    # 450 s; one ahead: 450 s
    assert waiting == 1 and estimate.wait_s == 450


def test_a_counter_on_a_break_is_expected_back_after_a_usual_break(demo, frozen, app):
    """A paused counter is counted from the end of its break (30 min by default), not left out."""
    assert app.config["HALL"]["queue"]["expected_pause_min"] == 30
    _open(demo, 1)
    queue.pause_counter(demo.id, 1)
    queue.issue_ticket(demo.id, "A")
    assert _new(demo, "A", "consult")[1].wait_s == 1800 + 300  # back at 10:30, then the one ahead
    frozen.advance(minutes=20)
    assert _new(demo, "A", "consult")[1].wait_s == 600 + 300
    frozen.advance(minutes=30)
    assert _new(demo, "A", "consult")[1].wait_s == 60 + 300  # the break ran over: expected back soon
    frozen.advance(minutes=11)  # paused 61 min: no break any more, nobody serves A (as if one counter opened)
    assert _new(demo, "A", "consult")[1].wait_s == 300


def _plan(demo, number: int, opens=None, closes=None, breaks=None) -> None:
    """Give a counter its schedule as a supervisor saves it (hall time)."""
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == demo.id, Counter.number == number))
    counter.opens_at, counter.closes_at, counter.breaks = opens, closes, breaks
    db.session.commit()


def _line_of_a(demo, people: int) -> None:
    for _ in range(people):
        queue.issue_ticket(demo.id, "A")


def test_a_planned_break_gives_no_counter_time_until_it_ends(demo, frozen):
    """10:00, counter 1 alone serves A, 300 s a visitor, its break is planned 10:10-10:40."""
    _open(demo, 1)
    _line_of_a(demo, 3)
    assert _new(demo, "A", "consult")[1].wait_s == 900  # no plan: the fourth slot, 10:15
    _plan(demo, 1, breaks=[["10:10", "10:40"]])
    # slots at 10:00 and 10:05; the one at 10:10 moves to the break's end: the third ahead 10:40, this one 10:45
    assert _new(demo, "A", "consult")[1].wait_s == 2700
    frozen.advance(minutes=10)
    queue.pause_counter(demo.id, 1)  # the break begins as planned: back at 10:40, not a usual 30 min from now
    assert _new(demo, "A", "consult")[1].wait_s == 1800 + 3 * 300
    frozen.advance(minutes=20)
    assert _new(demo, "A", "consult")[1].wait_s == 600 + 3 * 300


def test_an_edited_schedule_reaches_the_next_ticket_at_once(demo, frozen):
    """Issuing keeps the hall's picture per process for a moment: a schedule edit renews it."""
    _open(demo, 1)
    _line_of_a(demo, 2)
    assert queue.issue_ticket(demo.id, "A")["estimated_wait_s"] == 600
    _plan(demo, 1, breaks=[["10:10", "10:40"]])
    # three ahead take 10:00, 10:05 and 10:40 (the break moves the 10:10 slot): this one 10:45
    assert queue.issue_ticket(demo.id, "A")["estimated_wait_s"] == 2700


def test_a_counter_that_opens_later_adds_its_time_from_its_opening(demo, frozen):
    """10:00, counter 1 serves A; counter 2 (A first) is closed and opens at 10:15."""
    _open(demo, 1)
    _line_of_a(demo, 4)
    assert _new(demo, "A", "consult")[1].wait_s == 1200  # counter 1 alone: the fifth slot
    _plan(demo, 2, opens=time(10, 15))
    assert _new(demo, "A", "consult")[1].wait_s == 900  # counter 2's first slot at 10:15
    _plan(demo, 2, opens=time(9, 0))  # due earlier and still closed: nobody knows when it comes
    assert _new(demo, "A", "consult")[1].wait_s == 1200


def test_a_counter_closing_before_the_hall_gives_no_time_after_it_closes(demo, frozen):
    _open(demo, 1, 2)
    _line_of_a(demo, 5)
    assert _new(demo, "A", "consult")[1].wait_s == 600
    _plan(demo, 2, closes=time(10, 10))  # counter 2 calls at 10:00 and 10:05, then closes
    assert _new(demo, "A", "consult")[1].wait_s == 900
    _plan(demo, 1, closes=time(10, 10))  # both close early: whoever is in line at closing is still served
    assert _new(demo, "A", "consult")[1].wait_s == 600


def test_time_already_spent_at_the_counter_is_counted(demo, frozen):
    _open(demo, 1)
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    queue.start(demo.id, 1)
    frozen.advance(seconds=200)
    assert _new(demo, "A", "consult")[1].wait_s == 100  # nobody waits, the visitor needs 300 − 200 s more
    frozen.advance(seconds=400)
    assert _new(demo, "A", "consult")[1].wait_s == 60  # past the average: at least a fifth of it is left


def test_priority_arrivals_expected_ahead(demo, frozen):
    """10:00, the hall opened at 08:30: three priority tickets in 1.5 h, 2 per hour, each 15 min ahead."""
    _open(demo, 1)
    for _ in range(3):
        queue.issue_ticket(demo.id, "A", priority="priority")
    normal = queue.issue_ticket(demo.id, "A")
    # 3 ahead: 900 s; priority visitors arriving in those 900 s (2/h × 0.25 h = 0.5) go first: + 150 s
    assert normal["people_ahead"] == 3 and normal["estimated_wait_s"] == 1050
    ticket = db.session.get(Ticket, normal["id"])
    assert estimate_ticket(ticket).wait_s == 1050
    elderly = db.session.get(Ticket, queue.issue_ticket(demo.id, "A", priority="priority")["id"])
    assert estimate_ticket(elderly).wait_s == 900  # nobody has a bigger head start than a priority ticket


def test_multi_stage_case_gets_the_expected_end_of_each_stage(demo, frozen):
    _open(demo, 3, 5, 6)
    first = queue.issue_ticket(demo.id, "B")
    answer = db.session.get(Ticket, first["id"])
    view = _ticket_page(demo, answer.token)
    # accept starts at once (counter 3 free): ends 10:05; inspect, review, certificate have free counters
    assert [(s["code"], s["expected_end_local"]) for s in view["stages_expected"]] == [
        ("accept", "10:05"), ("inspect", "10:10"), ("review", "10:15"), ("certificate", "10:20")]
    # two cases finish accept in 300 s and wait at inspect, where counter 5 is the only one
    _open(demo, 4)
    for _ in range(2):
        queue.issue_ticket(demo.id, "B")
    for counter in (3, 4):
        queue.call_next(demo.id, counter)
        queue.start(demo.id, counter)
    frozen.advance(seconds=300)
    for counter in (3, 4):
        queue.finish(demo.id, counter)
    late = db.session.get(Ticket, queue.issue_ticket(demo.id, "B")["id"])  # 10:05, one B ahead at accept
    stages = _ticket_page(demo, late.token)["stages_expected"]
    # accept: counters 3 and 4 are free → ends 10:10. Inspect: counter 5 also reviews, so inspect gets
    # (2 + 1) ÷ ((2 + 1) + (0 + 1)) = 3/4 of it, one case per 400 s: the two ahead leave it free at 10:18:20,
    # and the inspection ends at 10:23:20
    assert [(s["code"], s["expected_end_local"]) for s in stages][:2] == [("accept", "10:10"), ("inspect", "10:23")]


def test_the_range_holds_the_estimate_and_widens_with_the_line(demo, frozen):
    _open(demo, 1)
    ranges = []
    for _ in range(6):
        ticket = db.session.get(Ticket, queue.issue_ticket(demo.id, "A")["id"])
        estimate = estimate_ticket(ticket)
        assert estimate.low_s <= estimate.wait_s <= estimate.high_s
        ranges.append(estimate.high_s - estimate.low_s)
    assert ranges == sorted(ranges) and ranges[-1] > ranges[0]


def _ticket_page(demo, token: str) -> dict:
    from flask import current_app

    answer = current_app.test_client().get(f"/api/v1/tickets/{token}")
    assert answer.status_code == 200
    view = answer.get_json()
    assert view["estimated_wait_range_s"][0] <= view["estimated_wait_s"] <= view["estimated_wait_range_s"][1]
    return view


def test_the_kiosk_service_list_reads_the_hall_once_for_every_service(demo, frozen, app):
    """The service list (and the monitor) estimate every service from one picture of the hall: its
    running figures are read once per request, not once per service."""
    from sqlalchemy import event

    _open(demo, 1, 2)
    queue.issue_ticket(demo.id, "A")
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        answer = app.test_client().get("/api/v1/halls/demo/services")
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert answer.status_code == 200 and len(answer.get_json()["services"]) == 3
    assert sum("FROM handling_times" in s for s in statements) == 1
    assert sum("FROM line_counts" in s for s in statements) == 1


def test_the_estimates_of_several_places_are_each_the_estimate_of_that_place(demo, frozen):
    """What an issue sends for the places in line it may get (hall/queue/one_statement.py `window`)."""
    from hall.estimate import HallPicture
    from hall.queue.rules import today

    _open(demo, 1, 2)
    queue.issue_ticket(demo.id, "A", priority="priority")  # priority arrivals: each place's own jumpers
    hall = db.session.get(Hall, demo.id)
    picture = HallPicture(demo.id, today(hall))
    line = (_service_id("A"), "consult")
    assert picture.estimates(line, 3, 6) == [picture.estimate(line, ahead) for ahead in range(3, 9)]
    assert len({estimate.wait_s for estimate in picture.estimates(line, 3, 6)}) > 1
