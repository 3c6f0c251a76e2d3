"""The queue engine: every action and rule of DESIGN §4, on SQLite and on PostgreSQL."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from hall import queue
from hall.extensions import db
from hall.models import Service, Stage, Ticket, TicketEvent
from hall.queue.unit import subscribe
from tests.resident_ids import resident_id


@pytest.fixture
def app(any_app):
    return any_app


def open_all(demo, *numbers):
    for number in numbers:
        queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)


def test_numbers_run_per_prefix_and_restart_each_business_day(demo, frozen):
    assert [queue.issue_ticket(demo.id, "A")["number"] for _ in range(3)] == ["A001", "A002", "A003"]
    assert queue.issue_ticket(demo.id, "B")["number"] == "B001"
    frozen.advance(hours=17, minutes=30)  # 03:30 next day in Shanghai: past the 03:00 reset
    ticket = queue.issue_ticket(demo.id, "A")
    assert ticket["number"] == "A001"
    assert ticket["business_day"] == "2026-03-03"


def test_before_reset_time_belongs_to_previous_day(demo, frozen):
    frozen.advance(hours=16, minutes=30)  # 02:30 local next day, before the 03:00 reset
    assert queue.issue_ticket(demo.id, "A")["business_day"] == "2026-03-02"


def test_issue_reports_people_ahead_and_estimate(demo, frozen):
    queue.issue_ticket(demo.id, "A")
    second = queue.issue_ticket(demo.id, "A")
    assert second["people_ahead"] == 1
    assert second["estimated_wait_s"] == 300  # one ahead × default 300 s ÷ one counter
    assert second["status"] == "waiting" and second["stage"]["code"] == "consult"


def test_idempotency_key_returns_the_same_ticket(demo, frozen):
    first = queue.issue_ticket(demo.id, "A", idempotency_key="tap-123456")
    again = queue.issue_ticket(demo.id, "A", idempotency_key="tap-123456")
    assert again["id"] == first["id"] and again["repeated"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1


def test_service_closed_outside_hours_and_over_capacity(demo, frozen):
    service = db.session.scalar(select(Service).where(Service.prefix == "C"))
    service.opens_at, service.closes_at = time(11, 0), time(12, 0)
    db.session.commit()
    with pytest.raises(queue.ServiceClosed, match="hours"):
        queue.issue_ticket(demo.id, "C", id_number=resident_id())
    service = db.session.scalar(select(Service).where(Service.prefix == "C"))
    service.opens_at = service.closes_at = None
    service.daily_capacity = 1
    db.session.commit()
    queue.issue_ticket(demo.id, "C", id_number=resident_id())
    with pytest.raises(queue.ServiceClosed, match="capacity"):
        queue.issue_ticket(demo.id, "C", id_number=resident_id())


def test_unknown_service_and_bad_priority(demo):
    with pytest.raises(queue.NotFound):
        queue.issue_ticket(demo.id, "Z")
    with pytest.raises(queue.QueueError):
        queue.issue_ticket(demo.id, "A", priority="royal")


def test_call_next_needs_an_open_counter_and_returns_none_when_empty(demo, events):
    with pytest.raises(queue.Conflict, match="closed"):
        queue.call_next(demo.id, 1)
    open_all(demo, 1)
    seq_before = demo.hall.event_seq
    assert queue.call_next(demo.id, 1) is None
    db.session.refresh(demo.hall)
    assert demo.hall.event_seq == seq_before  # the empty call left no gap in the sequence
    assert [e["kind"] for e in events] == ["counter_open"]


def test_call_order_is_first_come_within_a_class(demo, frozen):
    open_all(demo, 1)
    numbers = []
    for _ in range(3):
        numbers.append(queue.issue_ticket(demo.id, "A")["number"])
        frozen.advance(seconds=30)
    called = []
    for _ in range(3):
        called.append(queue.call_next(demo.id, 1)["ticket"]["number"])
        queue.finish(demo.id, 1)
    assert called == numbers


def test_priority_gets_a_head_start_not_absolute_precedence(demo, frozen):
    open_all(demo, 1)
    early = queue.issue_ticket(demo.id, "A")["number"]          # 10:00
    frozen.advance(minutes=20)
    recent = queue.issue_ticket(demo.id, "A")["number"]         # 10:20
    frozen.advance(minutes=1)
    elderly = queue.issue_ticket(demo.id, "A", priority="priority")["number"]  # 10:21 − 15 min = 10:06
    order = []
    for _ in range(3):
        order.append(queue.call_next(demo.id, 1)["ticket"]["number"])
        queue.finish(demo.id, 1)
    assert order == [early, elderly, recent]


def test_counter_serves_its_services_in_priority_order(demo, frozen):
    open_all(demo, 2)  # counter 2 serves A first, then C
    c_ticket = queue.issue_ticket(demo.id, "C", id_number=resident_id())["number"]
    frozen.advance(minutes=5)
    a_ticket = queue.issue_ticket(demo.id, "A")["number"]
    assert queue.call_next(demo.id, 2)["ticket"]["number"] == a_ticket
    queue.finish(demo.id, 2)
    assert queue.call_next(demo.id, 2)["ticket"]["number"] == c_ticket


def test_busy_counter_refuses_a_second_call(demo):
    open_all(demo, 1)
    queue.issue_ticket(demo.id, "A")
    queue.issue_ticket(demo.id, "A")
    first = queue.call_next(demo.id, 1)["ticket"]["number"]
    with pytest.raises(queue.Conflict, match=f"{first} is already called at counter 1"):
        queue.call_next(demo.id, 1)


def test_recall_start_finish_write_events_and_stage_times(demo, frozen, events):
    open_all(demo, 1)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(minutes=4)
    called = queue.call_next(demo.id, 1)
    assert called["counter"]["number"] == 1 and called["ticket"]["status"] == "called"
    recalled = queue.recall(demo.id, 1)
    assert recalled["ticket"]["recall_count"] == 1
    frozen.advance(minutes=1)
    assert queue.start(demo.id, 1)["ticket"]["status"] == "serving"
    frozen.advance(minutes=6)
    done = queue.finish(demo.id, 1)
    assert done["kind"] == "finished" and done["ticket"]["status"] == "done"
    stage = db.session.scalar(select(Stage))
    assert (stage.called_at - stage.queued_at).total_seconds() == 240
    assert (stage.finished_at - stage.started_at).total_seconds() == 360
    kinds = db.session.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)).all()
    assert kinds == ["counter_open", "issued", "called", "recalled", "started", "finished"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_finishing_a_ticket_never_called_is_refused(demo):
    open_all(demo, 1)
    queue.issue_ticket(demo.id, "A")
    with pytest.raises(queue.Conflict, match="no current ticket"):
        queue.finish(demo.id, 1)
    with pytest.raises(queue.Conflict):
        queue.start(demo.id, 1)


def test_multi_stage_case_moves_through_its_flow(demo, frozen):
    open_all(demo, 3, 5, 6)
    number = queue.issue_ticket(demo.id, "B")["number"]
    assert queue.call_next(demo.id, 5) is None           # counter 5 does not accept
    assert queue.call_next(demo.id, 3)["ticket"]["number"] == number
    moved = queue.finish(demo.id, 3)
    assert moved["kind"] == "stage_finished"
    assert moved["ticket"]["status"] == "waiting" and moved["ticket"]["stage"]["code"] == "inspect"
    assert queue.call_next(demo.id, 3) is None           # counter 3 only accepts
    for counter, expected in ((5, "review"), (5, "certificate")):
        queue.call_next(demo.id, counter)
        assert queue.finish(demo.id, counter)["ticket"]["stage"]["code"] == expected
    queue.call_next(demo.id, 6)
    final = queue.finish(demo.id, 6)
    assert final["kind"] == "finished" and final["ticket"]["status"] == "done"
    codes = db.session.scalars(select(Stage.code).order_by(Stage.id)).all()
    assert codes == ["accept", "inspect", "review", "certificate"]


def test_incomplete_materials_closes_the_case_with_a_notice(demo):
    open_all(demo, 3)
    queue.issue_ticket(demo.id, "B")
    queue.call_next(demo.id, 3)
    with pytest.raises(queue.QueueError):
        queue.finish(demo.id, 3, outcome="incomplete")
    notice = {"items": ["发票 Invoice"], "note": "请补充发票原件"}
    result = queue.finish(demo.id, 3, outcome="incomplete", notice=notice)
    assert result["ticket"]["status"] == "done" and result["ticket"]["outcome"] == "incomplete"
    assert result["ticket"]["notice"] == notice


def test_transfer_to_service_keeps_place_by_default(demo, frozen):
    open_all(demo, 1, 2)
    moved = queue.issue_ticket(demo.id, "A")["number"]   # 10:00
    frozen.advance(minutes=10)
    c_first = queue.issue_ticket(demo.id, "C", id_number=resident_id())["number"]  # 10:10
    queue.call_next(demo.id, 1)
    frozen.advance(minutes=5)
    result = queue.transfer(demo.id, 1, service="C", note="needs certificate")
    assert result["ticket"]["service"] == "C" and result["ticket"]["number"] == moved
    queue.close_counter(demo.id, 1)  # counter 2 serves A before C; empty A line now
    assert queue.call_next(demo.id, 2)["ticket"]["number"] == moved  # its 10:00 place beats 10:10
    queue.finish(demo.id, 2)
    assert queue.call_next(demo.id, 2)["ticket"]["number"] == c_first


def test_transfer_without_keeping_place_goes_to_the_back(demo, frozen):
    open_all(demo, 1, 6)
    moved = queue.issue_ticket(demo.id, "A")["number"]
    frozen.advance(minutes=10)
    c_first = queue.issue_ticket(demo.id, "C", id_number=resident_id())["number"]
    queue.call_next(demo.id, 1)
    frozen.advance(minutes=1)
    queue.transfer(demo.id, 1, service="C", keep_place=False)
    assert queue.call_next(demo.id, 6)["ticket"]["number"] == c_first
    queue.finish(demo.id, 6)
    assert queue.call_next(demo.id, 6)["ticket"]["number"] == moved


def test_transfer_to_a_counter_only_that_counter_calls_it_and_first(demo, frozen):
    open_all(demo, 1, 2)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(minutes=1)
    other = queue.issue_ticket(demo.id, "A")["number"]
    first = queue.call_next(demo.id, 1)["ticket"]["number"]
    result = queue.transfer(demo.id, 1, counter=2)
    assert result["to_counter"] == 2 and result["ticket"]["target_counter"] == 2
    assert queue.call_next(demo.id, 1)["ticket"]["number"] == other
    assert queue.call_next(demo.id, 2)["ticket"]["number"] == first
    with pytest.raises(queue.Conflict):
        queue.transfer(demo.id, 2, counter=2)


def test_transfer_to_unknown_stage_or_nothing(demo):
    open_all(demo, 3)
    queue.issue_ticket(demo.id, "B")
    queue.call_next(demo.id, 3)
    with pytest.raises(queue.NotFound):
        queue.transfer(demo.id, 3, stage="lunch")
    with pytest.raises(queue.QueueError):
        queue.transfer(demo.id, 3)
    assert queue.transfer(demo.id, 3, stage="review")["ticket"]["stage"]["code"] == "review"


def test_no_show_and_reinstate_within_grace(demo, frozen):
    open_all(demo, 1)
    number = queue.issue_ticket(demo.id, "A")["number"]
    frozen.advance(minutes=1)
    later = queue.issue_ticket(demo.id, "A")["number"]
    queue.call_next(demo.id, 1)
    assert queue.no_show(demo.id, 1)["ticket"]["status"] == "no_show"
    frozen.advance(minutes=5)
    assert queue.reinstate(demo.id, number)["ticket"]["status"] == "waiting"
    assert queue.call_next(demo.id, 1)["ticket"]["number"] == number  # back in its original place
    queue.no_show(demo.id, 1)
    frozen.advance(minutes=16)
    with pytest.raises(queue.Conflict, match="more than 15 minutes"):
        queue.reinstate(demo.id, number)
    assert queue.call_next(demo.id, 1)["ticket"]["number"] == later


def test_call_specific_number_reinstates_a_recent_no_show(demo, frozen):
    open_all(demo, 1, 2)
    number = queue.issue_ticket(demo.id, "A")["number"]
    queue.call_next(demo.id, 1)
    queue.no_show(demo.id, 1)
    frozen.advance(minutes=2)
    assert queue.call_ticket(demo.id, 2, number)["ticket"]["counter"] == 2
    with pytest.raises(queue.Conflict, match=f"{number} was already called at counter 2"):
        queue.call_ticket(demo.id, 1, number)


def test_cancel(demo):
    view = queue.issue_ticket(demo.id, "A")
    assert queue.cancel_ticket(demo.id, view["id"])["ticket"]["status"] == "cancelled"
    with pytest.raises(queue.Conflict):
        queue.cancel_ticket(demo.id, view["id"])


def test_counter_pause_close_and_reopen(demo):
    open_all(demo, 1)
    assert queue.pause_counter(demo.id, 1)["counter"]["status"] == "paused"
    with pytest.raises(queue.Conflict, match="paused"):
        queue.call_next(demo.id, 1)
    queue.open_counter(demo.id, 1)
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    with pytest.raises(queue.Conflict, match="finish it first"):
        queue.close_counter(demo.id, 1)
    queue.finish(demo.id, 1)
    closed = queue.close_counter(demo.id, 1)
    assert closed["counter"]["status"] == "closed" and closed["counter"]["staff"] is None


def test_day_close_marks_open_tickets_not_served_and_old_tickets_are_not_called(demo, frozen):
    open_all(demo, 1)
    queue.issue_ticket(demo.id, "A")
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    frozen.advance(days=1)
    with pytest.raises(queue.Conflict):  # the counter still holds yesterday's ticket
        queue.call_next(demo.id, 1)
    result = queue.close_business_day(demo.id)
    assert result["not_served"] == 2 and result["day"] == "2026-03-02"
    statuses = db.session.scalars(select(Ticket.status)).all()
    assert statuses == ["not_served", "not_served"]
    fresh = queue.issue_ticket(demo.id, "A")
    assert fresh["number"] == "A001"
    assert queue.call_next(demo.id, 1)["ticket"]["number"] == "A001"


def test_event_published_only_after_commit(demo, app):
    seen = []

    def check_committed(event):
        # a separate connection sees the ticket: the transaction committed before publishing
        with db.engine.connect() as conn:
            seen.append(conn.execute(select(func.count()).select_from(Ticket)).scalar())

    subscribe(app, check_committed)
    queue.issue_ticket(demo.id, "A")
    assert seen == [1]
    with pytest.raises(queue.NotFound):
        queue.issue_ticket(demo.id, "Q")
    assert seen == [1]  # the failed action published nothing


def test_stale_days_close_by_themselves_after_the_reset(demo, frozen):
    from hall.queue.day import close_stale_days

    queue.issue_ticket(demo.id, "A")
    assert close_stale_days(demo.hall) is None
    frozen.advance(hours=17, minutes=1)  # 03:01 next day, local
    closed = close_stale_days(demo.hall)
    assert closed["not_served"] == 1 and closed["day"] == "2026-03-02"


def _events(demo) -> list[str]:
    return db.session.scalars(select(TicketEvent.kind).where(TicketEvent.hall_id == demo.id)
                              .order_by(TicketEvent.seq)).all()


def test_a_sole_writers_action_that_fails_before_writing_leaves_no_trace_and_the_batch_goes_on(demo, frozen):
    with queue.sole_writer(demo.id):
        queue.issue_ticket(demo.id, "A")
        with pytest.raises(queue.Conflict, match="closed"):  # counter 1 is not open: refused before any write
            queue.call_next(demo.id, 1)
        open_all(demo, 1)
        assert queue.call_next(demo.id, 1)["ticket"]["number"] == "A001"
    assert _events(demo)[0] == "issued" and _events(demo)[-1] == "called"
    seqs = db.session.scalars(select(TicketEvent.seq).where(TicketEvent.hall_id == demo.id)).all()
    assert sorted(set(seqs)) == list(range(1, len(set(seqs)) + 1))  # no gap left by the refused call


def test_a_sole_writers_action_that_fails_after_writing_undoes_the_batch(demo, frozen):
    open_all(demo, 1)
    before = _events(demo)
    with pytest.raises(RuntimeError, match="undid"):
        with queue.sole_writer(demo.id):
            queue.issue_ticket(demo.id, "A")
            with pytest.raises(ZeroDivisionError):
                with queue.unit.hall_action(demo.id) as action:
                    action.log("note", text="written, then the action fails")
                    1 / 0
            queue.issue_ticket(demo.id, "A")  # the batch was undone: it cannot go on as if nothing happened
    assert _events(demo) == before
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_sole_writers_loaded_objects_follow_the_counter_actions_written_on_rows(demo, frozen):
    """call-next, start, finish and no-show write rows by id: the batch's session reads the objects they
    touched again, so what the simulator (or a rating between actions) reads of them is what was written."""
    from hall.models import Counter
    from hall.queue.stages import current_stage

    open_all(demo, 1)
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == demo.id, Counter.number == 1))
    with queue.sole_writer(demo.id):
        first = db.session.get(Ticket, queue.issue_ticket(demo.id, "A")["id"])
        second = db.session.get(Ticket, queue.issue_ticket(demo.id, "A")["id"])
        assert (first.status, len(first.stages), counter.current_ticket_id) == ("waiting", 1, None)
        queue.call_next(demo.id, 1)
        assert (first.status, current_stage(first).counter_id, counter.current_ticket_id) == \
            ("called", counter.id, first.id)
        queue.start(demo.id, 1)
        assert (first.status, current_stage(first).started_at) == ("serving", frozen())
        frozen.advance(minutes=3)
        queue.finish(demo.id, 1)
        assert (first.status, current_stage(first).outcome, counter.current_ticket_id) == ("done", "done", None)
        queue.call_next(demo.id, 1)
        queue.no_show(demo.id, 1)
        assert (second.status, current_stage(second).outcome, counter.current_ticket_id) == \
            ("no_show", "no_show", None)
