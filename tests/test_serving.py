"""The production server with many live screens: the connection ceiling, quick restarts, and
several processes sharing events through Redis (real gunicorn, gevent, Redis, PostgreSQL)."""
from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa
from werkzeug.test import EnvironBuilder

from hall.server import fanout
from hall.server.fanout import FanOutManager, FrameTail, websocket_frame
from hall.extensions import socketio
from hall.server.live import SEND_BUFFER_BYTES, LiveOrPlain, bounded_packet_queue, served_front
from hall.server.long_polls import LongPolls
from tests.crowd import Crowd
from tests.display_support import DisplayHall, RedisServer, wait_for
from tests.socket_screens import PollingScreen, WebSocketScreen, live_engineio
from tests.live import ROOT, free_port

SCREENS = 300


def test_a_client_that_falls_too_far_behind_is_ended_not_buffered():
    queue = bounded_packet_queue(limit=3)()
    for packet in ("a", "b", "c"):
        queue.put(packet)
    queue.put("d")  # one too many: the backlog goes, the end mark stays
    queue.put("e")
    assert queue.get_nowait() is None and queue.empty(), "the client's writer stops and closes"
    queue.task_done()
    queue.join()  # nothing left unaccounted: a socket closing with wait=True does not hang


def test_a_frame_built_once_for_every_screen_is_what_a_websocket_client_reads():
    from wsproto import ConnectionType
    from wsproto.connection import Connection
    from wsproto.events import Message

    client = Connection(ConnectionType.CLIENT)
    messages = ["42[\"hall_event\"]", "é" * 100, "x" * 70_000, b"\x00\xff" * 40]  # 7-bit, 16-bit, 64-bit sizes
    for message in messages:
        client.receive_data(websocket_frame(message))
    received = [event for event in client.events() if isinstance(event, Message)]
    assert [event.data for event in received] == messages
    assert all(event.message_finished for event in received)


@contextlib.contextmanager
def websocket_over_socketpair(eio, sid: str, buffer_bytes: int = 4096):
    """A real Engine.IO session `sid` upgraded to LiveWebSocket over a socketpair with small
    buffers: (the session, its LiveWebSocket, the client's end of the socket)."""
    live_engineio(eio)
    screen = WebSocketScreen(eio, sid, buffer_bytes=buffer_bytes)
    try:
        yield screen.session, screen.websocket, screen.client
    finally:
        screen.close()


def websocket_messages(client_end, count: int, timeout: float = 10) -> list[str | bytes]:
    """The first `count` whole messages the server sent on `client_end` (after its handshake answer)."""
    from wsproto import ConnectionType
    from wsproto.connection import Connection
    from wsproto.events import Message

    client, received, partial, data = Connection(ConnectionType.CLIENT), [], "", b""
    while b"\r\n\r\n" not in data:
        data += client_end.recv(4096)
    data = data.split(b"\r\n\r\n", 1)[1]
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        client.receive_data(data)
        for event in client.events():
            if isinstance(event, Message):  # wsproto hands a message over in pieces as they come
                partial += event.data
                if event.message_finished:
                    received.append(partial)
                    partial = ""
        data = client_end.recv(65536) if len(received) < count else b""
    return received


def test_a_frame_that_does_not_fit_is_finished_by_the_screens_writer_before_anything_after_it():
    """Nobody reading: direct writes until the socket is full (the rest of that frame queued), then the queue."""
    import engineio
    from engineio import packet as eio_packet

    with websocket_over_socketpair(engineio.Server(async_mode="gevent"), "screen") as (session, websocket, client_end):
        messages = [f'42["hall_event",{{"seq":{seq},"pad":"{"x" * 3000}"}}]' for seq in range(30)]
        written_now = []
        for message in messages:  # as FanOutManager does, without a switch to the writer in between
            written_now.append(websocket.write_now(websocket_frame(message), time.time(), 20))
            if not written_now[-1]:
                session.send(eio_packet.Packet(eio_packet.MESSAGE, message[1:]))
        assert written_now[0] and not all(written_now), "the first frames went out at once, then the socket was full"
        assert any(isinstance(item, FrameTail) for item in session.queue.queue), "a frame went out in part"
        assert websocket_messages(client_end, len(messages)) == messages, "every message whole, once, in order"


