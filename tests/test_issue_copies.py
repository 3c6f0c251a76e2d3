"""What a server process keeps between issues, and how a change made by another process reaches it.

An issue reads neither the hall's services nor the estimate's slow inputs inside the hall's lock:
each process keeps a copy of the services (hall/queue/layout.py), renewed when the hall's
layout version moves, and of the hall's picture (hall/pictures.py), renewed once it is
`estimate_inputs_max_age_s` old. A second app on the same database stands for another process.
Each test runs as a plain app (requests read the picture) and as a server process, whose picture
reader keeps it fresh: what an estimate sees must be the same.
"""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hall import pictures, queue
from hall.estimate import estimate_new_ticket
from hall.extensions import db
from hall.models import Counter, CounterService, Hall, Service
from hall.queue.realname import simulated_id_number
from tests.conftest import make_app


@pytest.fixture(params=["requests read", "reader reads"])
def app(app, request):
    if request.param == "requests read":
        yield app
        return
    reader = pictures.start_reader(app)
    yield app
    reader.stop(timeout=5)


@pytest.fixture
def other(app, demo):
    """Another server process on the test's database."""
    second = make_app(app.config["SQLALCHEMY_DATABASE_URI"])
    yield second
    with second.app_context():
        db.engine.dispose()


def _issue(app, prefix: str = "A"):
    return app.test_client().post("/api/v1/halls/demo/tickets", json={"service": prefix})


def test_a_service_edited_in_another_process_takes_effect_at_the_next_issue(app, other):
    assert _issue(app).get_json()["stage"]["name_en"] == "Consultation"  # this process keeps A now
    with other.app_context():
        service = db.session.scalar(select(Service).where(Service.prefix == "A"))
        service.stages[0].name_en = "Enquiries"
        db.session.commit()
    assert _issue(app).get_json()["stage"]["name_en"] == "Enquiries"
    with other.app_context():
        db.session.scalar(select(Service).where(Service.prefix == "A")).active = False
        db.session.commit()
    refused = _issue(app)
    assert refused.status_code == 409 and refused.get_json()["reason"] == "inactive"


def test_a_counter_link_removed_in_another_process_moves_the_layout_version(app, other, demo):
    version = db.session.get(Hall, demo.id).layout_version
    with other.app_context():
        link = db.session.scalar(select(CounterService).join(Counter).where(Counter.number == 2))
        db.session.delete(link)
        db.session.commit()
    db.session.commit()  # a new snapshot
    assert db.session.get(Hall, demo.id).layout_version == version + 1


def test_counters_opened_in_another_process_reach_the_estimate_within_the_max_age(app, other, demo, frozen):
    for _ in range(3):
        _issue(app)  # nobody serves A: each one ahead counts a whole handling time
    with other.app_context():
        for number in (1, 2):
            queue.open_counter(demo.id, number, staff_id=demo.staff(f"staff{number}").id)
    frozen.advance(seconds=app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] + 1)
    waiting, expected = estimate_new_ticket(demo.id, db.session.scalar(select(Service.id).where(
        Service.prefix == "A")), "consult", date(2026, 3, 2))
    issued = _issue(app).get_json()
    assert issued["people_ahead"] == waiting == 3
    assert issued["estimated_wait_s"] == expected.wait_s < 3 * 300  # two counters share the line


def test_a_call_in_this_process_reaches_the_next_estimate_at_once(app, demo, frozen):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    for _ in range(3):
        _issue(app)
    queue.call_next(demo.id, 1)
    queue.start(demo.id, 1)
    frozen.advance(seconds=0.5)
    waiting, expected = estimate_new_ticket(demo.id, db.session.scalar(select(Service.id).where(
        Service.prefix == "A")), "consult", date(2026, 3, 2))
    issued = _issue(app).get_json()
    assert issued["people_ahead"] == waiting == 2
    # the visitor at counter 1 is counted: 299.5 s more, then two more visitors (600 s before the call)
    assert issued["estimated_wait_s"] == expected.wait_s == 900


def test_tickets_issued_in_this_process_move_the_copy_of_their_line(app, demo, frozen):
    """Counter 2 calls A before C: a C ticket waits for the A tickets issued just before it."""
    app.config["HALL"]["queue"]["estimate_inputs_max_age_s"] = 600  # no re-reading: the copy alone
    queue.open_counter(demo.id, 2, staff_id=demo.staff("staff2").id)
    client = app.test_client()

    def issue_c(visitor: int):
        return client.post("/api/v1/halls/demo/tickets",
                           json={"service": "C", "id_number": simulated_id_number(visitor)}).get_json()

    issue_c(1)
    for _ in range(3):
        _issue(app)
    service_id = db.session.scalar(select(Service.id).where(Service.prefix == "C"))
    _, expected = estimate_new_ticket(demo.id, service_id, "certificate", date(2026, 3, 2))
    issued = issue_c(2)
    assert issued["people_ahead"] == 1
    assert issued["estimated_wait_s"] == expected.wait_s > 3 * 300  # the three A tickets go first
