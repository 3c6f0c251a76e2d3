"""Real-name tickets: ID numbers (GB 11643), the per-person daily limit under concurrency on both
databases, and the number never leaking (API answers, public events, exports, logs)."""
from __future__ import annotations

import logging
import threading
from datetime import date, datetime

import pytest
from sqlalchemy import select

from hall import queue
from hall.demo import create_demo_hall
from hall.extensions import db
from hall.models import Hall, Ticket, TicketEvent
from hall.queue import realname
from hall.realtime import for_phone, redact
from tests.conftest import DemoHall
from tests.resident_ids import resident_id
from tests.supervisor_support import DAY, scripted, sign_in  # noqa: F401  (scripted is a fixture)

#: A published sample number (GB 11643 appendix style) with an X check character.
WITH_X = "11010519491231002X"
VALID = "320102198001010016"


def test_resident_id_numbers_are_checked_by_region_birth_date_and_check_digit():
    assert realname.check_digit(VALID[:17]) == VALID[17]
    assert realname.id_number_problem(VALID) is None
    assert realname.id_number_problem(WITH_X) is None
    assert realname.id_number_problem(WITH_X.lower()) is None            # readers and keypads may type x
    assert realname.id_number_problem(" 3201 0219 8001 0100 16 ") is None
    assert realname.id_number_problem(VALID[:17] + "9") == "check_digit"
    assert realname.id_number_problem("110105194912310021") == "check_digit"  # X expected, 1 given
    feb30 = "3201021980023000" + "1"
    assert realname.id_number_problem(feb30 + realname.check_digit(feb30)) == "birth_date"
    future = "32010221990101001"
    assert realname.id_number_problem(future + realname.check_digit(future), today=date(2026, 1, 1)) == "birth_date"
    unknown_region = "99010219800101001"
    assert realname.id_number_problem(unknown_region + realname.check_digit(unknown_region)) == "region"
    for wrong in ("", "32010219800101001", "3201021980010100165", "32010219800101001Y", "X20102198001010015"):
        assert realname.id_number_problem(wrong) == "length"


def test_masked_form_keeps_region_and_last_four():
    assert realname.mask(WITH_X.lower()) == "1101**********002X"
    assert realname.mask(VALID) == "3201**********0016"


@pytest.fixture
def client(app, demo):
    return app.test_client()


@pytest.fixture
def hall_client(any_app):
    """A client of the demo hall on SQLite and on PostgreSQL (where, once the process knows the hall, a
    real-name issue is one call of the database function that counts the visitor's tickets)."""
    return any_app.test_client(), DemoHall(create_demo_hall())


def issue(client, **body):
    return client.post("/api/v1/halls/demo/tickets", json={"service": "C", **body})


def test_real_name_service_takes_two_tickets_per_id_and_day(hall_client, frozen):
    client, _ = hall_client
    first = issue(client, id_number=VALID)
    assert first.status_code == 201, first.get_json()
    ticket = first.get_json()
    assert ticket["id_masked"] == "3201**********0016"
    assert VALID not in first.get_data(as_text=True)
    assert issue(client, id_number=VALID.replace("0016", "0016 ")).status_code == 201   # same ID, typed loosely
    third = issue(client, id_number=VALID)
    assert third.status_code == 409
    assert third.get_json()["error"] == "daily_limit_reached" and third.get_json()["limit"] == 2
    assert issue(client, id_number=WITH_X).status_code == 201                          # another person
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A", "id_number": VALID}).status_code == 201
    frozen.advance(days=1)                                                             # the next business day
    assert issue(client, id_number=VALID).status_code == 201


def test_a_cancelled_ticket_gives_its_place_back(hall_client):
    client, demo = hall_client
    tickets = [issue(client, id_number=VALID).get_json() for _ in range(2)]
    queue.cancel_ticket(demo.id, tickets[0]["id"])
    assert issue(client, id_number=VALID).status_code == 201


def test_refusals_name_the_problem_never_the_number(client):
    missing = issue(client)
    assert missing.status_code == 422 and missing.get_json()["error"] == "id_number_required"
    wrong = issue(client, id_number=VALID[:17] + "9")
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "invalid_id_number"
    assert wrong.get_json()["problem"] == "check_digit" and VALID[:17] not in wrong.get_data(as_text=True)
    assert issue(client, id_number="x" * 41).status_code == 422


def test_optional_real_name_takes_tickets_with_or_without_a_number(hall_client):
    client, demo = hall_client
    service = demo.hall.services[0]
    service.real_name, service.daily_limit_per_person = "optional", 1
    db.session.commit()
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    assert client.post("/api/v1/halls/demo/tickets", json={"service": "A"}).status_code == 201
    with_id = client.post("/api/v1/halls/demo/tickets", json={"service": "A", "id_number": VALID})
    assert with_id.status_code == 201 and with_id.get_json()["id_masked"]
    again = client.post("/api/v1/halls/demo/tickets", json={"service": "A", "id_number": VALID})
    assert again.status_code == 409 and again.get_json()["limit"] == 1


