"""Appointments: slots from service hours, booking rules and errors, capacity under concurrent bookings."""
from __future__ import annotations

import threading
from datetime import date, time

import pytest
from sqlalchemy import func, select

from hall.extensions import db
from hall.models import Appointment, Service
from hall.queue import booking
from hall.queue.booking import CODE_ALPHABET, book_appointment, cancel_appointment, day_slots, slot_times
from tests.resident_ids import issue_args

MONDAY = date(2026, 3, 2)  # the frozen clock's day: 10:00 in Shanghai
TUESDAY = date(2026, 3, 3)


def service(demo, prefix: str) -> Service:
    return db.session.scalar(select(Service).where(Service.hall_id == demo.id, Service.prefix == prefix))


def book(demo, at: time = time(9, 0), day: date = TUESDAY, prefix: str = "B", phone: str = "13800000000") -> dict:
    return book_appointment(demo.id, prefix, day, at, visitor_name="张三", phone=phone, **issue_args(prefix))


@pytest.fixture
def hall_db(request):
    """The demo hall on SQLite and on PostgreSQL."""
    return request.getfixturevalue(request.param)


def test_slots_follow_the_hall_hours_or_the_services_own(demo, frozen):
    b = service(demo, "B")
    times = slot_times(b, demo.hall)
    assert times[0] == time(8, 30) and times[-1] == time(17, 0) and len(times) == 18
    b.opens_at, b.closes_at, b.slot_minutes = time(9, 0), time(11, 0), 45
    assert slot_times(b, demo.hall) == [time(9, 0), time(9, 45)]  # 10:30 + 45 min would pass 11:00


def test_todays_slots_that_have_begun_are_past(demo, frozen):
    slots = {s.at: s for s in day_slots(service(demo, "B"), demo.hall, MONDAY)}
    assert slots[time(9, 30)].past and slots[time(10, 0)].past
    assert not slots[time(10, 30)].past and slots[time(10, 30)].free == 4


def test_booking_gives_a_short_unguessable_code_and_counts_against_the_slot(demo, frozen):
    first, second = book(demo), book(demo, phone="13900000000")
    assert first["status"] == "booked" and first["slot"] == "09:00" and first["day"] == "2026-03-03"
    assert len(first["code"]) == 8 and set(first["code"]) <= set(CODE_ALPHABET)
    assert first["code"] != second["code"]
    slot = next(s for s in day_slots(service(demo, "B"), demo.hall, TUESDAY) if s.at == time(9, 0))
    assert (slot.booked, slot.free) == (2, 2)


def test_a_full_slot_refuses_the_next_booking(demo, frozen):
    service(demo, "B").slot_capacity = 2
    db.session.commit()
    book(demo, phone="1380000001")
    book(demo, phone="1380000002")
    with pytest.raises(booking.SlotFull) as refused:
        book(demo, phone="1380000003")
    assert refused.value.status == 409 and refused.value.code == "slot_full"
    assert "full" in refused.value.message


@pytest.mark.parametrize("day,at,error", [
    (MONDAY, time(9, 30), booking.PastSlot),          # begun earlier today
    (MONDAY, time(10, 0), booking.PastSlot),          # begins right now
    (date(2026, 3, 1), time(11, 0), booking.PastSlot),  # yesterday
    (date(2026, 3, 7), time(9, 0), booking.ClosedDay),  # Saturday
    (date(2026, 3, 30), time(9, 0), booking.ClosedDay),  # beyond the booking horizon
    (TUESDAY, time(9, 10), booking.NotASlot),         # off the half-hour grid
    (TUESDAY, time(17, 30), booking.NotASlot),        # closing time
])
def test_days_and_times_that_cannot_be_booked(demo, frozen, day, at, error):
    with pytest.raises(error):
        book(demo, at=at, day=day)
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_holidays_from_the_settings_are_closed(demo, frozen, app):
    app.config["HALL"]["booking"]["holidays"] = ["2026-03-03"]
    with pytest.raises(booking.ClosedDay) as refused:
        book(demo)
    assert refused.value.details["reason"] == "holiday"


def test_unknown_or_inactive_service_is_refused(demo, frozen):
    with pytest.raises(booking.UnknownService):
        book(demo, prefix="Z")
    service(demo, "C").active = False
    db.session.commit()
    with pytest.raises(booking.UnknownService):
        book(demo, prefix="C")


def test_one_phone_books_a_service_once_a_day(demo, frozen):
    book(demo)
    with pytest.raises(booking.AlreadyBooked):
        book(demo, at=time(14, 0))
    assert book(demo, prefix="C")["service"] == "C"


def test_cancelling_frees_the_place_once(demo, frozen):
    service(demo, "B").slot_capacity = 1
    db.session.commit()
    code = book(demo)["code"]
    assert cancel_appointment(code.lower())["status"] == "cancelled"  # codes are read case-insensitively
    with pytest.raises(booking.Conflict):
        cancel_appointment(code)
    assert book(demo, phone="13912345678")["status"] == "booked"


def test_booking_and_cancelling_are_logged_and_published_without_personal_data(demo, frozen, app):
    from hall.queue.unit import subscribe
    seen: list[dict] = []
    subscribe(app, seen.append)
    code = book(demo)["code"]
    cancel_appointment(code)
    assert [e["kind"] for e in seen] == ["appointment_booked", "appointment_cancelled"]
    assert seen[0]["appointment"] == {"service": "B", "day": "2026-03-03", "slot": "09:00", "booked": 1, "capacity": 4}
    assert seen[1]["appointment"]["booked"] == 0
    assert "13800000000" not in repr(seen) and code not in repr(seen)


@pytest.mark.parametrize("hall_db", ["demo", pytest.param("pg_demo", marks=pytest.mark.postgres)], indirect=True)
def test_concurrent_bookings_never_exceed_the_slot_capacity(hall_db, frozen):
    """Twelve threads, each with its own connection, rush three places of one slot."""
    from flask import current_app

    app = current_app._get_current_object()
    b = service(hall_db, "B")
    b.slot_capacity = 3
    db.session.commit()
    start = threading.Barrier(12)
    outcomes: list[str] = []

    def rush(n: int) -> None:
        with app.app_context():
            start.wait()
            try:
                book(hall_db, phone=f"1380000{n:04d}")
                outcomes.append("booked")
            except booking.SlotFull:
                outcomes.append("full")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=rush, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == ["booked"] * 3 + ["full"] * 9
    assert db.session.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.slot_at == time(9, 0), Appointment.status == "booked")) == 3
