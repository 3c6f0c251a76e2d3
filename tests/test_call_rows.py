"""A call-next works on rows (hall.queue.call_rows): its answer, its event and the rows it writes are what
the ORM objects say afterwards, and the counter's copy of its links follows the hall's layout."""
from __future__ import annotations

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
