"""Visitor API: booking errors as clear JSON, lookups by code, the staff's day list, cancel and rate by token."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from hall import queue
from hall.extensions import db
from hall.models import Counter, Feedback
from hall.queue.lookup import ticket_by_token
from tests.visitor_support import add_rating_pad, serve_at

BOOKING = {"service": "B", "day": "2026-03-03", "slot": "09:00", "name": "李四", "phone": "138 0013 8000"}


@pytest.fixture
def client(app, demo, frozen):
    return app.test_client()


def post_booking(client, **changes):
    return client.post("/api/v1/halls/demo/appointments", json={**BOOKING, **changes})


def test_booking_answers_with_the_code_and_its_page(client):
    answer = post_booking(client)
    assert answer.status_code == 201
    booked = answer.get_json()
    assert booked["phone"] == "138****8000" and booked["visitor_name"] == "李四"
    assert booked["page_url"] == f"/book/demo/a/{booked['code']}"
    page = client.get(booked["page_url"] + "?lang=en").get_data(as_text=True)
    assert booked["code"][:4] in page and "<svg" in page and "Cancel appointment" in page


@pytest.mark.parametrize("changes,status,error", [
    ({"service": "Z"}, 404, "unknown_service"),
    ({"day": "2026-03-02", "slot": "09:30"}, 400, "past_slot"),
    ({"day": "2026-03-08"}, 409, "closed_day"),
    ({"slot": "09:10"}, 400, "not_a_slot"),
    ({"phone": "call me"}, 422, "invalid"),
    ({"name": ""}, 422, "invalid"),
    ({"day": "tomorrow"}, 422, "invalid"),
])
def test_booking_errors_are_clear_json(client, changes, status, error):
    answer = post_booking(client, **changes)
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"] == error and answer.get_json()["message"]


def test_a_full_slot_answers_409_slot_full(client, demo):
    from hall.models import Service
    db.session.scalar(select(Service).where(Service.prefix == "B")).slot_capacity = 1
    db.session.commit()
    assert post_booking(client).status_code == 201
    answer = post_booking(client, phone="13900000000")
    assert answer.status_code == 409 and answer.get_json()["error"] == "slot_full"


def test_non_json_body_is_refused(client):
    answer = client.post("/api/v1/halls/demo/appointments", data="x", content_type="text/plain")
    assert answer.status_code == 415


def test_slots_of_a_day(client):
    post_booking(client)
    slots = client.get("/api/v1/halls/demo/appointments/slots?service=B&day=2026-03-03").get_json()
    assert slots["closed"] is None and slots["slot_minutes"] == 30
    assert slots["slots"][1] == {"at": "09:00", "capacity": 4, "booked": 1, "free": 3, "past": False}
    assert client.get("/api/v1/halls/demo/appointments/slots?service=B&day=2026-03-07").get_json()["closed"] \
        == "closed_weekday"
    assert client.get("/api/v1/halls/demo/appointments/slots?service=Q").status_code == 404
    assert client.get("/api/v1/halls/demo/appointments/slots?service=B&day=x").status_code == 400


def test_lookup_and_cancel_by_code(client):
    code = post_booking(client).get_json()["code"]
    assert client.get(f"/api/v1/appointments/{code.lower()}").get_json()["status"] == "booked"
    assert client.delete(f"/api/v1/appointments/{code}").get_json()["status"] == "cancelled"
    again = client.delete(f"/api/v1/appointments/{code}")
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    assert client.get("/api/v1/appointments/ZZZZ2222").status_code == 404
    assert client.get("/book/demo/a/ZZZZ2222").status_code == 404


def test_staff_see_the_days_list_with_full_phone(client, demo):
    post_booking(client)
    assert client.get("/api/v1/halls/demo/appointments?day=2026-03-03").status_code == 401
    assert client.get("/book/demo/day").headers["Location"].startswith("/login?next=")
    headers = {"Authorization": f"Bearer {demo.token('staff1')}"}
    g.pop("_login_user", None)  # requests share the test's app context, where Flask-Login caches the caller
    listed = client.get("/api/v1/halls/demo/appointments?day=2026-03-03", headers=headers).get_json()
    assert [(a["slot"], a["phone"]) for a in listed["appointments"]] == [("09:00", "13800138000")]


def test_staff_day_page_lists_and_cancels_with_a_session(client, demo):
    code = post_booking(client).get_json()["code"]
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"login": "staff1", "password": demo.passwords["staff1"], "csrf_token": token})
    page = client.get("/book/demo/day?day=2026-03-03&lang=en").get_data(as_text=True)
    assert code in page and "13800138000" in page
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    assert client.delete(f"/api/v1/appointments/{code}").status_code == 400  # a session needs the CSRF token
    assert client.delete(f"/api/v1/appointments/{code}", headers={"X-CSRFToken": csrf}).status_code == 200


def test_visitor_cancels_own_waiting_ticket_by_token(client, demo):
    token = queue.issue_ticket(demo.id, "A")["token"]
    answer = client.post(f"/api/v1/tickets/{token}/cancel")
    assert answer.status_code == 200 and answer.get_json()["status"] == "cancelled"
    assert "id" not in answer.get_json()
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 409
    assert client.post("/api/v1/tickets/not-a-token/cancel").status_code == 404


def test_visitor_leaves_a_phone_to_be_notified_and_takes_it_back(client, demo):
    token = queue.issue_ticket(demo.id, "A")["token"]
    assert client.get(f"/api/v1/tickets/{token}").get_json()["notify"] is None
    answer = client.post(f"/api/v1/tickets/{token}/notify", json={"phone": "138-0013 8000"})
    assert answer.status_code == 200
    assert answer.get_json() == {"notify": {"phone": "138****8000"}, "near_ahead": 3}
    assert ticket_by_token(token).notify_phone == "13800138000"
    assert client.get(f"/api/v1/tickets/{token}").get_json()["notify"] == {"phone": "138****8000"}
    assert client.delete(f"/api/v1/tickets/{token}/notify").status_code == 204
    assert client.get(f"/api/v1/tickets/{token}").get_json()["notify"] is None


@pytest.mark.parametrize("body,status,error", [
    ({"phone": "call me"}, 422, "invalid"), ({}, 422, "invalid"), ({"phone": "12"}, 422, "invalid"),
])
def test_bad_notify_phones_are_refused(client, demo, body, status, error):
    token = queue.issue_ticket(demo.id, "A")["token"]
    answer = client.post(f"/api/v1/tickets/{token}/notify", json=body)
    assert (answer.status_code, answer.get_json()["error"]) == (status, error) and answer.get_json()["message"]
    assert ticket_by_token(token).notify_phone is None


def test_notify_only_while_waiting_and_only_by_token(client, demo):
    token = queue.issue_ticket(demo.id, "A")["token"]
    serve_at(demo, 1)
    late = client.post(f"/api/v1/tickets/{token}/notify", json={"phone": "13800138000"})
    assert late.status_code == 409 and late.get_json()["error"] == "not_waiting"
    assert client.post("/api/v1/tickets/not-a-token/notify", json={"phone": "13800138000"}).status_code == 404


def test_phone_rating_once_after_the_ticket_is_done(client, demo):
    token = queue.issue_ticket(demo.id, "A")["token"]
    early = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": 5})
    assert early.status_code == 409 and early.get_json()["error"] == "not_rateable"
    serve_at(demo, 1)
    first = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": 4, "reasons": ["fast", "clear"]})
    assert first.status_code == 201 and first.get_json()["satisfied"] is True
    second = client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": 1})
    assert second.status_code == 409 and second.get_json()["error"] == "already_rated"
    feedback = db.session.scalar(select(Feedback))
    assert (feedback.rating, feedback.channel, feedback.reasons) == (4, "phone", ["fast", "clear"])
    assert feedback.staff_id == demo.staff("staff1").id
    assert feedback.counter_id == db.session.scalar(select(Counter.id).where(Counter.number == 1))


@pytest.mark.parametrize("rating", [{"rating": 0}, {"rating": 6}, {"rating": 3, "reasons": ["bribe"]}, {}])
def test_bad_ratings_are_refused(client, demo, rating):
    token = queue.issue_ticket(demo.id, "A")["token"]
    serve_at(demo, 1)
    assert client.post(f"/api/v1/tickets/{token}/feedback", json=rating).status_code == 422


def test_rating_pad_rates_what_just_finished_at_its_counter(client, demo, frozen):
    pad = add_rating_pad(demo.id, 3)
    queue.issue_ticket(demo.id, "B")
    serve_at(demo, 3)  # accept at counter 3; the case moves on to inspection
    url = "/api/v1/halls/demo/counters/3/feedback"
    assert client.post(url, json={"number": "B001", "rating": 5}).status_code == 403
    assert client.post("/api/v1/halls/demo/counters/4/feedback", json={"number": "B001", "rating": 5},
                       headers={"X-Device-Token": pad}).status_code == 403  # the pad belongs to counter 3
    answer = client.post(url, json={"number": "B001", "rating": 2, "reasons": ["long_wait"]},
                         headers={"X-Device-Token": pad})
    assert answer.status_code == 201
    assert client.post(url, json={"number": "B001", "rating": 5}, headers={"X-Device-Token": pad}).status_code == 409
    feedback = db.session.scalar(select(Feedback))
    assert (feedback.channel, feedback.staff_id) == ("pad", demo.staff("staff3").id)


def test_rating_pad_refuses_tickets_not_finished_there_or_long_ago(client, demo, frozen):
    pad = add_rating_pad(demo.id)
    queue.issue_ticket(demo.id, "A")
    serve_at(demo, 1)
    url, headers = "/api/v1/halls/demo/counters/2/feedback", {"X-Device-Token": pad}
    assert client.post(url, json={"number": "A001", "rating": 5}, headers=headers).get_json()["error"] \
        == "not_rateable"
    frozen.advance(minutes=11)
    answer = client.post("/api/v1/halls/demo/counters/1/feedback", json={"number": "A001", "rating": 5},
                         headers=headers)
    assert answer.status_code == 409 and answer.get_json()["error"] == "not_rateable"


def test_satisfaction_counts_ratings_of_three_to_five_as_satisfied(client, demo):
    from datetime import date

    from hall.visitor.feedback import satisfaction
    tokens = [queue.issue_ticket(demo.id, "A")["token"] for _ in range(3)]
    for rating, token in zip((5, 3, 2), tokens):
        serve_at(demo, 1)
        assert client.post(f"/api/v1/tickets/{token}/feedback", json={"rating": rating}).status_code == 201
    assert satisfaction(demo.id, date(2026, 3, 2), date(2026, 3, 2)) == \
        {"count": 3, "average": 3.33, "satisfied_pct": 66.7}
    assert satisfaction(demo.id, date(2026, 3, 3), date(2026, 3, 3))["count"] == 0


def test_visitor_routes_are_in_the_openapi_document_and_the_index(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"post", "get"} <= set(paths["/halls/{hall}/appointments"])
    assert "delete" in paths["/appointments/{code}"] and "post" in paths["/tickets/{token}/feedback"]
    assert "/book/demo" in client.get("/?lang=en").get_data(as_text=True)
