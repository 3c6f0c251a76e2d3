"""An issue's write transaction on a connection of its own (hall.database.WriteOnOwnConnection).

An issue begun outside a transaction runs its BEGIN, statements and COMMIT on a connection it takes
from the engine, not through the ORM session's transaction. What the action does through the session
meanwhile must still be part of that one transaction: committed with it, undone with it.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from hall.demo import create_demo_hall
from hall.database import kept_autocommit
from hall.extensions import db
from hall.models import Hall, Notice, Ticket, TicketEvent
from hall.queue import issue_ticket
from hall.queue.realname import simulated_id_number
from hall.queue.unit import hall_action


@pytest.fixture
def hall_id(any_app) -> int:
    create_demo_hall()
    db.session.commit()
    return db.session.scalar(sa.select(Hall.id).where(Hall.slug == "demo"))


def _state(hall_id: int) -> tuple[int, int, int, int]:
    """The hall's event seq, and how many tickets, events and notices it has."""
    counts = [db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.hall_id == hall_id))
              for model in (Ticket, TicketEvent, Notice)]
    seq = db.session.scalar(sa.select(Hall.event_seq).where(Hall.id == hall_id))
    db.session.rollback()
    return seq, *counts


def test_a_common_issue_does_not_begin_the_sessions_transaction(any_app, hall_id):
    client = any_app.test_client()
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    begun = []
    listener = lambda *args: begun.append(args)  # noqa: E731
    event.listen(db.session.registry(), "after_begin", listener)
    try:
        with db.engine.connect() as counting:
            pool = counting.engine.pool
        for n in range(3):
            # SQLite: hall_action on a connection of its own; PostgreSQL: one statement on one
            answer = issue_ticket("demo", "A")
            assert answer["people_ahead"] == n + 1
        assert not begun
        # every action gave its connection back: to the pool, or to those kept for one-call issues
        assert pool.checkedout() == len(kept_autocommit(db.engine).idle)
    finally:
        event.remove(db.session.registry(), "after_begin", listener)
    seq, tickets, events, _ = _state(hall_id)
    assert tickets == events == 4 and seq >= 4
    with any_app.app_context():  # nor does it make a session, nor a real-name one (its count is the action's)
        issue_ticket("demo", "A")
        issue_ticket("demo", "C", id_number=simulated_id_number(1))
        assert not db.session.registry.has()


def test_what_an_action_writes_through_the_session_commits_and_undoes_with_it(any_app, hall_id):
    seq, tickets, events, notices = _state(hall_id)
    pool = db.engine.pool

    with hall_action(hall_id, plain_hall=True) as action:
        assert db.session.connection() is action.connection  # the session joined the action's transaction
        db.session.add(Notice(hall_id=hall_id, text_en="committed with the action"))
        action.log("notice_added")
        action.publish("notice_added")
    assert not db.session().in_transaction()
    assert _state(hall_id) == (seq + 1, tickets, events + 1, notices + 1)
    assert pool.checkedout() == 0

    with pytest.raises(RuntimeError), hall_action(hall_id, plain_hall=True) as action:
        db.session.add(Notice(hall_id=hall_id, text_en="undone with the action"))
        db.session.flush()
        action.log("notice_added")
        raise RuntimeError("the action fails after writing")
    assert _state(hall_id) == (seq + 1, tickets, events + 1, notices + 1)
    assert pool.checkedout() == 0

    # an action that publishes nothing is undone too, and the lock (SQLite: the writer queue) is free again
    with hall_action(hall_id, plain_hall=True) as action:
        action.log("nothing_happened")
    answer = issue_ticket(hall_id, "A", priority="priority")
    assert _state(hall_id) == (seq + 2, tickets + 1, events + 2, notices + 1)
    assert answer["number"].startswith("A")
