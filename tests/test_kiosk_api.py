"""Kiosk JSON routes: state with closed services, registered kiosks, priority entry, check-in with print."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import event, select

from hall.extensions import db
from hall.models import Device, Service, Ticket
from kiosk.priority import set_kiosk_pin
from tests.kiosk_support import book


@pytest.fixture
def kiosk(demo) -> Device:
    return db.session.scalar(select(Device).where(Device.hall_id == demo.id, Device.kind == "kiosk"))


def take(client, token: str | None = None, **body):
    body = {"service": "A", "idempotency_key": "tap-00000001", **body}
    headers = {"X-Device-Token": token} if token else {}
    return client.post("/api/v1/halls/demo/kiosk/tickets", json=body, headers=headers)


def test_state_shows_closed_services_with_the_reason(app, demo, kiosk, frozen):
    services = {s.prefix: s for s in db.session.scalars(select(Service))}
    services["B"].opens_at, services["B"].closes_at = time(13, 0), time(17, 0)  # 10:00 now
    services["C"].daily_capacity = 0
    db.session.commit()
    state = app.test_client().get("/api/v1/halls/demo/kiosk", headers={"X-Device-Token": kiosk.token}).json
    assert [(s["prefix"], s["open"], s["closed_reason"]) for s in state["services"]] == [
        ("A", True, None), ("B", False, "hours"), ("C", False, "capacity")]
    assert state["registered"] is True and state["priority"] == "off"
    db.session.refresh(kiosk)
    assert kiosk.last_seen_at == frozen.now
    closed = take(app.test_client(), service="C")
    assert (closed.status_code, closed.json["error"], closed.json["reason"]) == (409, "service_closed", "capacity")


def test_registered_kiosks_only(app, demo, kiosk, frozen):
    demo.hall.require_registered_kiosk = True
    db.session.commit()
    client = app.test_client()
    assert take(client).status_code == 403
    assert take(client, "not-a-device-token").status_code == 403
    assert take(client, kiosk.token).status_code == 201
    kiosk.active = False
    db.session.commit()
    assert take(client, kiosk.token, idempotency_key="tap-00000002").status_code == 403
    assert db.session.query(Ticket).count() == 1


def test_priority_entry_off_button_and_pin(app, demo, frozen):
    client = app.test_client()
    off = take(client, priority="priority")
    assert (off.status_code, off.json["error"]) == (403, "priority_off")
    demo.hall.kiosk_priority = "button"
    db.session.commit()
    assert take(client, priority="priority").json["ticket"]["priority"] == "priority"
    set_kiosk_pin(demo.hall, "2468")
    db.session.commit()
    assert client.get("/api/v1/halls/demo/kiosk").json["priority"] == "pin"
    assert take(client, priority="priority", idempotency_key="tap-00000002").json["error"] == "pin_required"
    wrong = take(client, priority="priority", pin="1111", idempotency_key="tap-00000002")
    assert (wrong.status_code, wrong.json["error"]) == (403, "wrong_pin")
    right = take(client, priority="priority", pin="2468", idempotency_key="tap-00000002")
    assert right.status_code == 201 and right.json["ticket"]["priority"] == "priority"


def test_pin_must_be_digits(demo):
    with pytest.raises(ValueError):
        set_kiosk_pin(demo.hall, "12a4")


def test_bad_bodies_are_422(app, demo, frozen):
    client = app.test_client()
    assert take(client, idempotency_key="short").status_code == 422
    assert take(client, priority="vip").status_code == 422
    no_key = client.post("/api/v1/halls/demo/kiosk/tickets", json={"service": "A"})
    assert no_key.status_code == 422
    assert client.post("/api/v1/halls/demo/kiosk/check-in", data="x", content_type="text/plain").status_code == 415
    assert client.post("/api/v1/halls/nope/kiosk/tickets", json={"service": "A",
                                                                "idempotency_key": "tap-00000001"}).status_code == 404


def test_kiosk_check_in_prints_and_answers_with_the_qr(app, demo, kiosk, frozen, tmp_path):
    path = tmp_path / "printed.bin"
    kiosk.printer = {"backend": "file", "path": str(path)}
    db.session.commit()
    code = book(demo.id).code
    client = app.test_client()
    body = {"code": code, "idempotency_key": "scan-0000001"}
    answer = client.post("/api/v1/halls/demo/kiosk/check-in", json=body, headers={"X-Device-Token": kiosk.token})
    assert answer.status_code == 201
    assert answer.json["ticket"]["priority"] == "appointment" and answer.json["print"]["status"] == "printed"
    again = client.post("/api/v1/halls/demo/kiosk/check-in", json=body, headers={"X-Device-Token": kiosk.token})
    assert again.status_code == 200 and again.json["ticket"]["token"] == answer.json["ticket"]["token"]
    assert path.read_bytes().count(b"B001") == 1
    assert "预约客户".encode("gb18030") in path.read_bytes()
    used = client.post("/api/v1/halls/demo/kiosk/check-in", json={**body, "idempotency_key": "scan-0000002"})
    assert used.json["error"] == "appointment_used"


def test_a_priority_tap_reads_the_kiosk_no_more_often_than_a_normal_one(app, demo, kiosk, frozen):
    """In a hall that takes tickets only from registered kiosks, a priority tap is authorised once (before
    its PIN is checked), not again inside the issue: the kiosk is read as often as for a normal tap."""
    demo.hall.require_registered_kiosk = True
    set_kiosk_pin(demo.hall, "2468")
    db.session.commit()
    client = app.test_client()
    keys = iter(range(100))

    def kiosk_reads(**body) -> int:
        reads = []

        def on_statement(_conn, _cursor, statement, *_):
            words = statement.split()
            if words[0] == "SELECT" and "devices" in words[words.index("FROM") + 1:][:1]:
                reads.append(statement)
        event.listen(db.engine, "before_cursor_execute", on_statement)
        try:
            answer = take(client, kiosk.token, idempotency_key=f"tap-{next(keys):08d}", **body)
        finally:
            event.remove(db.engine, "before_cursor_execute", on_statement)
        assert answer.status_code == 201, answer.json
        return len(reads)

    take(client, kiosk.token, idempotency_key="tap-warm-up")
    normal = kiosk_reads()
    assert kiosk_reads(priority="priority", pin="2468") == normal  # one more before: authorised again in the issue
