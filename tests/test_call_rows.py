"""A call-next, a recall, a start, a finish and a no-show work on rows (hall.queue.call_rows): their answers, their events and the rows
they write are what the ORM objects say afterwards, and the counter's copy of its links follows the hall's
layout."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Counter, CounterService, Service, Stage, Ticket, TicketEvent
from hall.queue.views import counter_view, ticket_view
from tests.resident_ids import resident_id


@pytest.fixture
def app(any_app):
    return any_app


def _as_loaded(event: dict) -> tuple[dict, dict]:
    """The views of the called ticket and its counter as the ORM reads them now."""
    db.session.expire_all()
    ticket = db.session.get(Ticket, event["ticket"]["id"])
    counter = db.session.get(Counter, event["counter"]["id"])
    return ticket_view(ticket), counter_view(counter)


def test_a_calls_answer_and_rows_are_the_objects_views(demo, frozen, events):
    staff = demo.staff("staff6")
    queue.open_counter(demo.id, 6, staff_id=staff.id)  # C, then B's certificate stage
    queue.open_counter(demo.id, 2, staff_id=demo.staff("staff2").id)
    real_name = queue.issue_ticket(demo.id, "C", id_number=resident_id())
    frozen.advance(minutes=1)
    sent = queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 2)
    queue.transfer(demo.id, 2, counter=6, note="at 6")  # sent to counter 6: called there first
    db.session.commit()

    first = queue.call_next(demo.id, 6, staff_id=staff.id)
    assert first["ticket"]["number"] == sent["number"] and first["ticket"]["counter"] == 6
    assert (first["ticket"], first["counter"]) == _as_loaded(first)
    assert first["counter"]["staff"] == staff.name and first["counter"]["services"] == ["C", "B"]
    assert first["ticket"]["target_counter"] is None and first["ticket"]["stage"]["flow"]
    assert events[-1] == first
    queue.finish(demo.id, 6)

    second = queue.call_next(demo.id, 6, staff_id=staff.id)
    assert second["ticket"]["number"] == real_name["number"]
    assert (second["ticket"], second["counter"]) == _as_loaded(second)
    ticket = db.session.get(Ticket, second["ticket"]["id"])
    stage = db.session.scalars(select(Stage).where(Stage.ticket_id == ticket.id).order_by(Stage.id.desc())).first()
    assert (stage.counter_id, stage.staff_id, stage.called_at) == (ticket.counter_id, staff.id, ticket.called_at)
    logged = db.session.scalars(select(TicketEvent).where(TicketEvent.seq == second["seq"])).one()
    assert (logged.kind, logged.ticket_id, logged.counter_id, logged.staff_id) == (
        "called", ticket.id, ticket.counter_id, staff.id)
    db.session.commit()


def test_a_counters_copy_of_its_services_follows_the_halls_layout(demo, frozen):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)  # A only
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    queue.finish(demo.id, 1)
    certificate = queue.issue_ticket(demo.id, "C", id_number=resident_id())["number"]
    assert queue.call_next(demo.id, 1) is None  # A only: the copy holds A
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == demo.id, Counter.number == 1))
    service = db.session.scalar(select(Service).where(Service.hall_id == demo.id, Service.prefix == "C"))
    db.session.add(CounterService(counter_id=counter.id, service_id=service.id, rank=5))
    db.session.commit()  # the hall's layout moves
    called = queue.call_next(demo.id, 1)
    assert called["ticket"]["number"] == certificate and called["counter"]["services"] == ["A", "C"]
    db.session.commit()


def _stages(ticket_id: int) -> list[Stage]:
    return db.session.scalars(select(Stage).where(Stage.ticket_id == ticket_id).order_by(Stage.id)).all()


def test_a_finishs_answer_and_rows_are_the_objects_views(demo, frozen, events):
    queue.open_counter(demo.id, 3, staff_id=demo.staff("staff3").id)  # B's accept stage
    queue.open_counter(demo.id, 5, staff_id=demo.staff("staff5").id)  # B's inspect and review stages
    declaration = queue.issue_ticket(demo.id, "B")
    queue.issue_ticket(demo.id, "B")
    queue.call_next(demo.id, 3)
    frozen.advance(minutes=1)
    queue.start(demo.id, 3)
    frozen.advance(minutes=4)

    moved = queue.finish(demo.id, 3)  # on to the inspect stage, at the back of its line
    assert moved["kind"] == "stage_finished" and moved["finished_stage"] == "accept"
    assert moved["ticket"]["status"] == "waiting" and moved["ticket"]["stage"]["code"] == "inspect"
    assert (moved["ticket"], moved["counter"]) == _as_loaded(moved) and events[-1] == moved
    assert moved["counter"]["current_ticket_id"] is None
    accepted, inspect = _stages(declaration["id"])
    assert (accepted.outcome, accepted.finished_at - accepted.started_at) == ("done", timedelta(minutes=4))
    assert (inspect.code, inspect.position, inspect.queued_at, inspect.called_at) == ("inspect", 1, frozen.now, None)
    ticket = db.session.get(Ticket, declaration["id"])
    assert ticket.sort_at == frozen.now and ticket.counter_id == moved["counter"]["id"]
    assert queue.call_next(demo.id, 5)["ticket"]["number"] == declaration["number"]  # its line holds it

    notice = {"items": ["发票 Invoice"], "note": "请补充发票原件"}
    closed = queue.finish(demo.id, 5, outcome="incomplete", notice=notice)
    assert closed["kind"] == "finished" and closed["ticket"]["notice"] == notice
    assert (closed["ticket"], closed["counter"]) == _as_loaded(closed)
    assert _stages(declaration["id"])[-1].notice == notice
    logged = db.session.scalars(select(TicketEvent).where(TicketEvent.seq == closed["seq"])).one()
    assert (logged.kind, logged.data) == ("finished", {"stage": "inspect", "outcome": "incomplete", "notice": notice})

    queue.call_next(demo.id, 3)
    done = queue.finish(demo.id, 3, outcome="rejected")
    assert done["ticket"]["notice"] is None and _stages(done["ticket"]["id"])[-1].notice is None
    assert (done["ticket"], done["counter"]) == _as_loaded(done)
    db.session.commit()


def test_a_counter_renumbered_or_closed_for_good_is_read_again(demo):
    """A process knows a counter's layout by its number: once the number is another's, or nobody's, the
    counter is read again by its number (a renumbering does not move the hall's layout)."""
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    queue.finish(demo.id, 1)
    counter = db.session.scalar(select(Counter).where(Counter.hall_id == demo.id, Counter.number == 1))
    counter.number = 7
    db.session.commit()
    with pytest.raises(queue.NotFound, match="unknown counter 1"):
        queue.call_next(demo.id, 1)
    assert queue.call_next(demo.id, 7)["counter"]["number"] == 7
    queue.finish(demo.id, 7)
    counter = db.session.get(Counter, counter.id)
    counter.active = False
    db.session.commit()
    with pytest.raises(queue.NotFound, match="unknown counter 7"):
        queue.call_next(demo.id, 7)
    db.session.commit()


def _logged(event: dict) -> TicketEvent:
    return db.session.scalars(select(TicketEvent).where(TicketEvent.seq == event["seq"])).one()


def test_a_recall_start_and_no_show_answer_and_rows_are_the_objects_views(demo, frozen, events):
    staff = demo.staff("staff1")
    queue.open_counter(demo.id, 1, staff_id=staff.id)
    real_name = queue.issue_ticket(demo.id, "A", id_number=resident_id())
    plain = queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    frozen.advance(seconds=30)

    for count in (1, 2):
        recalled = queue.recall(demo.id, 1, staff_id=staff.id)
        assert recalled["kind"] == "recalled" and recalled["ticket"]["number"] == real_name["number"]
        assert recalled["ticket"]["recall_count"] == count and recalled["counter"]["current_ticket_id"] == real_name["id"]
        assert (recalled["ticket"], recalled["counter"]) == _as_loaded(recalled) and events[-1] == recalled
        logged = _logged(recalled)
        assert (logged.kind, logged.staff_id, logged.data) == ("recalled", staff.id, {"recall_count": count})

    frozen.advance(seconds=30)
    started = queue.start(demo.id, 1)
    assert started["ticket"]["status"] == "serving" and started["counter"]["current_ticket_id"] == real_name["id"]
    assert (started["ticket"], started["counter"]) == _as_loaded(started) and events[-1] == started
    assert _stages(real_name["id"])[-1].started_at == frozen.now
    assert (_logged(started).kind, _logged(started).staff_id) == ("started", staff.id)
    with pytest.raises(queue.Conflict, match="is serving, not called"):
        queue.start(demo.id, 1)
    queue.finish(demo.id, 1)
    with pytest.raises(queue.Conflict, match="has no current ticket"):
        queue.recall(demo.id, 1)

    queue.call_next(demo.id, 1)
    frozen.advance(minutes=2)
    missed = queue.no_show(demo.id, 1)
    assert missed["ticket"]["number"] == plain["number"] and missed["ticket"]["status"] == "no_show"
    assert missed["ticket"]["closed_at"] and missed["counter"]["current_ticket_id"] is None
    assert (missed["ticket"], missed["counter"]) == _as_loaded(missed) and events[-1] == missed
    stage = _stages(plain["id"])[-1]
    assert (stage.outcome, stage.finished_at, stage.notice) == ("no_show", None, None)
    assert queue.reinstate(demo.id, plain["number"])["ticket"]["status"] == "waiting"
    db.session.commit()


def _ticket_loaded(event: dict) -> dict:
    db.session.expire_all()
    return ticket_view(db.session.get(Ticket, event["ticket"]["id"]))


def test_a_transfer_call_by_number_and_reinstate_answer_and_rows_are_the_objects_views(demo, frozen, events):
    staff = demo.staff("staff3")
    for number in (1, 3, 5):
        queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)
    declaration = queue.issue_ticket(demo.id, "B")
    frozen.advance(minutes=1)
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 3)
    frozen.advance(minutes=1)
    queue.start(demo.id, 3)
    frozen.advance(minutes=2)

    sent = queue.transfer(demo.id, 3, stage="review", counter=5, note="to review", staff_id=staff.id)
    assert (sent["kind"], sent["to_counter"], sent["note"]) == ("transferred", 5, "to review")
    assert sent["ticket"]["stage"]["code"] == "review" and sent["ticket"]["status"] == "waiting"
    assert (sent["ticket"]["counter"], sent["ticket"]["target_counter"]) == (3, 5)
    assert (sent["ticket"], sent["counter"]) == _as_loaded(sent) and events[-1] == sent
    assert sent["counter"]["current_ticket_id"] is None
    accepted, review = _stages(declaration["id"])
    assert (accepted.outcome, accepted.finished_at - accepted.started_at) == ("transferred", timedelta(minutes=2))
    assert (review.code, review.position, review.queued_at, review.called_at) == ("review", 2, frozen.now, None)
    ticket = db.session.get(Ticket, declaration["id"])
    assert ticket.sort_at == ticket.issued_at  # its place kept
    assert (_logged(sent).kind, _logged(sent).staff_id, _logged(sent).data) == ("transferred", staff.id, {
        "service": "B", "stage": "review", "counter": 5, "keep_place": True, "note": "to review"})
    assert queue.call_next(demo.id, 5)["ticket"]["number"] == declaration["number"]  # sent there

    frozen.advance(minutes=1)
    moved = queue.transfer(demo.id, 5, service="A", keep_place=False)  # to the back of A's line
    assert moved["ticket"]["service"] == "A" and moved["ticket"]["stage"]["code"] == "consult"
    assert moved["ticket"]["target_counter"] is None and moved["to_counter"] is None
    assert (moved["ticket"], moved["counter"]) == _as_loaded(moved) and events[-1] == moved
    assert db.session.get(Ticket, declaration["id"]).sort_at == frozen.now

    called = queue.call_ticket(demo.id, 1, declaration["number"].lower(), staff_id=demo.staff("staff1").id)
    assert called["ticket"]["number"] == declaration["number"] and called["ticket"]["counter"] == 1
    assert (called["ticket"], called["counter"]) == _as_loaded(called) and events[-1] == called
    assert _stages(declaration["id"])[-1].counter_id == called["counter"]["id"]
    with pytest.raises(queue.Conflict, match=f"{declaration['number']} was already called at counter 1") as raised:
        queue.call_ticket(demo.id, 3, declaration["number"])
    assert raised.value.details["ticket"] == _ticket_loaded(called)

    queue.no_show(demo.id, 1)
    frozen.advance(minutes=1)
    back = queue.reinstate(demo.id, declaration["number"], staff_id=staff.id)
    assert back["kind"] == "reinstated" and back["ticket"]["status"] == "waiting" and back["ticket"]["counter"] == 1
    assert back["ticket"]["closed_at"] is None and back["ticket"] == _ticket_loaded(back) and events[-1] == back
    assert (_logged(back).kind, _logged(back).staff_id) == ("reinstated", staff.id)
    assert (_stages(declaration["id"])[-1].code, _stages(declaration["id"])[-1].queued_at) == ("consult", frozen.now)

    queue.call_ticket(demo.id, 1, declaration["number"])
    queue.no_show(demo.id, 1)
    again = queue.call_ticket(demo.id, 1, declaration["number"])  # a recent no-show: reinstated, then called
    assert (again["ticket"], again["counter"]) == _as_loaded(again) and events[-1] == again
    assert [e.kind for e in db.session.scalars(select(TicketEvent).where(TicketEvent.seq == again["seq"])
                                               .order_by(TicketEvent.id))] == ["reinstated", "called"]
    queue.no_show(demo.id, 1)
    frozen.advance(hours=1)
    for late in (lambda: queue.reinstate(demo.id, declaration["number"]),
                 lambda: queue.call_ticket(demo.id, 1, declaration["number"])):
        with pytest.raises(queue.Conflict, match="missed its call more than 15 minutes ago"):
            late()
    with pytest.raises(queue.Conflict, match="A001 is waiting, not a no-show"):
        queue.reinstate(demo.id, "A001")
    with pytest.raises(queue.NotFound, match="no ticket 'Z999' today"):
        queue.call_ticket(demo.id, 1, "Z999")
    db.session.commit()