def test_events_emitted_meanwhile_go_out_together_and_before_what_is_sent_after_them():
    """A burst of events: one write per websocket screen, one poll answer per long-polling screen;
    an ack or a disconnect sent right after an event reaches the screen after that event."""
    import gevent
    import socketio
    from engineio import socket as eio_socket
    from socketio import packet as sio_packet

    server = socketio.Server(async_mode="gevent", client_manager=FanOutManager())
    with websocket_over_socketpair(server.eio, "screen") as (_session, websocket, client_end):
        phone = server.eio.sockets["phone"] = eio_socket.Socket(server.eio, "phone")  # long-polling
        sids = {eio_sid: server.manager.connect(eio_sid, "/") for eio_sid in ("screen", "phone")}
        for sid in sids.values():
            server.manager.enter_room(sid, "/", "lobby")
        writes = []
        raw_send = websocket.raw_send
        websocket.raw_send = lambda data: writes.append(data) or raw_send(data)  # the OS socket's writes, counted

        def publish(seq: int) -> None:  # as hall.realtime.push_event: the staff's copy, the public's, then the fan-out
            server.emit("hall_event", {"seq": seq, "staff": True}, to="staff")
            server.emit("hall_event", {"seq": seq}, to="lobby")
            server.manager.let_fan_out_run()

        publish(0)
        assert len(writes) == 1 and len(phone.queue.queue) == 1, "an idle server writes before the request goes on"
        phone.poll()
        # five requests commit at once: the first one's fan-out takes the others' events too, in order
        gevent.joinall([gevent.spawn(publish, seq) for seq in range(1, 6)])
        assert len(writes) == 2, "the screen got the five events in one write"
        assert len(phone.poll()) == 5, "and the phone in one poll answer"

        ack = server.packet_class(sio_packet.ACK, namespace="/", data=[{"seq": 6}], id=1)
        gevent.joinall([gevent.spawn(server.emit, "hall_event", {"seq": 6}, to="lobby"),  # noted, fan-out on its way
                        gevent.spawn(server._send_packet, "screen", ack),  # runs before that fan-out
                        gevent.spawn(server.disconnect, sids["phone"])])
        gevent.sleep(0.05)
        events = [f'42["hall_event",{{"seq":{seq}}}]' for seq in range(7)]
        assert websocket_messages(client_end, 8) == [*events, '431[{"seq":6}]'], "the event before the ack"
        assert [pkt.data for pkt in phone.poll()] == [events[6][1:], "1"], "the event before the disconnect"


def test_an_event_for_a_room_nobody_in_this_process_is_in_builds_nothing():
    """Another hall's event (one heard from another process, or a staff room with no counter screen here) is
    dropped before its packet is encoded, and the room with a screen in it still gets its event."""
    import socketio

    server = socketio.Server(async_mode="threading", client_manager=FanOutManager())
    server.manager.enter_room(server.manager.connect("screen", "/"), "/", "hall:demo:public")
    built, sent = [], []

    class Counted(server.packet_class):
        def encode(self):
            built.append(self.data[1])
            return super().encode()

    server.packet_class = Counted
    server._send_eio_packet = lambda eio_sid, pkt: sent.append((eio_sid, pkt.data))  # no Engine.IO session here
    server.emit("hall_event", {"seq": 1}, to="hall:north:public")
    server.emit("hall_event", {"seq": 2}, to="hall:demo:staff")
    server.emit("hall_event", {"seq": 3}, to="hall:demo:public")
    assert built == [{"seq": 3}]
    assert sent == [("screen", '2["hall_event",{"seq":3}]')]


def messages_of(screen: WebSocketScreen) -> list[str]:
    """The Socket.IO packets the screen's socket holds now (after the handshake answer), as sent."""
    from wsproto import ConnectionType
    from wsproto.connection import Connection
    from wsproto.events import Message

    client = Connection(ConnectionType.CLIENT)
    client.receive_data(screen.drain().split(b"\r\n\r\n", 1)[-1])
    return [event.data for event in client.events() if isinstance(event, Message)]


@pytest.fixture
def sliced_hall(monkeypatch):
    """A gevent Socket.IO server whose fan-out writes 4 screens per slice (its time is spent after
    the first group of screens), 14 screens in its lobby (10 on websockets over socketpairs, 4 on
    long-polling), and what an event is sent as."""
    import socketio

    monkeypatch.setattr(fanout, "SLICE_S", 0)
    monkeypatch.setattr(fanout, "CLOCK_EVERY", 4)
    server = socketio.Server(async_mode="gevent", client_manager=FanOutManager())
    live_engineio(server.eio)
    polling = [PollingScreen(server, f"p{index}", ("lobby",)) for index in range(4)]
    websockets = [WebSocketScreen(server, f"w{index}", ("lobby",)) for index in range(10)]
    for screen in websockets:
        screen.drain()  # the handshake answer
    try:
        yield SimpleNamespace(server=server, manager=server.manager, websockets=websockets, polling=polling,
                              event=lambda seq: f'42["hall_event",{{"seq":{seq}}}]')
    finally:
        for screen in websockets:
            screen.close()


def test_a_large_fan_out_lets_requests_run_between_slices_and_keeps_each_screens_order(sliced_hall):
    """Requests run between slices of a fan-out; an event noted meanwhile reaches every screen after
    the earlier one; an ack or a disconnect to a screen not reached yet comes after its events."""
    import gevent
    from socketio import packet as sio_packet

    hall, seen = sliced_hall, {}

    def request() -> None:  # as hall.realtime.push_event, then the rest of the request
        hall.server.emit("hall_event", {"seq": 0}, to="lobby")
        hall.manager.let_fan_out_run()
        seen["unreached when the request went on"] = len(hall.manager.unwritten)

    def meanwhile() -> None:  # another request, between two slices of the fan-out
        with gevent.Timeout(5):
            while not hall.manager.unwritten:
                gevent.sleep(0)
        unreached = list(hall.manager.unwritten)
        websocket = next(eio_sid for eio_sid in unreached if eio_sid.startswith("w"))
        phone = next(eio_sid for eio_sid in unreached if eio_sid.startswith("p"))
        seen.update(websocket=websocket, phone=phone)
        hall.server.emit("hall_event", {"seq": 1}, to="lobby")
        ack = hall.server.packet_class(sio_packet.ACK, namespace="/", data=[{"snapshot": True}], id=7)
        hall.server._send_packet(websocket, ack)
        hall.server.disconnect(hall.manager.sid_from_eio_sid(phone, "/"))

    gevent.joinall([gevent.spawn(request), gevent.spawn(meanwhile)], raise_error=True)
    gevent.idle()
    assert seen["unreached when the request went on"] > 0, "the request went on before the fan-out ended"
    events = [hall.event(0), hall.event(1)]
    for screen in hall.websockets:
        expected = [*events, '437[{"snapshot":true}]'] if screen.eio_sid == seen["websocket"] else events
        assert messages_of(screen) == expected, screen.eio_sid
    for screen in hall.polling:
        expected = [*events, "41"] if screen.eio_sid == seen["phone"] else events
        assert ["4" + pkt.data for pkt in screen.poll()] == expected, screen.eio_sid


