"""Live monitor: alarms raised and cleared as time passes, acknowledgement, supervisor actions."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import event, select

from hall import queue
from hall.alarms import acknowledge, listed_alarms, scan_hall
from hall.extensions import db
from hall.models import Alarm, Device, Hall, Notice, Service
from hall.monitor.state import monitor_state
from hall.queue.supervision import broadcast_notice, move_counter


def _seen_displays(demo, frozen):
    for device in db.session.scalars(select(Device).where(Device.kind == "display")):
        device.last_seen_at = frozen.now
    db.session.commit()


def test_wait_over_limit_raises_then_clears_on_call(demo, frozen):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.issue_ticket(demo.id, "A")  # A's committed wait: 900 s
    frozen.advance(seconds=900)
    _seen_displays(demo, frozen)
    assert scan_hall(demo.id) is None
    frozen.advance(seconds=1)
    event = scan_hall(demo.id)
    assert [a["kind"] for a in event["raised"]] == ["wait_over_limit"]
    assert event["raised"][0]["data"]["number"] == "A001"
    assert scan_hall(demo.id) is None  # raised once
    queue.call_next(demo.id, 1)
    event = scan_hall(demo.id)
    assert [a["kind"] for a in event["cleared"]] == ["wait_over_limit"]
    # cleared but not acknowledged: still listed until the supervisor has seen it
    assert [a["kind"] for a in listed_alarms(demo.id)] == ["wait_over_limit"]
    acknowledge(demo.id, event["cleared"][0]["id"], staff_id=demo.staff("supervisor").id)
    assert listed_alarms(demo.id) == []


def test_stage_paused_counter_and_display_alarms(demo, frozen):
    queue.open_counter(demo.id, 3, staff_id=demo.staff("staff3").id)
    queue.issue_ticket(demo.id, "B")
    queue.call_next(demo.id, 3)
    queue.start(demo.id, 3)
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.pause_counter(demo.id, 1)
    frozen.advance(seconds=601)  # accept limit 600 s; pause limit 900 s; displays never seen
    kinds = sorted(a["kind"] for a in scan_hall(demo.id)["raised"])
    assert kinds == ["display_offline", "stage_over_limit"]
    frozen.advance(seconds=300)
    assert [a["kind"] for a in scan_hall(demo.id)["raised"]] == ["counter_paused"]
    queue.open_counter(demo.id, 1)
    queue.finish(demo.id, 3)
    cleared = sorted(a["kind"] for a in scan_hall(demo.id)["cleared"])
    assert cleared == ["counter_paused", "stage_over_limit"]


def test_monitor_state_shows_lines_counters_and_estimates(demo, frozen):
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(seconds=30)
    queue.issue_ticket(demo.id, "A")
    queue.call_next(demo.id, 1)
    state = monitor_state(demo.hall)
    line = next(s for s in state["services"] if s["service"] == "A")
    assert line["waiting"] == 1 and line["wait_limit_s"] == 900
    assert line["oldest_queued_at"] == "2026-03-02T02:00:30Z"
    assert line["estimate_s"] == 600  # the called A001 (300 s at the only counter), then one ahead (300 s)
    counter = state["counters"][0]
    assert counter["staff"] == "窗口1工作人员" and counter["ticket"]["number"] == "A001"
    assert counter["ticket"]["since"] == "2026-03-02T02:00:30Z"
    assert counter["schedule"] == {"opens_at": None, "closes_at": None, "breaks": []}  # with the hall, no breaks
    demo.hall.counters[0].opens_at, demo.hall.counters[0].breaks = time(9, 0), [["12:00", "12:30"]]
    db.session.commit()
    assert monitor_state(demo.hall)["counters"][0]["schedule"] == {
        "opens_at": "09:00", "closes_at": None, "breaks": [["12:00", "12:30"]]}


def test_move_counter_and_notice(demo, frozen):
    event = move_counter(demo.id, 1, [("c", None), ("B", ["certificate"])])
    assert event["kind"] == "counter_moved" and event["counter"]["services"] == ["C", "B"]
    with pytest.raises(queue.QueueError, match="no stage"):
        move_counter(demo.id, 1, [("B", ["nope"])])
    with pytest.raises(queue.NotFound):
        move_counter(demo.id, 1, [("Z", None)])
    with pytest.raises(queue.QueueError, match="at least one"):
        move_counter(demo.id, 1, [])
    event = broadcast_notice(demo.id, "午间照常办理", "Open at noon")
    assert event["kind"] == "notice" and db.session.get(Notice, event["notice"]["id"]).active


def test_monitor_api_roles_and_errors(app, demo, frozen):
    staff = {"Authorization": f"Bearer {demo.token('staff1')}"}
    boss = {"Authorization": f"Bearer {demo.token('supervisor')}"}
    client = app.test_client()
    assert client.get("/api/v1/halls/demo/monitor").status_code == 401
    assert client.get("/api/v1/halls/demo/monitor", headers=staff).status_code == 403
    assert client.get("/api/v1/halls/demo/monitor", headers=boss).json["counters"][0]["number"] == 1
    answer = client.post("/api/v1/halls/demo/monitor/counters/2/open", headers=boss)
    assert answer.status_code == 200 and answer.json["status"] == "open"
    assert client.post("/api/v1/halls/demo/monitor/counters/2/pause", headers=boss).json["status"] == "paused"
    bad = client.post("/api/v1/halls/demo/monitor/counters/2/services", headers=boss, json={"services": []})
    assert bad.status_code == 422
    bad = client.post("/api/v1/halls/demo/monitor/counters/2/services", headers=boss,
                      json={"services": [{"service": "A"}, {"service": "a"}]})
    assert bad.status_code == 409 and "once" in bad.json["message"]
    moved = client.post("/api/v1/halls/demo/monitor/counters/2/services", headers=boss,
                        json={"services": [{"service": "B", "stages": ["review"]}]})
    assert moved.status_code == 200 and moved.json["services"] == ["B"]
    assert client.post("/api/v1/halls/demo/notices", headers=boss, json={}).status_code == 400
    assert client.post("/api/v1/halls/demo/notices", headers=boss, json={"text_zh": "通知"}).status_code == 201
    assert client.post("/api/v1/halls/demo/alarms/999/acknowledge", headers=boss).status_code == 404
    assert client.post("/api/v1/halls/demo/notices", headers=staff, json={"text_zh": "x"}).status_code == 403


def test_a_scan_reads_only_the_tickets_queued_before_the_shortest_wait_limit(demo, frozen):
    """The housekeeping round scans every hall every few seconds: its read of waiting tickets must follow
    the tickets over a limit, not the length of the waiting line."""
    for _ in range(20):
        queue.issue_ticket(demo.id, "A")
    shortest = min(s.wait_limit_s for s in db.session.scalars(select(Service).where(Service.hall_id == demo.id)))
    reads = []

    def remember_ticket_reads(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "FROM tickets" in statement and "tickets.queued_at" in statement and "status" in statement:
            reads.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", remember_ticket_reads)
    try:
        frozen.advance(seconds=shortest)  # none past a limit yet
        _seen_displays(demo, frozen)
        assert scan_hall(demo.id) is None
    finally:
        event.remove(db.engine, "before_cursor_execute", remember_ticket_reads)
    assert len(reads) == 1
    with db.engine.connect() as connection:  # what that statement read: no row, though 20 are waiting
        assert connection.exec_driver_sql(*reads[0]).all() == []
    frozen.advance(seconds=1)
    assert [a["kind"] for a in scan_hall(demo.id)["raised"]] == ["wait_over_limit"] * 20


def test_a_scan_that_changes_nothing_reads_rows_only(demo, frozen):
    """A server process scans every hall every interval: with an alarm open and still wanted (the lobby display
    never seen), a paused counter and a waiting ticket not over their limits, the scan makes no ORM object."""
    queue.open_counter(demo.id, 1, staff_id=demo.staff("staff1").id)
    queue.pause_counter(demo.id, 1)
    queue.issue_ticket(demo.id, "A")
    frozen.advance(seconds=200)
    assert [a["kind"] for a in scan_hall(demo.id)["raised"]] == ["display_offline"]
    hall = db.session.execute(select(Hall.id, Hall.timezone, Hall.reset_at).where(Hall.id == demo.id)).one()
    loaded = []

    def load(target, _context) -> None:
        loaded.append(target)

    event.listen(db.Model, "load", load, propagate=True)
    try:
        assert scan_hall(demo.id, hall) is None
    finally:
        event.remove(db.Model, "load", load)
    assert loaded == []
