"""Appointment check-in: the engine rules (window, status, day) and the API route."""
from __future__ import annotations

from datetime import date, time

import pytest

from hall.extensions import db
from hall.models import Appointment, Ticket, TicketEvent
from hall.queue.checkin import CheckInRefused, check_in
from tests.kiosk_support import book


def refusal(hall_id: int, code: str) -> CheckInRefused:
    with pytest.raises(CheckInRefused) as caught:
        check_in(hall_id, code)
    return caught.value


def test_valid_code_gives_an_appointment_ticket(demo, frozen):
    appointment = book(demo.id, slot=time(10, 10))
    view = check_in(demo.id, appointment.code)
    assert (view["number"], view["priority"], view["channel"], view["status"]) == ("B001", "appointment",
                                                                                   "appointment", "waiting")
    db.session.refresh(appointment)
    ticket = db.session.get(Ticket, view["id"])
    assert (appointment.status, appointment.ticket_id, ticket.appointment_id) == ("checked_in", ticket.id,
                                                                                  appointment.id)
    kinds = [e.kind for e in db.session.query(TicketEvent).filter_by(ticket_id=ticket.id)]
    assert kinds == ["issued", "checked_in"]


def test_code_is_matched_without_case_or_spaces(demo, frozen):
    appointment = book(demo.id, code="XY7Q2")
    assert check_in(demo.id, "  xy7q2 ")["priority"] == "appointment"


def test_window_edges_are_inside(demo, frozen):
    # 10:00 local now; before 30 min and after 15 min are the demo hall's defaults.
    assert check_in(demo.id, book(demo.id, slot=time(10, 30)).code)
    assert check_in(demo.id, book(demo.id, slot=time(9, 45)).code)


def test_early_code_says_when_check_in_opens(demo, frozen):
    error = refusal(demo.id, book(demo.id, slot=time(10, 31)).code)
    assert (error.code, error.status, error.details["opens"]) == ("appointment_early", 409, "10:01")
    assert "10:01" in error.message


def test_tomorrows_code_is_early(demo, frozen):
    error = refusal(demo.id, book(demo.id, day=date(2026, 3, 3)).code)
    assert error.code == "appointment_early" and "2026-03-03" in error.message


def test_late_code_is_refused(demo, frozen):
    error = refusal(demo.id, book(demo.id, slot=time(9, 44)).code)
    assert (error.code, error.details["closes"]) == ("appointment_late", "09:59")


def test_yesterdays_code_is_late(demo, frozen):
    assert refusal(demo.id, book(demo.id, day=date(2026, 3, 1)).code).code == "appointment_late"


def test_used_code_is_refused_and_issues_nothing(demo, frozen):
    appointment = book(demo.id)
    check_in(demo.id, appointment.code)
    assert refusal(demo.id, appointment.code).code == "appointment_used"
    assert db.session.query(Ticket).count() == 1


def test_cancelled_code_is_refused(demo, frozen):
    assert refusal(demo.id, book(demo.id, status="cancelled").code).code == "appointment_cancelled"


def test_unknown_code_is_not_found(demo, frozen):
    error = refusal(demo.id, "NOPE42")
    assert (error.code, error.status) == ("appointment_unknown", 404)


def test_code_of_another_hall_is_unknown(demo, frozen):
    from hall.demo import create_demo_hall
    from hall.queue.lookup import hall_by_slug

    create_demo_hall("other")
    other = hall_by_slug("other")
    assert refusal(other.id, book(demo.id).code).code == "appointment_unknown"


def test_same_key_returns_the_same_ticket(demo, frozen):
    appointment = book(demo.id)
    first = check_in(demo.id, appointment.code, idempotency_key="scan-0001")
    again = check_in(demo.id, appointment.code, idempotency_key="scan-0001")
    assert again["repeated"] and again["token"] == first["token"]
    assert db.session.query(Ticket).count() == 1


def post(client, code: str, **json):
    return client.post(f"/api/v1/halls/demo/appointments/{code}/check-in", json=json)


def test_api_checks_in_and_answers_each_refusal(app, demo, frozen):
    client = app.test_client()
    code = book(demo.id).code
    created = post(client, code, idempotency_key="tap-00000001")
    assert created.status_code == 201 and created.json["priority"] == "appointment"
    assert post(client, code, idempotency_key="tap-00000001").status_code == 200
    used = post(client, code)
    assert (used.status_code, used.json["error"]) == (409, "appointment_used")
    early = post(client, book(demo.id, slot=time(12, 0)).code)
    assert (early.status_code, early.json["error"], early.json["opens"]) == (409, "appointment_early", "11:30")
    late = post(client, book(demo.id, slot=time(8, 0)).code)
    assert (late.status_code, late.json["error"]) == (409, "appointment_late")
    unknown = post(client, "ZZZ999")
    assert (unknown.status_code, unknown.json["error"]) == (404, "appointment_unknown")


def test_api_rejects_a_bad_body(app, demo, frozen):
    response = post(app.test_client(), book(demo.id).code, idempotency_key="short")
    assert response.status_code == 422
    assert db.session.scalar(db.select(Appointment.status)) == "booked"


def test_api_needs_a_registered_kiosk_where_the_hall_requires_one(app, demo, frozen):
    demo.hall.require_registered_kiosk = True
    db.session.commit()
    code = book(demo.id).code
    assert post(app.test_client(), code).status_code == 403
    from hall.models import Device

    token = db.session.scalar(db.select(Device.token).where(Device.kind == "kiosk"))
    response = app.test_client().post(f"/api/v1/halls/demo/appointments/{code}/check-in",
                                      headers={"X-Device-Token": token})
    assert response.status_code == 201