def test_a_fan_out_slice_ends_when_its_time_is_spent_however_slow_the_screens_are(sliced_hall, monkeypatch):
    """On a busy machine each screen's write takes longer: a slice still holds the loop for about
    SLICE_S, not for a fixed number of screens, and every screen still gets the event once."""
    import gevent

    hall, turn, writes_in_turn = sliced_hall, [0], {}
    monkeypatch.setattr(fanout, "SLICE_S", 0.0035)
    monkeypatch.setattr(fanout, "CLOCK_EVERY", 1)
    for screen in hall.websockets:
        def slow_send(frame: bytes, send=screen.websocket.raw_send) -> int:  # 1 ms of the loop a write
            writes_in_turn[turn[0]] = writes_in_turn.get(turn[0], 0) + 1
            busy_until = time.perf_counter() + 0.001
            while time.perf_counter() < busy_until:
                pass
            return send(frame)
        screen.websocket.raw_send = slow_send

    def other_greenlets() -> None:  # counts the turns the loop gives everyone else
        while True:
            turn[0] += 1
            gevent.sleep(0)

    others = gevent.spawn(other_greenlets)
    hall.server.emit("hall_event", {"seq": 0}, to="lobby")
    hall.manager.let_fan_out_run()
    with gevent.Timeout(5):
        while hall.manager.fan_out_started:
            gevent.sleep(0)
    others.kill()
    assert sum(writes_in_turn.values()) == len(hall.websockets)
    assert max(writes_in_turn.values()) <= 4, f"a slice held the loop past its time: {writes_in_turn}"
    for screen in hall.websockets:
        assert messages_of(screen) == [hall.event(0)], screen.eio_sid


def test_a_request_keeps_its_turn_unless_its_event_starts_a_fan_out(sliced_hall):
    """An issue no screen hears, and an event that waits for a fan-out already between slices, give the
    loop to no one (under load that turn is every request ready meanwhile); an event that starts a
    fan-out still lets its first slice run. Every screen gets the events once, in order."""
    import gevent

    hall, turns, seen = sliced_hall, [0], {}

    def others() -> None:  # counts the turns the loop gives everyone else
        while True:
            turns[0] += 1
            gevent.sleep(0)

    def request(seq: int, room: str) -> int:
        before = turns[0]
        hall.server.emit("hall_event", {"seq": seq}, to=room)
        hall.manager.let_fan_out_run()
        return turns[0] - before

    def requests() -> None:
        seen["call"] = request(0, "lobby")  # starts a fan-out: yields to its first slice
        seen["mid fan-out"] = bool(hall.manager.unwritten)
        seen["issue"] = request(1, "hall:demo:staff")  # nobody in the staff room here
        seen["call meanwhile"] = request(2, "lobby")  # waits for the fan-out on its way

    counter = gevent.spawn(others)
    gevent.spawn(requests).get(timeout=5)
    with gevent.Timeout(5):
        while hall.manager.fan_out_started:
            gevent.sleep(0)
    counter.kill()
    assert seen.pop("call") >= 1, "the fan-out's first slice ran before the request went on"
    assert seen == {"mid fan-out": True, "issue": 0, "call meanwhile": 0}
    for screen in hall.websockets:
        assert messages_of(screen) == [hall.event(0), hall.event(2)], screen.eio_sid
    for screen in hall.polling:
        assert ["4" + pkt.data for pkt in screen.poll()] == [hall.event(0), hall.event(2)], screen.eio_sid


def test_events_noted_during_a_sliced_fan_out_follow_in_order_on_every_screen(sliced_hall):
    """Kiosks and counters committing while a fan-out is between slices: every screen gets every
    event once and in order, several of them in one write."""
    import gevent

    hall, emitted, mid_fan_out = sliced_hall, [], []

    def request(seq: int) -> None:
        for _ in range(seq % 5):  # a turn of the loop each: some come between two slices
            gevent.sleep(0)
        mid_fan_out.append(bool(hall.manager.unwritten))
        emitted.append(seq)
        hall.server.emit("hall_event", {"seq": seq}, to="lobby")
        hall.manager.let_fan_out_run()

    gevent.joinall([gevent.spawn(request, seq) for seq in range(40)], raise_error=True)
    gevent.idle()
    assert any(mid_fan_out), "some events were noted while a fan-out was between slices"
    events = [hall.event(seq) for seq in emitted]
    for screen in hall.websockets:
        assert messages_of(screen) == events, screen.eio_sid
    for screen in hall.polling:
        assert ["4" + pkt.data for pkt in screen.poll()] == events, screen.eio_sid