def test_the_number_never_leaks(client, demo, events, caplog):
    caplog.set_level(logging.DEBUG)
    ticket = issue(client, id_number=WITH_X).get_json()
    issue(client, id_number=WITH_X[:17] + "1")
    hashed = realname.keyed_hash(WITH_X)
    stored = db.session.get(Ticket, ticket["id"])
    assert stored.id_hash == hashed and stored.id_masked == "1101**********002X"
    assert hashed != realname.keyed_hash(VALID) and len(hashed) == 64
    # The staff event carries the masked ID only; the public rooms and the visitor's phone not even that.
    issued = next(e for e in events if e["kind"] == "issued")
    assert issued["ticket"]["id_masked"] == "1101**********002X"
    assert "id_masked" not in redact(issued)["ticket"] and "id_masked" not in for_phone(issued)["ticket"]
    phone = client.get(f"/api/v1/tickets/{ticket['token']}").get_json()
    assert "id_masked" not in phone
    logged = db.session.scalars(select(TicketEvent.data)).all()
    everything = " ".join(map(str, [events, logged, phone])) + caplog.text
    assert WITH_X not in everything and WITH_X[:17] not in everything and hashed not in everything


def test_the_keyed_hash_is_hmac_sha256_under_a_key_derived_once_per_secret(app):
    """The hash stored for an ID is HMAC-SHA256 of the normalised number under [real_name] secret, or under a
    key derived from SECRET_KEY; the key is made once per secret, not at every issue, and follows a new one."""
    import hashlib
    import hmac

    realname._keyed.cache_clear()
    spaced = WITH_X[:6] + " " + WITH_X[6:-1] + WITH_X[-1].lower()
    derived = hmac.new(app.config["SECRET_KEY"].encode(), b"hall real-name id", hashlib.sha256).digest()
    assert app.config["HALL"]["real_name"]["secret"] == ""
    assert [realname.keyed_hash(number) for number in (WITH_X, spaced, VALID)] == \
        [hmac.new(derived, number.encode(), hashlib.sha256).hexdigest() for number in (WITH_X, WITH_X, VALID)]
    assert realname.identity_of(spaced).hash == realname.keyed_hash(WITH_X)
    assert realname._keyed.cache_info().misses == 1
    app.config["HALL"]["real_name"]["secret"] = "own secret"
    assert realname.keyed_hash(WITH_X) == hmac.new(b"own secret", WITH_X.encode(), hashlib.sha256).hexdigest()


def test_reports_exports_hold_no_id(app, demo, scripted):
    boss = sign_in(app.test_client(), "supervisor", demo.passwords["supervisor"])
    exported = boss.get(f"/reports/demo/export.xlsx?from={DAY}&to={DAY}").get_data() + \
        boss.get(f"/reports/demo/export/summary.csv?from={DAY}&to={DAY}").get_data()
    for secret in (resident_id(1), resident_id(2), realname.mask(resident_id(1))):
        assert secret.encode() not in exported


def _race(hall_id: int, app, id_number: str, kiosks: int) -> list[str]:
    """`kiosks` threads submit the same ID at the same moment; each reports what it got."""
    results, start = [], threading.Barrier(kiosks)

    def kiosk() -> None:
        with app.app_context():
            try:
                start.wait()
                results.append(queue.issue_ticket(hall_id, "C", id_number=id_number)["number"])
            except realname.DailyLimitReached:
                results.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=kiosk) for _ in range(kiosks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def _check_limit_under_race(app) -> None:
    create_demo_hall()
    db.session.commit()
    hall_id = db.session.scalar(select(Hall.id).where(Hall.slug == "demo"))
    db.session.remove()
    results = _race(hall_id, app, VALID, kiosks=8)
    assert sorted(results) == ["C001", "C002"] + ["refused"] * 6
    assert len(db.session.scalars(select(Ticket).where(Ticket.id_hash == realname.keyed_hash(VALID))).all()) == 2


def test_limit_holds_when_kiosks_race_on_sqlite(app):
    _check_limit_under_race(app)


@pytest.mark.postgres
def test_limit_holds_when_kiosks_race_on_postgresql(pg_app):
    _check_limit_under_race(pg_app)


def test_appointments_of_a_real_name_service_count_against_the_limit(hall_client, frozen):
    """Booked appointments count: one booking and one kiosk ticket use up a limit of two that day."""
    client, _ = hall_client
    booking = {"service": "C", "day": "2026-03-03", "slot": "10:00", "name": "王小明", "phone": "13800138000"}
    missing = client.post("/api/v1/halls/demo/appointments", json=booking)
    assert missing.status_code == 422 and missing.get_json()["error"] == "id_number_required"
    booked = client.post("/api/v1/halls/demo/appointments", json={**booking, "id_number": WITH_X})
    assert booked.status_code == 201 and WITH_X not in booked.get_data(as_text=True)
    frozen.now = datetime(2026, 3, 3, 1, 45)                   # 09:45 in Shanghai, the day booked
    assert issue(client, id_number=WITH_X).status_code == 201
    third = client.post("/api/v1/halls/demo/appointments",
                        json={**booking, "slot": "11:00", "phone": "13900139000", "id_number": WITH_X})
    assert third.status_code == 409 and third.get_json()["limit"] == 2
    assert issue(client, id_number=WITH_X).get_json()["error"] == "daily_limit_reached"
    code = booked.get_json()["code"]
    checked_in = client.post("/api/v1/halls/demo/kiosk/check-in", json={"code": code, "idempotency_key": "x" * 10})
    assert checked_in.status_code == 201, checked_in.get_json()
    assert checked_in.get_json()["ticket"]["id_masked"] == "1101**********002X"
    assert issue(client, id_number=WITH_X).status_code == 409   # still two: the booking became a ticket
