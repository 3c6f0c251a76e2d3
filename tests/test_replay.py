"""A screen that missed events gets every call of the day it missed, from the event log, over the
Socket.IO `events` request and GET /api/v1/halls/<hall>/events?since=<seq>."""
from __future__ import annotations

from hall import queue
from hall.extensions import db
from hall.models import Hall
from hall.replay import events_since
from hall.snapshot import recent_calls
from hall.extensions import socketio as server_socketio


def _calls(demo, count: int, counter: int = 1) -> list[dict]:
    """`count` calls of fresh A tickets at a counter serving A, each let go (no-show) before the next."""
    queue.open_counter(demo.id, counter)
    called = []
    for _ in range(count):
        queue.issue_ticket(demo.id, "A")
        called.append(queue.call_next(demo.id, counter))
        queue.no_show(demo.id, counter)
    return called


def test_every_missed_call_comes_back_in_order_not_only_the_last_ten(app, demo):
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    before = display.emit("snapshot", {"hall": "demo"}, callback=True)["seq"]
    called = _calls(demo, 25)
    answer = display.emit("events", {"hall": "demo", "since": before}, callback=True)
    replayed = answer["events"]
    assert [e["ticket"]["number"] for e in replayed] == [c["ticket"]["number"] for c in called]
    assert [e["seq"] for e in replayed] == [c["seq"] for c in called]
    assert len(answer["snapshot"]["recent_calls"]) == 10, "the snapshot alone holds only the last ten"
    assert answer["seq"] == answer["snapshot"]["seq"] > called[-1]["seq"]
    first = replayed[0]
    assert first["kind"] == "called" and first["replayed"] and first["recent"]
    assert first["counter"] == {"number": 1, "zone": "main", "name": first["counter"]["name"]}
    assert "token" not in first["ticket"] and "id" not in first["ticket"], "public view: no ticket tokens"
    assert all("staff" not in c for c in answer["snapshot"]["counters"])


def test_only_what_came_after_since_and_nothing_when_nothing_happened(app, demo):
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    called = _calls(demo, 3)
    middle = called[1]["seq"]
    answer = display.emit("events", {"hall": "demo", "since": middle}, callback=True)
    assert [e["ticket"]["number"] for e in answer["events"]] == [called[2]["ticket"]["number"]]
    current = answer["seq"]
    quiet = display.emit("events", {"hall": "demo", "since": current}, callback=True)
    assert quiet == {"seq": current, "since": current, "events": [], "truncated": False}
    forced = display.emit("events", {"hall": "demo", "since": current, "snapshot": True}, callback=True)
    assert forced["events"] == [] and forced["snapshot"]["seq"] == current


def test_recalls_are_replayed_and_old_calls_are_not_recent(app, demo, frozen):
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    queue.open_counter(demo.id, 1)
    queue.issue_ticket(demo.id, "A")
    call = queue.call_next(demo.id, 1)
    frozen.advance(minutes=10)
    recall = queue.recall(demo.id, 1)
    answer = display.emit("events", {"hall": "demo", "since": 0}, callback=True)
    assert [(e["kind"], e["seq"], e["recent"]) for e in answer["events"]] == \
        [("called", call["seq"], False), ("recalled", recall["seq"], True)]
    assert answer["events"][1]["keys"] == [], "the test app has no voice: the display plays the chime"


def test_calls_of_a_past_business_day_are_not_replayed(app, demo, frozen):
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    _calls(demo, 2)
    frozen.advance(days=1)
    today = _calls(demo, 1)
    answer = display.emit("events", {"hall": "demo", "since": 0}, callback=True)
    assert [e["seq"] for e in answer["events"]] == [today[0]["seq"]]


def test_bad_requests_are_refused(app, demo):
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    for since in (-1, "x", "²", 2**40, True, None, 1.5):
        assert display.emit("events", {"hall": "demo", "since": since}, callback=True) == \
            {"error": "since must be a sequence number"}
    assert display.emit("events", {"hall": "nowhere", "since": 0}, callback=True) == {"error": "unknown hall"}
    client = app.test_client()
    for query in ("", "?since=", "?since=-1", "?since=%C2%B2", "?since=99999999999"):
        response = client.get(f"/api/v1/halls/demo/events{query}")
        assert response.status_code == 400 and response.get_json()["error"] == "bad_request", query
    assert client.get("/api/v1/halls/nowhere/events?since=0").status_code == 404


def test_the_http_route_answers_as_the_public_room(app, demo):
    called = _calls(demo, 12)
    answer = app.test_client().get("/api/v1/halls/demo/events?since=0").get_json()
    assert [e["ticket"]["number"] for e in answer["events"]] == [c["ticket"]["number"] for c in called]
    assert all("staff" not in c for c in answer["snapshot"]["counters"])
    assert answer["snapshot"]["seq"] == answer["seq"]



def test_the_snapshot_lists_no_call_newer_than_its_own_seq(app, demo):
    """A call committed while a snapshot is read (PostgreSQL reads each statement afresh) comes as its
    own event after the snapshot: the snapshot must not list it too."""
    first = _calls(demo, 1)[0]
    queue.issue_ticket(demo.id, "A")
    second = queue.call_next(demo.id, 1)
    hall = db.session.get(Hall, demo.id)
    db.session.expunge(hall)
    hall.event_seq = first["seq"]  # the seq as the snapshot read it, before the second call committed
    assert second["seq"] > first["seq"]
    assert [c["number"] for c in recent_calls(hall)] == [first["ticket"]["number"]]


def test_a_public_screen_missed_nothing_while_only_tickets_were_issued(app, demo):
    """Public screens get no normal issue: over Socket.IO and REST, issues after their seq are no
    news to them (no snapshot to read), a call after them is, and a staff screen still hears of issues."""
    display = server_socketio.test_client(app, auth={"hall": "demo"})
    last_public = _calls(demo, 2)[-1]["seq"] + 1  # each call is followed by its no-show
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    quiet = {"seq": last_public, "since": last_public, "events": [], "truncated": False}
    assert display.emit("events", {"hall": "demo", "since": last_public}, callback=True) == quiet
    assert app.test_client().get(f"/api/v1/halls/demo/events?since={last_public}").get_json() == quiet
    staff = events_since(db.session.get(Hall, demo.id), last_public, public=False)
    assert staff["snapshot"]["seq"] == last_public + 3, "a staff screen at that seq missed the issues"
    called = _calls(demo, 1)[0]
    for answer in (display.emit("events", {"hall": "demo", "since": last_public}, callback=True),
                   app.test_client().get(f"/api/v1/halls/demo/events?since={last_public}").get_json()):
        assert [e["seq"] for e in answer["events"]] == [called["seq"]]
        assert answer["snapshot"]["seq"] == called["seq"] + 1