@pytest.fixture(scope="module")
def hall(sqlite_template, tmp_path_factory):
    hall = DisplayHall(sqlite_template, tmp_path_factory.mktemp("serving"))
    yield hall
    hall.close()


@pytest.fixture(scope="module")
def server(hall):
    return hall.server()


def calls_of(report: dict, number: str) -> list[int]:
    """How many times each screen received the call of `number`."""
    return [sum(1 for _seq, called, _at in screen if called == number) for screen in report["received"]]


class StalledScreen:
    """A lobby screen on a bad network: a plain websocket whose owner stops reading.

    Its receive buffer is tiny; it asks for many snapshots without reading the answers, so the
    server's writer for it waits on a full socket, then it reads everything at once.
    """

    def __init__(self, url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(
            url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=20,
            sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
        assert self.ws.recv().startswith("0")  # Engine.IO open
        self.ws.send('40{"hall": "demo"}')
        assert self.ws.recv().startswith("40")  # Socket.IO connected
        self.ws.send('420["snapshot", {"hall": "demo"}]')
        self.snapshot_bytes = len(self.ws.recv())

    def stall(self, at_least: int) -> int:
        """Ask for snapshots until their answers (unread) add up to `at_least` bytes; how many."""
        asked = at_least // self.snapshot_bytes + 1
        for ack in range(1, asked + 1):
            self.ws.send(f'42{ack}["snapshot", {{"hall": "demo"}}]')
        return asked

    def read_until(self, done, timeout: float = 20) -> list[str]:
        """Every message received until `done(messages)` holds (pings answered)."""
        messages, deadline = [], time.monotonic() + timeout
        while not done(messages) and time.monotonic() < deadline:
            message = self.ws.recv()
            if message == "2":
                self.ws.send("3")
            messages.append(message)
        return messages


def hall_events(messages: list[str]) -> list[dict]:
    return [json.loads(message[2:])[1] for message in messages if message.startswith('42["hall_event"')]


def test_plain_requests_pass_the_live_chain_by_and_socketio_requests_still_go_through_it(app, demo):
    """An API call served by gunicorn goes straight to Flask, not through Engine.IO's middleware
    (which builds a class for every request it is handed); a Socket.IO poll still opens a session."""
    socketio_middleware, through_live = app.wsgi_app, []

    def live(environ: dict, start_response):
        through_live.append(environ["PATH_INFO"])
        return socketio_middleware(environ, start_response)

    served = served_front(socketio_middleware, socketio)  # what hall.wsgi puts in front (no gevent here)
    assert (type(served), served.live, served.plain) == (LiveOrPlain, socketio_middleware, socketio_middleware.wsgi_app)
    app.wsgi_app = LiveOrPlain(live, socketio_middleware)

    def served(path: str, query: str = "") -> tuple[str, bytes]:
        environ = EnvironBuilder(path=path, query_string=query).get_environ()
        with socket.socket() as connection:
            environ["gunicorn.socket"] = connection  # what gunicorn's worker hands every request
            status = []
            body = b"".join(app(environ, lambda answer, headers, exc_info=None: status.append(answer)))
        return status[0], body

    status, body = served("/api/v1/halls/demo/services")
    assert status == "200 OK" and json.loads(body)["hall"] == "demo"
    assert through_live == []
    status, body = served("/socket.io/", "EIO=4&transport=polling")
    assert status == "200 OK" and body.startswith(b"0{") and b'"sid"' in body
    assert through_live == ["/socket.io/"]


def test_a_long_polling_answer_has_a_length_instead_of_chunks(hall, server):
    """One poll per event for a screen that cannot upgrade: its answer goes out in two sends, not three."""
    number = hall.issue(server)  # public screens hear of it only as a waiting count: the call is the event
    polling = f"{server.url}/socket.io/?EIO=4&transport=polling"
    session = requests.Session()
    opened = session.get(polling, timeout=10)
    sid = json.loads(opened.text[1:])["sid"]
    session.post(f"{polling}&sid={sid}", data='40{"hall": "demo"}', timeout=10).raise_for_status()
    answers = [opened, session.get(f"{polling}&sid={sid}", timeout=10)]  # the Socket.IO connect's answer
    hall.call_number(server, 2, number)
    answers.append(session.get(f"{polling}&sid={sid}", timeout=10))
    assert number in answers[-1].text
    for answer in answers:
        assert answer.headers.get("Content-Length") == str(len(answer.content)), answer.headers
        assert "Transfer-Encoding" not in answer.headers


def test_every_long_polling_screen_gets_every_call_once_and_in_order(hall, server):
    """Screens that cannot upgrade (python-socketio clients on long-polling): calls made back to back,
    each one a poll answer or a batch of them, reach every screen once each, in the order made."""
    crowd = Crowd([server.url], 12, polling=1.0)
    try:
        assert crowd.ready["ready"] == 12
        numbers = [hall.issue(server) for _ in range(6)]
        called = [hall.call_number(server, 1 + index % 2, number)["number"] for index, number in enumerate(numbers)]
        wait_for_call(crowd, called[-1], 12)
        for screen in crowd.ask("report")["received"]:
            got = [number for _seq, number, _at in screen if number in called]
            assert got == called
            assert [seq for seq, _number, _at in screen] == sorted(seq for seq, _number, _at in screen)
    finally:
        crowd.close()


def test_one_kept_alive_connection_carries_polls_posts_and_other_requests_in_turn(hall, server):
    """A poll answered straight from the connection, then whatever the client sends next on it
    (its POSTs, a page, another poll) is answered in turn, each answer complete and in order."""
    number = hall.issue(server)
    connection = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=30)
    polling = "/socket.io/?EIO=4&transport=polling"

    def send(method: str, path: str, body: str | None = None) -> http.client.HTTPResponse:
        connection.request(method, path, body=body)
        return connection.getresponse()

    sid = json.loads(send("GET", polling).read()[1:])["sid"]
    poll = f"{polling}&sid={sid}"
    assert send("POST", poll, '40{"hall": "demo"}').read() == b"OK"
    assert send("GET", poll).read().startswith(b"40")  # Socket.IO's connect answer
    assert send("POST", poll, '421["snapshot", {"hall": "demo"}]').read() == b"OK"
    assert send("GET", poll).read().startswith(b"431")  # the snapshot
    connection.request("GET", poll)  # waiting, right after a poll: the connection's own greenlet reads it
    called = hall.call_number(server, 1, number)["number"]
    assert calls_polled(connection, poll) == [called]
    assert json.loads(send("GET", "/api/v1/openapi.json").read())["openapi"]  # handed back to gunicorn, whole
    connection.request("GET", poll)
    again = hall.call_number(server, 2, hall.issue(server))["number"]
    assert calls_polled(connection, poll) == [again]
    connection.request("GET", f"{polling}&sid=unknown")  # not an open session: Engine.IO's own answer
    assert connection.getresponse().status == 400
    connection.close()


def test_browser_polls_with_an_origin_are_answered_from_the_connection_and_foreign_origins_refused(hall, server):
    """A poll carrying the page's Origin (as a browser's long-polling client sends it) is answered by
    the connection's greenlet, with Engine.IO's CORS headers; another origin is refused as before."""
    number = hall.issue(server)
    port = int(server.url.rsplit(":", 1)[1])
    own, foreign = f"http://127.0.0.1:{port}", "http://elsewhere.example"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    polling = "/socket.io/?EIO=4&transport=polling"

    def send(method: str, path: str, origin: str, body: str | None = None) -> http.client.HTTPResponse:
        connection.request(method, path, body=body, headers={"Origin": origin})
        return connection.getresponse()

    def answered_here(answer: http.client.HTTPResponse) -> bytes:
        body = answer.read()
        assert answer.status == 200 and answer.getheader("Content-Length") == str(len(body))
        assert answer.getheader("Access-Control-Allow-Origin") == own
        assert answer.getheader("Server") is None, "answered through gunicorn and Engine.IO"
        return body

    sid = json.loads(send("GET", polling, own).read()[1:])["sid"]
    poll = f"{polling}&sid={sid}"
    assert send("POST", poll, own, '40{"hall": "demo"}').read() == b"OK"
    assert answered_here(send("GET", poll, own)).startswith(b"40")  # after a POST: parsed by gunicorn
    assert send("POST", poll, own, '421["snapshot", {"hall": "demo"}]').read() == b"OK"
    assert answered_here(send("GET", poll, own)).startswith(b"431")
    connection.request("GET", poll, headers={"Origin": own})  # right after a poll: read by its greenlet
    called = hall.call_number(server, 1, number)["number"]
    for _ in range(20):
        if called.encode() in answered_here(connection.getresponse()):
            break
        connection.request("GET", poll, headers={"Origin": own})
    else:
        raise AssertionError("no call in 20 polls")
    refused = send("GET", poll, foreign)
    assert (refused.status, refused.read()) == (400, b'"Not an accepted origin."')
    assert refused.getheader("Access-Control-Allow-Origin") is None
    connection.close()


def test_only_a_plain_poll_of_an_open_long_polling_session_is_answered_beside_gunicorn():
    """What the connection's greenlet answers itself; anything else goes through gunicorn and Engine.IO."""
    import engineio
    from engineio import socket as eio_socket

    eio = engineio.Server(async_mode="threading")
    session = eio.sockets["s1"] = eio_socket.Socket(eio, "s1")
    session.connected = True
    polls = LongPolls(eio)
    plain = b"GET /socket.io/?EIO=4&transport=polling&t=P1&sid=s1 HTTP/1.1\r\nHost: hall\r\nAccept-Encoding: gzip\r\n\r\n"
    assert polls.of_head(plain)[:3] == (session, "gzip", [("Access-Control-Allow-Credentials", "true")])
    for other in (plain.replace(b"sid=s1", b"sid=s2"), plain.replace(b"GET", b"POST"),
                  plain + b"GET / HTTP/1.1\r\n\r\n", plain[:-2], plain.replace(b"HTTP/1.1", b"HTTP/1.0"),
                  plain.replace(b"Host: hall", b"Origin: http://elsewhere"), plain.replace(b"Host", b"Connection: close\r\nHost"),
                  plain.replace(b"Host", b"Content-Length: 2\r\nHost"), plain.replace(b"transport=polling", b"transport=websocket"),
                  plain.replace(b"sid=s1", b"sid=s1&j=0"), plain.replace(b"Host: hall", b"Host : hall")):
        assert polls.of_head(other) is None, other
    session.upgrading = True  # Engine.IO answers it (a NOOP), as every poll during an upgrade
    assert polls.of_head(plain) is None


def test_a_screens_next_poll_with_the_same_headers_is_not_judged_again_but_its_session_is(monkeypatch):
    """A polling screen repeats its headers poll after poll: the next poll's answer headers are the last
    one's, only its query is read; changed headers are read and judged again, and a session no longer
    open is left to Engine.IO either way."""
    import engineio
    from engineio import socket as eio_socket

    eio = engineio.Server(async_mode="threading")
    sessions = {}
    for sid in ("s1", "s2"):
        sessions[sid] = eio.sockets[sid] = eio_socket.Socket(eio, sid)
        sessions[sid].connected = True
    polls = LongPolls(eio)
    judged = []
    judge = polls._cors
    monkeypatch.setattr(polls, "_cors", lambda *args: judged.append(args) or judge(*args))
    head = (b"GET /socket.io/?EIO=4&transport=polling&t=P1&sid=s1 HTTP/1.1\r\nHost: hall:8000\r\n"
            b"Origin: http://hall:8000\r\nAccept-Encoding: gzip\r\n\r\n")
    first = polls.of_request(SimpleNamespace(method="GET", path="/socket.io/", version=(1, 1), scheme="http",
                                             query="EIO=4&transport=polling&t=P0&sid=s1",
                                             headers=[("HOST", "hall:8000"), ("ORIGIN", "http://hall:8000"),
                                                      ("ACCEPT-ENCODING", "gzip")]))
    second = polls.of_head(head, first)  # read whole: the first was gunicorn's
    assert len(judged) == 2 and second.session is sessions["s1"]
    third = polls.of_head(head.replace(b"t=P1", b"t=P2"), second)
    assert len(judged) == 2 and third == second
    assert polls.of_head(head.replace(b"sid=s1", b"sid=s2"), third).session is sessions["s2"]
    assert polls.of_head(head.replace(b"transport=polling", b"transport=websocket"), third) is None
    assert polls.of_head(head.replace(b"HTTP/1.1", b"HTTP/1.0"), third) is None
    refused = head.replace(b"http://hall:8000", b"http://elsewhere")
    assert polls.of_head(refused, third) is None and len(judged) == 3  # judged again: Engine.IO refuses it
    assert polls.of_head(head.replace(b"gzip", b"br"), third).accept_encoding == "br"
    sessions["s1"].upgrading = True
    assert polls.of_head(head, third) is None  # Engine.IO answers it (a NOOP)


def test_a_poll_answer_larger_than_the_socket_buffer_is_finished_and_a_stalled_poller_ends_alone():
    """A poll's answer goes out in one send if the socket takes it; what does not fit is written as the
    screen reads, and a screen that reads nothing within the write timeout ends its own connection."""
    import engineio
    import gevent
    from engineio import packet as eio_packet
    from engineio import socket as eio_socket
    from gevent import socket as gevent_socket

    eio = engineio.Server(async_mode="threading")
    session = eio.sockets["s1"] = eio_socket.Socket(eio, "s1")
    session.connected = True
    polls = LongPolls(eio)
    poll = polls.of_head(b"GET /socket.io/?EIO=4&transport=polling&sid=s1 HTTP/1.1\r\nHost: hall\r\n\r\n")
    big = "x" * 400_000  # above the compression threshold: no Accept-Encoding, so sent as it is
    server_end, screen_end = gevent_socket.socketpair()
    server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    def read_answer() -> bytes:
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < len(big) + 1:
            gevent.sleep(0.001)  # a slow reader: the server's send waits for it
            data += screen_end.recv(65536)
        return data

    session.queue.put(eio_packet.Packet(eio_packet.MESSAGE, big))
    reader = gevent.spawn(read_answer)
    polls.answer(poll, server_end)
    head, _, body = reader.get(timeout=10).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK") and f"Content-Length: {len(body)}".encode() in head
    assert body == ("4" + big).encode()

    polls.write_timeout_s = 0.2
    session.queue.put(eio_packet.Packet(eio_packet.MESSAGE, big))  # nobody reads this one
    started = time.monotonic()
    with pytest.raises(StopIteration):
        polls.answer(poll, server_end)
    assert time.monotonic() - started < 2


def test_a_poll_with_an_origin_is_answered_beside_gunicorn_once_engineio_would_accept_the_origin():
    """Engine.IO's CORS check on what gunicorn gives it (Host, X-Forwarded-*, the request's scheme):
    an accepted origin is answered here with Engine.IO's CORS headers, a refused one is left to it."""
    import engineio
    from engineio import socket as eio_socket

    eio = engineio.Server(async_mode="threading")  # cors_allowed_origins None: the server's own origin
    session = eio.sockets["s1"] = eio_socket.Socket(eio, "s1")
    session.connected = True
    polls = LongPolls(eio, scheme_headers=("X-FORWARDED-PROTO", "X-FORWARDED-SSL"))
    query = "EIO=4&transport=polling&t=P1&sid=s1"
    credentials = ("Access-Control-Allow-Credentials", "true")  # Engine.IO's default

    def parsed(*headers: tuple[str, str], scheme: str = "http"):  # as gunicorn parsed it
        return SimpleNamespace(method="GET", path="/socket.io/", version=(1, 1), query=query, scheme=scheme,
                               headers=[(name.upper(), value) for name, value in headers])

    same = polls.of_request(parsed(("Host", "hall:8000"), ("Origin", "http://hall:8000")))
    assert same.session is session and same.cors == [("Access-Control-Allow-Origin", "http://hall:8000"), credentials]
    for refused in (parsed(("Host", "hall:8000"), ("Origin", "http://elsewhere")),
                    parsed(("Host", "hall:8000"), ("Origin", "http://hall:8000"), scheme="https"),
                    parsed(("Origin", "http://hall:8000")),
                    parsed(("Host", "hall:8000"), ("Origin", "http://hall:8000"), ("Origin", "http://hall:8000"))):
        assert polls.of_request(refused) is None, refused.headers
    proxied = polls.of_request(parsed(("Host", "hall"), ("X-Forwarded-Proto", "https"), ("Origin", "https://hall"),
                                      scheme="https"))
    assert proxied.cors == [("Access-Control-Allow-Origin", "https://hall"), credentials]

    head = (f"GET /socket.io/?{query} HTTP/1.1\r\nHost: hall\r\nX-Forwarded-Proto: https\r\n"
            "Origin: https://hall\r\n\r\n").encode()
    assert polls.of_head(head, proxied).cors == proxied.cors  # the next poll on the same connection
    assert polls.of_head(head) is None  # its scheme is not known here: gunicorn parses it
    assert polls.of_head(head.replace(b"Proto: https", b"Proto: http"), proxied) is None  # says another
    assert polls.of_head(head.replace(b"https://hall", b"http://elsewhere"), proxied) is None

    eio.cors_allowed_origins = ["http://kiosk.example"]
    listed = polls.of_request(parsed(("Host", "hall"), ("Origin", "http://kiosk.example")))
    assert listed.cors == [("Access-Control-Allow-Origin", "http://kiosk.example"), credentials]
    assert polls.of_request(parsed(("Host", "hall"), ("Origin", "http://hall"))) is None
    eio.cors_allowed_origins = []  # CORS handling off: no check, no CORS headers
    assert polls.of_request(parsed(("Host", "hall"), ("Origin", "http://elsewhere"))).cors == []


def calls_polled(connection: http.client.HTTPConnection, poll: str) -> list[str]:
    """The numbers called in the answer to the poll sent on `connection` and the polls after it, up to
    the first answer with a call (each answer checked whole: status, length)."""
    for _ in range(20):
        answer = connection.getresponse()
        body = answer.read()
        assert answer.status == 200 and answer.getheader("Content-Length") == str(len(body))
        events = [json.loads(packet[2:])[1] for packet in body.decode().split("\x1e")
                  if packet.startswith('42["hall_event"')]
        numbers = [event["ticket"]["number"] for event in events if event["kind"] == "called"]
        if numbers:
            return numbers
        connection.request("GET", poll)
    raise AssertionError("no call in 20 polls")


@pytest.mark.slow
def test_300_screens_get_the_call_while_the_api_answers_and_a_stalled_one_holds_up_no_one(hall, server):
    crowd = Crowd([server.url], SCREENS, polling=0.2)
    stalled = StalledScreen(server.url)  # unanswered pings would end it after 45 s: the test takes less
    try:
        assert crowd.ready["ready"] == SCREENS
        # more than the server's send buffer (doubled by Linux) and the screen's receive buffer hold
        asked = stalled.stall(at_least=4 * SEND_BUFFER_BYTES)
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:  # kiosks and counters at once, beside the open screens
            numbers = list(pool.map(lambda _: hall.issue(server), range(16)))
        assert len(set(numbers)) == 16
        called = hall.call_number(server, 1, numbers[0])
        assert time.monotonic() - started < 20, "the HTTP API answers with every screen connected"
        assert crowd.ask("status")["connected"] == SCREENS
        # while the stalled screen has not read a byte
        assert wait_for_call(crowd, called["number"], SCREENS) == [1] * SCREENS
        messages = stalled.read_until(lambda got: any(event["kind"] == "called" for event in hall_events(got)))
        answers = [message for message in messages if message.startswith("43")]
        assert [int(answer[2:answer.index("[")]) for answer in answers] == list(range(1, asked + 1))
        events = hall_events(messages)  # a public screen's: every public event once, in order, no issue
        assert all(after["public_prev"] == before["seq"] for before, after in zip(events, events[1:]))
        assert [event["kind"] for event in events][-1] == "called" and "issued" not in [e["kind"] for e in events]
    finally:
        stalled.ws.close()
        crowd.close()


def wait_for_call(crowd: Crowd, number: str, screens: int, timeout: float = 20) -> list[int]:
    """Each screen's count of the call of `number`, once every screen has it (or the timeout)."""
    deadline = time.monotonic() + timeout
    while (counts := calls_of(crowd.ask("report"), number)).count(0) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counts.count(0) == 0, f"{counts.count(0)} of {screens} screens missed the call of {number}"
    return counts


@pytest.mark.slow
def test_sigterm_with_screens_connected_is_quick_and_screens_resync(hall, tmp_path):
    first_start = time.monotonic()
    server = hall.server(XDG_RUNTIME_DIR=str(tmp_path))
    first_start = time.monotonic() - first_start
    assert not (tmp_path / "gunicorn.ctl").exists(), "no control socket that servers of one machine would share"
    crowd = Crowd([server.url], 40, polling=0.25)
    try:
        crowd.wait_until(lambda status: status["resynced"] == 40, timeout=30)
        stopping = time.monotonic()
        os.killpg(server.process.pid, signal.SIGTERM)
        server.process.wait(15)
        assert time.monotonic() - stopping <= 5, "live connections are dropped at once, not waited for"
        crowd.wait_until(lambda status: status["connected"] == 0, timeout=5)
        starting = time.monotonic()
        server.start()
        # 10 s on a machine of its own; a busy one slows every start alike, the first one included
        assert time.monotonic() - starting <= max(10.0, 1.25 * first_start)
        crowd.wait_until(lambda status: status["connected"] == 40 and status["resynced"] == 40, timeout=30)
        assert crowd.ask("status")["connects"] >= 80, "every screen reconnected by itself"
        called = hall.call_number(server, 2, hall.issue(server, "B"))
        assert wait_for_call(crowd, called["number"], 40) == [1] * 40
    finally:
        crowd.close()
        server.stop()


@pytest.fixture(scope="module")
def pg_hall(postgres_server):
    """The demo hall on its own PostgreSQL database."""
    name = f"hall_serving_{os.getpid()}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE hall_template")
    hall = DisplayHall(None, None, database_url=postgres_server.rsplit("/", 1)[0] + f"/{name}")
    yield hall
    hall.close()
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
    admin.dispose()


