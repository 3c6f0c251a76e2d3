"""The refusals of counter actions: a call-next or a call by number to a counter that is not free, an action on a
ticket the counter does not hold as it should. Each answer (status, message, the ticket's view) is the one the ORM
objects give, checked after an unknown counter (404) and a counter open for another staff member (403); the
ticket a refusal names is read as a row, on the action's connection, like the successful paths' (no ORM load)."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from hall import queue
from hall.extensions import db
from hall.models import Ticket
from hall.queue.views import ticket_view

HALL = "/api/v1/halls/demo"
#: What loading a ticket's ORM object for its view reads: the ticket, its service with the service's stages, the
#: counter it names.
ORM_LOADS = ("FROM tickets WHERE tickets.id =", " FROM services", " FROM service_stages",
             "FROM counters WHERE counters.id =")


@pytest.fixture
def app(any_app):
    return any_app


def _view(ticket_id: int) -> dict:
    """The ticket's view as the ORM objects give it now (the refusals' public-name mode: none)."""
    db.session.expire_all()
    view = ticket_view(db.session.get(Ticket, ticket_id))
    db.session.rollback()
    return view


def _refused(client, path: str, headers: dict, status: int, message: str, body: dict | None = None) -> dict:
    """The refusal's answer; a ticket it names is read as one row with the numbers of the counters it names, its
    service is the process's copy of the hall's layout (no ORM load)."""
    statements: list[str] = []

    def on_statement(_conn, _cursor, statement, *_):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        answer = client.post(f"{HALL}/{path}", headers=headers, json=body)
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
    assert answer.status_code == status, answer.json
    assert answer.json["message"] == message, answer.json
    assert not [s for s in statements if any(load in s for load in ORM_LOADS)], "\n".join(statements)
    return answer.json


def test_a_call_to_a_counter_that_is_not_free_answers_404_403_then_409_naming_its_ticket(app, demo):
    client = app.test_client()
    staff1 = {"Authorization": f"Bearer {demo.token('staff1')}"}
    staff2 = {"Authorization": f"Bearer {demo.token('staff2')}"}
    held, waiting = (queue.issue_ticket(demo.id, "A") for _ in range(2))
    transferred = queue.issue_ticket(demo.id, "A")
    closed = _refused(client, "counters/1/call-next", staff1, 409, "counter 1 is closed; open it first")
    assert "ticket" not in closed
    _refused(client, "counters/1/call", staff1, 409, "counter 1 is closed; open it first",
             {"number": waiting["number"]})
    client.post(f"{HALL}/counters/1/open", headers=staff1)
    client.post(f"{HALL}/counters/2/open", headers=staff2)
    assert client.post(f"{HALL}/counters/2/call-next", headers=staff2).json["number"] == held["number"]
    client.post(f"{HALL}/counters/2/transfer", headers=staff2, json={"counter": 1})  # sent to 1, called at 2
    assert client.post(f"{HALL}/counters/2/call-next", headers=staff2).json["number"] == waiting["number"]
    client.post(f"{HALL}/counters/1/call", headers=staff1, json={"number": held["number"]})
    db.session.commit()

    for path, body in (("call-next", None), ("call", {"number": transferred["number"]})):
        _refused(client, f"counters/9/{path}", staff1, 404, "unknown counter 9", body)
        _refused(client, f"counters/1/{path}", staff2, 403, "counter 1 is open for another staff member", body)
        busy = f"{held['number']} is already called at counter 1; finish it or mark it no-show first"
        assert _refused(client, f"counters/1/{path}", staff1, 409, busy, body)["ticket"] == _view(held["id"])
    # the ticket named in the refusal shows the counter it was transferred from and the one it went to
    client.post(f"{HALL}/counters/2/start", headers=staff2)
    busy = f"{waiting['number']} is already serving at counter 2; finish it or mark it no-show first"
    assert _refused(client, "counters/2/call-next", staff2, 409, busy)["ticket"] == _view(waiting["id"])


def test_an_action_on_a_ticket_the_counter_does_not_hold_as_it_should_answers_409_naming_it(app, demo):
    client = app.test_client()
    staff1 = {"Authorization": f"Bearer {demo.token('staff1')}"}
    staff2 = {"Authorization": f"Bearer {demo.token('staff2')}"}
    client.post(f"{HALL}/counters/1/open", headers=staff1)
    client.post(f"{HALL}/counters/2/open", headers=staff2)
    for path in ("recall", "start", "finish", "no-show", "transfer"):
        _refused(client, f"counters/1/{path}", staff1, 409, "counter 1 has no current ticket",
                 {"counter": 2} if path == "transfer" else None)
    ticket = queue.issue_ticket(demo.id, "A")
    client.post(f"{HALL}/counters/1/call-next", headers=staff1)
    client.post(f"{HALL}/counters/1/start", headers=staff1)
    db.session.commit()
    for path in ("recall", "start", "no-show"):
        _refused(client, f"counters/9/{path}", staff1, 404, "unknown counter 9")
        _refused(client, f"counters/1/{path}", staff2, 403, "counter 1 is open for another staff member")
        refused = _refused(client, f"counters/1/{path}", staff1, 409, f"{ticket['number']} is serving, not called")
        assert refused["ticket"] == _view(ticket["id"])