@pytest.fixture(scope="module")
def two_processes(pg_hall, tmp_path_factory):
    """`hall serve --workers 2` on PostgreSQL and Redis: one LiveServer, two addresses."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    redis.start()
    servers = pg_hall.server(HALL_SERVER_WORKERS="2", HALL_REDIS_URL=redis.url)
    yield servers
    servers.stop()
    redis.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_two_processes_share_every_call_through_redis(pg_hall, two_processes):
    first, second = (SimpleNamespace(url=url) for url in two_processes.urls)
    crowd = Crowd(two_processes.urls, 60, polling=0.25)
    try:
        crowd.wait_until(lambda status: status["resynced"] == 60, timeout=30)
        numbers = []
        for counter, (issuer, caller) in enumerate([(first, first), (first, second), (second, first)], start=1):
            numbers.append(pg_hall.call_number(caller, counter, pg_hall.issue(issuer))["number"])
        for number in numbers:
            assert wait_for_call(crowd, number, 60) == [1] * 60, "every screen got the call once"
        received = crowd.ask("report")["received"]
        assert all([number for _seq, number, _at in screen] == numbers for screen in received), "in order"
    finally:
        crowd.close()


@pytest.fixture
def proxy(two_processes, tmp_path):
    """nginx with deploy/nginx/hall.conf in front of the two processes, on a free port."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        pytest.skip("nginx is not installed")
    port = free_port()
    site = (ROOT / "deploy" / "nginx" / "hall.conf").read_text().replace("listen 80;", f"listen 127.0.0.1:{port};")
    servers = "".join(f"    server {url.removeprefix('http://')};\n" for url in two_processes.urls)
    site = re.sub(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, site)
    (tmp_path / "hall.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    client_body_temp_path {tmp_path}/body;\n"
        f"    proxy_temp_path {tmp_path}/proxy;\n    fastcgi_temp_path {tmp_path}/fastcgi;\n"
        f"    uwsgi_temp_path {tmp_path}/uwsgi;\n    scgi_temp_path {tmp_path}/scgi;\n"
        f"    include {tmp_path}/hall.conf;\n}}\n")
    command = [nginx, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf")]
    subprocess.run(command + ["-t"], check=True, capture_output=True)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(url + "/api/v1/openapi.json"))
    yield SimpleNamespace(url=url)
    process.terminate()
    process.wait(10)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@pytest.mark.postgres
@pytest.mark.redis
def test_the_shipped_nginx_config_upgrades_websockets_and_keeps_polling_sticky(pg_hall, proxy):
    crowd = Crowd([proxy.url], 20, polling=0.5)
    try:
        crowd.wait_until(lambda status: status["resynced"] == 20, timeout=30)
        called = pg_hall.call_number(proxy, 4, pg_hall.issue(proxy, "B"))
        assert wait_for_call(crowd, called["number"], 20) == [1] * 20
        assert crowd.ask("status")["connects"] == 20, "no screen lost its session behind the proxy"
    finally:
        crowd.close()
