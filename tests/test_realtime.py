"""Realtime push: events only after commit, public redaction, snapshots, and several processes over Redis."""
from __future__ import annotations

import contextlib
import shutil
import threading
import time
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import socketio
import sqlalchemy as sa

from hall import queue
from hall.extensions import db, socketio as server_socketio
from hall.models import Hall
from hall.queue.errors import Conflict
from hall.queue.unit import hall_action, subscribe
from tests.display_support import DisplayHall, RedisServer, wait_for
from tests.supervisor_support import sign_in


def _client(app, **auth):
    client = server_socketio.test_client(app, auth={"hall": "demo", **auth})
    assert client.is_connected()
    return client


def _events(client, name="hall_event"):
    return [message["args"][0] for message in client.get_received() if message["name"] == name]


def test_an_event_is_published_only_after_its_transaction_committed(app, demo):
    """At publish time another connection already sees the action's sequence number."""
    seen_by_others = []
    other = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    subscribe(app, lambda event: seen_by_others.append(
        (event["seq"], other.connect().execute(sa.select(Hall.event_seq).where(Hall.id == demo.id)).scalar_one())))
    client = _client(app)
    queue.issue_ticket(demo.id, "A")
    queue.open_counter(demo.id, 1)
    called = queue.call_next(demo.id, 1)
    assert [seq for seq, _ in seen_by_others] == [1, 2, 3]
    assert all(seq == committed for seq, committed in seen_by_others)
    events = _events(client)  # a public screen: the normal issue does not reach it
    assert [e["seq"] for e in events] == [2, 3] and events[-1]["ticket"]["number"] == called["ticket"]["number"]
    other.dispose()


def test_a_rolled_back_action_publishes_nothing_and_leaves_no_gap(app, demo):
    client = _client(app)
    with pytest.raises(RuntimeError):
        with hall_action(demo.id) as action:
            action.publish("issued", ticket={"number": "A999"})
            raise RuntimeError("fails after the event was prepared")
    with pytest.raises(Conflict):  # refused by the engine after the sequence was bumped
        queue.call_ticket(demo.id, 1, "Z123")
    assert _events(client) == []
    assert db.session.scalar(sa.select(Hall.event_seq).where(Hall.id == demo.id)) == 0
    queue.open_counter(demo.id, 1)
    assert [e["seq"] for e in _events(client)] == [1]


def test_a_phone_gets_its_tickets_events_and_an_issue_goes_to_no_ticket_room(app, demo, monkeypatch):
    """A ticket's token is given out in the issue's answer, after its event: nobody can follow it yet,
    so the issue is not sent to the ticket's room; its call is."""
    rooms, emit = [], server_socketio.emit

    def recorded(name, data, **options):
        rooms.append(options.get("to"))
        return emit(name, data, **options)

    monkeypatch.setattr(server_socketio, "emit", recorded)
    issued = queue.issue_ticket(demo.id, "A")
    assert rooms and not [room for room in rooms if room.startswith("ticket:")]
    phone = _client(app, ticket=issued["token"])
    queue.open_counter(demo.id, 1)
    queue.call_next(demo.id, 1)
    assert [event["kind"] for event in _events(phone, "ticket_event")] == ["called"]


def test_public_clients_get_redacted_events_and_a_snapshot_on_request(app, demo):
    client = _client(app)
    queue.issue_ticket(demo.id, "B")
    queue.open_counter(demo.id, 3, staff_id=demo.staff("staff3").id)
    queue.call_next(demo.id, 3)
    called = _events(client)[-1]
    assert called["kind"] == "called" and "token" not in called["ticket"] and "staff" not in called["counter"]
    snapshot = client.emit("snapshot", {"hall": "demo"}, callback=True)
    assert snapshot["seq"] == called["seq"]
    assert snapshot["recent_calls"][0]["number"] == called["ticket"]["number"]
    assert all("staff" not in counter for counter in snapshot["counters"])
    assert client.emit("snapshot", {"hall": "nowhere"}, callback=True) == {"error": "unknown hall"}


def _staff_client(app, demo):
    client = sign_in(app.test_client(), "staff1", demo.passwords["staff1"])
    with app.app_context():  # its own context, as in a server: the signed-in user is not shared
        return server_socketio.test_client(app, flask_test_client=client, auth={"hall": "demo"})


def test_public_screens_get_no_issue_yet_every_call_in_order_on_a_chain_of_their_own(app, demo):
    """A normal ticket's issue reaches staff screens only; every other event reaches public screens
    too, each carrying the seq of the public event before it (the public chain), staff events none."""
    public, staff = _client(app), _staff_client(app, demo)
    queue.open_counter(demo.id, 1)
    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    calls = [queue.call_next(demo.id, 1)]
    queue.issue_ticket(demo.id, "A")
    queue.issue_ticket(demo.id, "A", priority="priority")  # goes ahead: phones of the line must hear it
    calls.append(queue.recall(demo.id, 1))
    queue.no_show(demo.id, 1)
    calls.append(queue.call_next(demo.id, 1))
    for _ in range(2):
        queue.issue_ticket(demo.id, "A")
    staff_events, public_events = _events(staff), _events(public)
    assert [e["seq"] for e in staff_events] == list(range(1, 13))
    assert all("public_prev" not in e for e in staff_events)
    assert [(e["seq"], e["kind"]) for e in public_events] == [
        (1, "counter_open"), (5, "called"), (7, "issued"), (8, "recalled"), (9, "no_show"), (10, "called")]
    assert [e["public_prev"] for e in public_events] == [0, 1, 5, 7, 8, 9]
    assert public_events[2]["ticket"]["priority"] == "priority"
    assert [e["seq"] for e in public_events if e["kind"] in ("called", "recalled")] == [c["seq"] for c in calls]
    hall = db.session.get(Hall, demo.id)
    db.session.refresh(hall)
    assert (hall.event_seq, hall.public_seq) == (12, 10)


def test_the_public_chain_stays_linked_when_an_action_guessed_wrong(app, demo):
    """An action says up front whether its event is public (the lock links it at no extra cost);
    one that guessed wrong either way is put right before it commits."""
    public = _client(app)
    with hall_action(demo.id, public=False) as action:
        action.publish("notice", notice={"id": 1})
    with hall_action(demo.id) as action:  # expected public, but it is a normal issue
        action.publish("issued", ticket={"number": "A999", "priority": "normal"})
    queue.open_counter(demo.id, 1)
    assert [(e["seq"], e["public_prev"]) for e in _events(public)] == [(1, 0), (3, 1)]


def test_the_waiting_counts_reach_public_screens_once_an_interval(app, demo):
    """What issues change on public screens comes as one `hall_waiting` message an interval (1 s),
    with the counts per service, whatever the number of issues meanwhile; calls move them too."""
    public = _client(app)
    time.sleep(1.1)  # what the tests before left on its way (another app, the same room) has come
    public.get_received()
    received: list[dict] = []

    def waiting() -> list[dict]:
        received.extend(m["args"][0] for m in public.get_received() if m["name"] == "hall_waiting")
        return received

    for _ in range(3):
        queue.issue_ticket(demo.id, "A")
    queue.issue_ticket(demo.id, "B")
    wait_for(waiting, timeout=5)
    time.sleep(1.5)  # the interval is over: no second message for the same burst
    assert len(waiting()) == 1
    counts = {s["service"]: s["waiting"] for s in received[0]["services"]}
    assert (counts["A"], counts["B"], received[0]["seq"]) == (3, 1, 4)
    received.clear()
    queue.open_counter(demo.id, 1)
    queue.call_next(demo.id, 1)
    # a message read before the call (e.g. the counter's opening's) may come first: the call's follows it
    wait_for(lambda: any({s["service"]: s["waiting"] for s in m["services"]}["A"] == 2 for m in waiting()), timeout=5)


def test_one_process_reads_no_waiting_counts_for_a_hall_none_of_whose_public_screens_it_holds(app, demo):
    """Without Redis a process sends the waiting counts to its own screens only: while none of the hall's
    public screens is connected, its issues read nothing for them; once one is, they do."""
    time.sleep(1.1)  # what the tests before left on its way has come
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if threading.current_thread() is not threading.main_thread():  # the waiting counts' sender
            reads.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        queue.issue_ticket(demo.id, "A")
        time.sleep(1.5)  # past the interval
        assert reads == []
        public = _client(app)
        queue.issue_ticket(demo.id, "A")
        wait_for(lambda: any(m["name"] == "hall_waiting" for m in public.get_received()), timeout=5)
        assert reads
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_a_client_of_an_unknown_hall_is_refused(app, demo):
    client = server_socketio.test_client(app, auth={"hall": "nowhere"})
    assert not client.is_connected()


def test_a_call_is_followed_by_its_announce_message(app, demo):
    """Without voice (the test app) the announce still comes, with no clips: displays play the chime."""
    client = _client(app)
    queue.issue_ticket(demo.id, "A")
    queue.open_counter(demo.id, 1)
    queue.call_next(demo.id, 1)
    queue.recall(demo.id, 1)
    received = [(m["name"], m["args"][0]) for m in client.get_received() if m["name"] in ("hall_event", "announce")]
    calls = [(name, body["seq"]) for name, body in received if name == "announce" or body["kind"] in ("called", "recalled")]
    assert calls == [("hall_event", 3), ("announce", 3), ("hall_event", 4), ("announce", 4)]
    announce = received[-1][1]
    assert announce == {"seq": 4, "kind": "recalled", "number": "A001", "counter": 1, "zone": "main", "keys": []}


# --- several server processes sharing events through Redis ----------------------------------------------

@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """This module's own Redis: a test stops and starts it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_servers(sqlite_template, tmp_path_factory, redis_server):
    """`hall serve --workers 2` sharing events through Redis: the hall, each process's address, the server."""
    hall = DisplayHall(sqlite_template, tmp_path_factory.mktemp("two-servers"))
    server = hall.server(HALL_REDIS_URL=redis_server.url, HALL_SERVER_WORKERS="2")
    first, second = (SimpleNamespace(url=url) for url in server.urls)
    yield hall, first, second, server
    hall.close()


@pytest.mark.redis
def test_a_call_on_one_process_reaches_a_display_on_another(two_servers):
    hall, first, second, _server = two_servers
    received: list[tuple[str, dict]] = []
    arrived = threading.Condition()
    display = socketio.Client(reconnection=False)

    def record(name):
        def handler(body):
            with arrived:
                received.append((name, body))
                arrived.notify_all()
        return handler

    display.on("hall_event", record("hall_event"))
    display.on("announce", record("announce"))
    display.on("hall_waiting", record("hall_waiting"))
    display.connect(second.url, auth={"hall": "demo"}, wait_timeout=10)  # long-polling: no websocket-client here
    try:
        snapshot = display.call("snapshot", {"hall": "demo"}, timeout=10)
        number = hall.issue(first, "C")
        called = hall.call(first, 2)
        assert called["number"] == number
        with arrived:
            assert arrived.wait_for(lambda: any(n == "announce" for n, _ in received), timeout=20), received
        events = [body for name, body in received if name == "hall_event"]
        # a public screen: not the issue, but the call, linked to the last public event it had
        assert [e["kind"] for e in events] in (["counter_open", "called"], ["called"])  # opened if it was not
        assert events[-1]["seq"] == called["seq"] and events[-1]["ticket"]["number"] == number
        assert events[0]["public_prev"] <= snapshot["seq"]
        assert all(e["public_prev"] == before["seq"] for before, e in zip(events, events[1:]))
        with arrived:  # the waiting counts made by process 1 reach process 2's screen
            assert arrived.wait_for(lambda: any(n == "hall_waiting" for n, _ in received), timeout=5), received
        assert "token" not in events[-1]["ticket"]
        announce = next(body for name, body in received if name == "announce")
        assert (announce["seq"], announce["number"], announce["counter"]) == (called["seq"], number, 2)
        assert len(announce["keys"]) == 2, "the servers have espeak-ng: each call has a zh and an en clip"
        for key in announce["keys"]:  # rendered by process 1, served by process 2 from the shared cache
            clip = requests.get(f"{second.url}/display/audio/{key}.wav", timeout=10)
            assert clip.status_code == 200 and clip.headers["Content-Type"] == "audio/wav"
    finally:
        display.disconnect()


class _WaitingScreen:
    """A public screen on one process that keeps the `hall_waiting` messages it hears."""

    def __init__(self, url: str) -> None:
        self.heard: list[dict] = []
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        self.client.on("hall_waiting", self._record)
        self.client.connect(url, auth={"hall": "demo"}, wait_timeout=10)

    def _record(self, message: dict) -> None:
        with self.lock:
            self.heard.append(message)

    def take(self) -> list[dict]:
        with self.lock:
            heard, self.heard = self.heard, []
        return heard

    def shows(self, counts: dict[str, int]) -> bool:
        with self.lock:
            return any(_counts(message) == counts for message in self.heard)


def _counts(message: dict) -> dict[str, int]:
    return {s["service"]: s["waiting"] for s in message["services"]}


def _waiting_now(hall, server) -> dict[str, int]:
    """The hall's waiting tickets per service, counted over the tickets (the public queue request)."""
    queue_now = requests.get(f"{server.url}/api/v1/halls/demo/queue", timeout=10).json()
    return {s["service"]: s["waiting"] for s in queue_now["services"]}


@pytest.fixture
def waiting_screens(two_servers):
    """A public screen on each of the two processes, once what earlier tests set off has come."""
    _hall, first, second, _server = two_servers
    screens = [_WaitingScreen(first.url), _WaitingScreen(second.url)]
    time.sleep(1.5)
    for screen in screens:
        screen.take()
    yield screens
    for screen in screens:
        screen.client.disconnect()


@pytest.mark.redis
def test_the_waiting_counts_come_once_an_interval_whichever_process_acted(two_servers, waiting_screens):
    """Both processes issue within one interval: every screen, on either process, hears one `hall_waiting`
    for it, not one per process, and it holds the counts after the last issue."""
    hall, first, second, _server = two_servers
    for server in (first, second, first, second):
        hall.issue(server, "A")
    after = _waiting_now(hall, first)
    for screen in waiting_screens:
        wait_for(lambda: screen.shows(after), timeout=5)
    time.sleep(1.2)  # a second process's message would have come by now
    assert [[_counts(m) for m in screen.take()] for screen in waiting_screens] == [[after], [after]]


@pytest.mark.redis
def test_a_turn_whose_holder_never_sends_leaves_the_counts_late_not_wrong(two_servers, waiting_screens,
                                                                          redis_server):
    """A process took the hall's turn to send and died: the process whose event found the turn taken
    sends the counts itself, a couple of intervals later."""
    import redis

    hall, first, _second, _server = two_servers
    stuck = redis.Redis.from_url(redis_server.url)
    stuck.set("hall:demo:waiting:turn", 1, px=30_000)
    try:
        started = time.monotonic()
        hall.issue(first, "C")
        after = _waiting_now(hall, first)
        for screen in waiting_screens:
            wait_for(lambda: screen.shows(after), timeout=6)
        assert time.monotonic() - started > 1.5, "sent on the process's own turn: none was taken"
        assert stuck.exists("hall:demo:waiting:turn")
    finally:
        stuck.delete("hall:demo:waiting:turn")
        stuck.close()


class _Monitor:
    """Every command Redis runs (MONITOR), with the connection it came on, as a thread records them."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.commands: list[tuple[str, str]] = []
        self.started = threading.Event()
        self.thread = threading.Thread(target=self._record, daemon=True)
        self.thread.start()
        assert self.started.wait(5)

    def _record(self) -> None:
        with self.client.monitor() as monitor:
            self.started.set()
            with contextlib.suppress(Exception):  # the connection closed: done
                for command in monitor.listen():
                    self.commands.append((f"{command['client_address']}:{command['client_port']}", command["command"]))

    def close(self) -> list[tuple[str, str]]:
        self.client.connection_pool.disconnect()
        self.thread.join(5)
        return self.commands


def _turns_round_trips(commands: list[tuple[str, str]], test_connection: str = "") -> list[str]:
    """The round trips of the processes' waiting turns (on connections of their own), as Redis ran them."""
    return [command.split()[0] for connection, command in commands
            if "hall:demo:waiting:turn" in command and connection not in ("lua:", test_connection)]


@pytest.mark.redis
def test_a_waiting_message_costs_its_sender_two_round_trips_the_record_of_it_goes_with_it(two_servers, waiting_screens,
                                                                                        redis_server):
    """The turn is taken (one script) and given back (one script, answered before the counts are read); the record
    of the seq the message carried goes in the same round trip as the message's PUBLISH, on the publisher's
    connection."""
    import redis

    hall, first, _second, _server = two_servers
    client = redis.Redis.from_url(redis_server.url, single_connection_client=True)

    def issue_and_wait() -> None:
        hall.issue(first, "A")
        after = _waiting_now(hall, first)
        for screen in waiting_screens:
            wait_for(lambda: screen.shows(after), timeout=5)
        wait_for(lambda: not client.exists("hall:demo:waiting:turn"), timeout=5)  # given back

    issue_and_wait()  # the turn's scripts are loaded (a first EVALSHA may be answered NOSCRIPT)
    monitor = _Monitor(redis_server.url)
    try:
        issue_and_wait()
    finally:
        commands = monitor.close()
    assert _turns_round_trips(commands, client.client_info()["addr"]) == ["EVALSHA", "EVALSHA"]
    client.close()
    publisher = [command for connection, command in commands
                 if connection != "lua:" and "hall:demo:waiting:turn" not in command]
    message = next(n for n, command in enumerate(publisher) if "hall_waiting" in command)
    assert [c.split()[:2] for c in publisher[message + 1:message + 2]] == [["SET", "hall:demo:waiting:sent"]]


@pytest.mark.redis
def test_a_burst_on_the_process_not_holding_the_turn_asks_for_it_a_few_times_and_its_last_count_is_shown(
        two_servers, waiting_screens, redis_server):
    """One process takes the turn; the other issues 20 tickets meanwhile: it asks for the turn about once an
    interval, not once an issue, and the screens on both processes end on the counts after its last issue,
    one message an interval."""
    hall, first, second, _server = two_servers
    monitor = _Monitor(redis_server.url)
    try:
        started = time.monotonic()
        hall.issue(first, "A")
        for _ in range(20):
            hall.issue(second, "B")
        after = _waiting_now(hall, second)
        for screen in waiting_screens:
            wait_for(lambda: screen.shows(after), timeout=6)
        time.sleep(1.5)  # what else comes of the burst has come
        elapsed_s = time.monotonic() - started
    finally:
        commands = monitor.close()
    round_trips = _turns_round_trips(commands)
    print(f"{len(round_trips)} round trips of the turns for 21 issues in {elapsed_s:.1f} s")
    assert 3 <= len(round_trips) <= 8, round_trips
    for screen in waiting_screens:
        heard = screen.take()
        assert _counts(heard[-1]) == after
        assert len(heard) <= elapsed_s + 1, [m["seq"] for m in heard]


def _open_alarms(hall, server) -> list[str]:
    state = requests.get(f"{server.url}/api/v1/halls/demo/monitor", headers=hall.headers, timeout=10).json()
    return [a["kind"] for a in state["alarms"] if a["cleared_at"] is None]


def _heard(page) -> list[str]:
    return [c["number"] for c in page.evaluate("() => hallDisplay.calls")]


@pytest.mark.redis
@pytest.mark.browser
def test_no_call_is_lost_for_good_while_redis_is_away(two_servers, redis_server, chromium):
    """Calls made on one process during a Redis outage still reach the lobby display served by the
    other (replayed from the event log); the listener is back within a second or two; the monitor
    raises an alarm while Redis is unreachable; the log tells the outage once, not once per event."""
    hall, first, second, server = two_servers
    context = chromium.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    tv = context.new_page()
    tv.goto(f"{second.url}/display/demo?lang=zh&device={hall.display_token}")
    tv.wait_for_function("() => window.hallDisplay && window.hallDisplay.live.lastSeq() !== null")
    live_seqs: list[int] = []
    listener = socketio.Client(reconnection=False)  # hears live events only: no catch-up of its own

    def on_event(event):
        live_seqs.append(event["seq"])

    listener.on("hall_event", on_event)
    listener.connect(second.url, auth={"hall": "demo"}, wait_timeout=10)
    try:
        numbers = [hall.issue(first, "C") for _ in range(8)]
        hall.call_number(first, 2, numbers[0])
        wait_for(lambda: numbers[0] in _heard(tv), timeout=5)

        redis_server.stop()
        during = []
        for number in numbers[1:6]:
            started = time.monotonic()
            hall.call_number(first, 2, number)
            during.append(time.monotonic() - started)
            time.sleep(0.3)
        assert max(during) < 3, f"a call waits on the missing Redis: {during}"
        wait_for(lambda: "redis_unreachable" in _open_alarms(hall, first), timeout=5)

        redis_server.start()
        back = time.monotonic()
        wait_for(lambda: set(numbers[1:6]) <= set(_heard(tv)), timeout=10)
        replayed_after_s = time.monotonic() - back

        time.sleep(2)  # the listeners are back by now: the next call travels live between processes
        called = hall.call_number(first, 2, numbers[6])
        wait_for(lambda: called["seq"] in live_seqs, timeout=3)  # not any late event: this call's, live
        wait_for(lambda: numbers[6] in _heard(tv), timeout=3)
        wait_for(lambda: "redis_unreachable" not in _open_alarms(hall, first), timeout=5)
        print(f"calls made while Redis was away shown {replayed_after_s:.1f} s after it came back")
    finally:
        listener.disconnect()
        context.close()
    server.stop()
    log = server.log()
    assert "Cannot publish to redis" not in log and "Cannot receive from redis" not in log
    assert log.count("redis unavailable") <= 2, f"one line per process and outage: {log[-3000:]}"


@dataclass
class Publishing:
    """A process's Redis manager behind a Socket.IO server, what another process hears of it, and a
    client that can pause Redis."""

    manager: Any
    server: socketio.Server
    listener: Any
    pauser: Any

    def emit(self, seqs: range) -> None:
        for seq in seqs:
            self.server.emit("hall_event", {"seq": seq}, to="hall:demo:staff")

    def pause(self, ms: int) -> None:
        self.pauser.execute_command("CLIENT", "PAUSE", ms, "ALL")  # Redis takes commands but answers none

    def seqs_heard(self, count: int, within_s: float = 10) -> list[int]:
        """The seqs of the next `count` events heard, as many as came within `within_s`."""
        heard: list[int] = []
        deadline = time.monotonic() + within_s
        while len(heard) < count and time.monotonic() < deadline:
            message = self.listener.get_message(timeout=0.5)
            if message:
                heard.append(self.manager.json.loads(message["data"])["data"][0]["seq"])
        return heard


@pytest.fixture
def publishing(redis_server):
    import redis

    from hall.outage import OutageLog
    from hall.realtime_redis import HallRedisManager

    manager = HallRedisManager(redis_server.url, OutageLog("redis", quiet_s=0))
    listener = redis.Redis.from_url(redis_server.url).pubsub(ignore_subscribe_messages=True)
    listener.subscribe(manager.channel_of("hall:demo:staff"))  # the hall's channel, not the common CHANNEL
    listener.get_message(timeout=1)
    pauser = redis.Redis.from_url(redis_server.url)
    try:
        yield Publishing(manager, socketio.Server(client_manager=manager, async_mode="threading"), listener, pauser)
    finally:
        pauser.execute_command("CLIENT", "UNPAUSE")
        listener.close()
        pauser.close()


@pytest.mark.redis
def test_a_process_sends_the_others_its_events_in_order_without_waiting_on_redis(publishing):
    """The events a process sends the others go out in the order they were sent, several to a round trip,
    and the sender (a request) returns at once, also while Redis does not answer."""
    publishing.emit(range(200))
    assert publishing.seqs_heard(200) == list(range(200))
    publishing.pause(1500)
    started = time.monotonic()
    publishing.emit(range(200, 210))
    assert time.monotonic() - started < 0.5
    assert publishing.seqs_heard(10) == list(range(200, 210))  # sent once Redis answers again


@pytest.mark.redis
def test_a_stopping_process_sends_the_others_what_it_still_holds_or_waits_no_longer_than_told(publishing):
    """`drain` (a worker's exit) returns once every queued event reached Redis, and gives up after its time
    when Redis does not answer."""
    publishing.emit(range(1))  # the publisher is running
    assert publishing.manager.drain(5)
    publishing.pause(400)
    paused = time.monotonic()
    publishing.emit(range(1, 11))
    assert publishing.manager.drain(5)  # Redis answers again within the time: everything went out
    assert time.monotonic() - paused >= 0.3  # it waited for Redis
    assert publishing.seqs_heard(12, within_s=1) == list(range(11))  # each once, none more
    publishing.pause(3000)
    publishing.emit(range(11, 12))
    started = time.monotonic()
    assert not publishing.manager.drain(0.3)
    assert time.monotonic() - started < 1.0


class _Process:
    """A server process's Redis manager, as the server runs it (listening), with one screen that joins rooms,
    and what its listener decoded and handed on."""

    def __init__(self, url: str) -> None:
        import json

        from hall.outage import OutageLog
        from hall.realtime_redis import HallRedisManager

        self.manager = HallRedisManager(url, OutageLog("redis", quiet_s=0))
        self.server = socketio.Server(client_manager=self.manager, async_mode="threading")
        self.decoded = 0
        self.handled: list[tuple[str, int]] = []
        self.manager.json = SimpleNamespace(dumps=json.dumps, loads=self._loads)
        self.manager._handle_emit = self._record
        self.manager.initialize()  # the listener, as a server's first connection starts it
        self.sid = self.manager.connect("screen", "/")

    def _record(self, message: dict) -> None:
        if message["host_id"] != self.manager.host_id:  # heard from Redis, not handled here as it was sent
            self.handled.append((message["room"], message["data"][0]["seq"]))

    def _loads(self, data):
        import json

        self.decoded += 1
        return json.loads(data)

    def emit(self, room: str, seq: int) -> None:
        self.server.emit("hall_event", {"seq": seq}, to=room)


@pytest.fixture
def processes(redis_server):
    yield _Process(redis_server.url), _Process(redis_server.url)


@pytest.mark.redis
def test_a_process_hears_only_the_rooms_its_screens_are_in_and_decodes_none_of_its_own_events(processes):
    """Each hall's room has its channel: a process hears a room's events only once one of its screens joined it
    (and from the moment the join returns), the rest on the common channel; its own events it gets from Redis
    too (it listens to the room) but does not decode them."""
    import redis

    sender, receiver = processes
    receiver.manager.enter_room(receiver.sid, "/", "hall:demo:public")
    counter = redis.Redis.from_url(sender.manager.redis_url)
    channel = receiver.manager.channel_of("hall:demo:public")
    assert receiver.manager.channel_of("hall:demo:staff") not in (channel, receiver.manager.channel)
    from hall.realtime import public_room, staff_room
    assert (receiver.manager.channel_of(public_room("demo")), receiver.manager.channel_of(staff_room("demo"))) == (
        channel, receiver.manager.channel_of("hall:demo:staff"))  # the rooms hall.realtime names
    assert dict(counter.pubsub_numsub(channel)) == {channel.encode(): 1}  # subscribed once the join returned
    sender.emit("hall:south:public", 1)  # a hall none of whose screens the receiver holds
    sender.emit("hall:demo:staff", 2)  # the hall's staff room: no counter screen of it on the receiver
    receiver.emit("hall:demo:public", 3)  # its own
    sender.emit("hall:demo:public", 4)
    sender.emit("ticket:abc", 5)  # a visitor's phone may be on any process
    wait_for(lambda: len(receiver.handled) >= 2, timeout=5)
    time.sleep(0.3)
    assert receiver.handled == [("hall:demo:public", 4), ("ticket:abc", 5)]
    assert receiver.decoded == 2
    counter.close()


def _listeners(url: str, *rooms: str) -> list[int]:
    """How many processes listen to each room's channel."""
    import redis

    from hall.realtime_redis import CHANNEL

    counter = redis.Redis.from_url(url)
    try:
        return [count for _channel, count in counter.pubsub_numsub(*(f"{CHANNEL}:{room}" for room in rooms))]
    finally:
        counter.close()


@pytest.mark.redis
def test_a_process_listens_to_the_halls_it_still_holds_again_when_redis_is_back(processes, redis_server):
    """Redis restarted: the listener subscribes again to the rooms its screens are in (not to one they left
    before or during the outage), and their events come once more."""
    sender, receiver = processes
    for room in ("hall:north:staff", "hall:south:public", "hall:west:public"):
        receiver.manager.enter_room(receiver.sid, "/", room)
    receiver.manager.leave_room(receiver.sid, "/", "hall:south:public")
    redis_server.stop()
    receiver.manager.leave_room(receiver.sid, "/", "hall:west:public")  # while Redis is away
    redis_server.start()
    wait_for(lambda: _listeners(redis_server.url, "hall:north:staff") == [1], timeout=5)
    assert _listeners(redis_server.url, "hall:south:public", "hall:west:public") == [0, 0]
    sender.emit("hall:west:public", 6)
    sender.emit("hall:north:staff", 7)
    wait_for(lambda: receiver.handled == [("hall:north:staff", 7)], timeout=5)


@pytest.mark.redis
def test_a_process_stops_hearing_a_room_when_its_last_screen_there_leaves_and_hears_it_again_at_the_next_join(
        processes, redis_server):
    """A room's channel is listened to while a screen of this process is in the room: not after the last one
    left or disconnected (so nobody counts as a listener for the hall's waiting turn either). A screen joining
    right after a leave (the UNSUBSCRIBE still on its way) gets every event sent once its join returned."""
    sender, receiver = processes
    room = "hall:lately:public"  # of no other test's processes (their listeners stay on)
    other = receiver.manager.connect("screen 2", "/")
    receiver.manager.enter_room(receiver.sid, "/", room)
    receiver.manager.enter_room(other, "/", room)
    receiver.manager.leave_room(receiver.sid, "/", room)
    assert _listeners(redis_server.url, room) == [1]  # one screen still in the room
    receiver.manager.disconnect(other, "/", ignore_queue=True)
    wait_for(lambda: _listeners(redis_server.url, room) == [0], timeout=5)
    sender.emit(room, 0)  # nobody here listens
    assert sender.manager.drain(5)
    for seq in range(1, 31):
        receiver.manager.enter_room(receiver.sid, "/", room)
        sender.emit(room, seq)
        assert sender.manager.drain(5)  # published (Redis handed it to the listeners) before the screen leaves
        receiver.manager.leave_room(receiver.sid, "/", room)
    receiver.manager.enter_room(receiver.sid, "/", room)
    sender.emit(room, 31)
    wait_for(lambda: len(receiver.handled) >= 31, timeout=5)
    time.sleep(0.3)
    heard = [seq for _room, seq in receiver.handled]
    assert heard[-1] == 31 and 0 not in heard and sorted(set(heard)) == heard
    assert set(range(1, 31)) - set(heard) == set(), "an event sent once a join returned was not heard"
    assert _listeners(redis_server.url, room) == [1]


@pytest.mark.redis
def test_a_halls_waiting_turn_is_taken_only_while_some_process_listens_to_its_public_room(redis_server):
    """No public screen of the hall on any process (nobody listens to its public room's channel): no turn, so
    nothing is read or sent; once one listens, the turn is taken, and then held."""
    import redis

    from hall.realtime_waiting import HELD, NOBODY, TAKEN, Turns

    turns = Turns(redis_server.url, 1.0, send_later=None)
    channel = "flask-socketio:hall:east:public"
    assert turns.ask("east", channel, 1, True).turn == NOBODY
    assert turns.redis.get(Turns.keys("east")[0]) is None
    screen = redis.Redis.from_url(redis_server.url).pubsub()
    screen.subscribe(channel)
    wait_for(lambda: screen.get_message(timeout=0.1) is not None)
    assert turns.ask("east", channel, 1, True).turn == TAKEN
    assert turns.ask("east", channel, 2, True).turn == HELD
    screen.close()
    turns.redis.close()


@pytest.mark.redis
def test_a_held_turn_is_kept_while_the_hall_is_busy_and_its_holder_reads_for_the_seq_another_process_found_it_held_for(
        redis_server):
    """A process finding the turn held records its seq in the same round trip; the holder's give-back, at the end of
    the interval, keeps the turn (some process had events) and has it read the counts if that seq or its own last
    event is newer than its last read, gives it back when the hall was quiet. An ask for events no newer than the
    last message's seq is answered SHOWN, whoever holds the turn."""
    import redis

    from hall.realtime_waiting import DONE, HELD, KEEP, LAST, LOST, SHOWN, TAKEN, Answer, Turns

    client = redis.Redis.from_url(redis_server.url)
    holder, other = (Turns(redis_server.url, 1.0, client.execute_command) for _ in range(2))
    channel = "flask-socketio:hall:west:public"
    screen = client.pubsub()
    screen.subscribe(channel)
    wait_for(lambda: screen.get_message(timeout=0.1) is not None)
    turn, _sent, asked = Turns.keys("west")
    try:
        assert holder.ask("west", channel, 5, True).turn == TAKEN
        found = other.ask("west", channel, 7, True)
        assert found.turn == HELD and 2000 < found.left_ms <= 3000
        assert holder.give_back("west", channel, read=0, noted=5, busy=False) == KEEP  # the other asked: busy
        holder.sent("west", 7)  # it read at 7
        assert other.ask("west", channel, 7, False) == Answer(SHOWN, 7, 0)
        assert other.ask("west", channel, 8, False).turn == HELD  # only whether it was shown: nothing recorded
        assert client.get(asked) is None
        assert holder.give_back("west", channel, read=7, noted=7, busy=True) == DONE  # nothing newer than the read
        assert client.get(turn) is None
        assert other.ask("west", channel, 9, True).turn == TAKEN
        assert other.give_back("west", channel, read=0, noted=9, busy=False) == LAST  # quiet: given back, read once
        assert holder.ask("west", channel, 10, True).turn == TAKEN
        assert other.give_back("west", channel, read=9, noted=11, busy=True) == LOST  # not its turn: it stays
        assert client.get(turn) == holder.token.encode()
        assert holder.give_back("west", channel, read=0, noted=10, busy=True) == KEEP
        assert client.pttl(turn) > 2000
    finally:
        client.delete(*Turns.keys("west"))
        screen.close()
        client.close()


@pytest.mark.redis
def test_a_turn_whose_holder_died_expires_and_the_process_that_found_it_held_takes_it(redis_server):
    """The holder never gives the turn back: it expires TURN_EXPIRES intervals after it was taken, and the next ask
    of the process that found it held (for events its message was to show) takes it, to send them itself."""
    import redis

    from hall.realtime_waiting import HELD, TAKEN, TURN_EXPIRES, Turns

    client = redis.Redis.from_url(redis_server.url)
    died, other = (Turns(redis_server.url, 0.2, client.execute_command) for _ in range(2))
    channel = "flask-socketio:hall:north:public"
    screen = client.pubsub()
    screen.subscribe(channel)
    wait_for(lambda: screen.get_message(timeout=0.1) is not None)
    try:
        assert died.ask("north", channel, 3, True).turn == TAKEN
        found = other.ask("north", channel, 4, True)
        assert found.turn == HELD and found.left_ms <= TURN_EXPIRES * 200
        time.sleep(found.left_ms / 1000 + 0.05)
        assert other.ask("north", channel, 4, False).turn == TAKEN
    finally:
        client.delete(*Turns.keys("north"))
        screen.close()
        client.close()


@pytest.mark.redis
def test_an_events_packet_is_not_searched_for_bytes_again(publishing):
    """python-socketio's emit looks for bytes in an event once, and a message from another process is JSON:
    the packet for this process's screens is built without walking the data again, and is the same."""
    from hall.realtime_redis import HallRedisManager

    manager, server = publishing.manager, publishing.server
    manager.enter_room(manager.connect("screen", "/"), "/", "hall:demo:staff")
    searched, sent = [], []

    class Counted(server.packet_class):
        @classmethod
        def data_is_binary(cls, data):
            searched.append(data)
            return super().data_is_binary(data)

    server.packet_class = Counted
    server._send_eio_packet = lambda eio_sid, pkt: sent.append(pkt.data)  # no Engine.IO session here
    event = {"seq": 1, "ticket": {"number": "A001", "counter": 2}}
    server.emit("hall_event", event, to="hall:demo:staff")  # this process's own event
    heard = {"method": "emit", "event": "hall_event", "data": [{**event, "seq": 2}], "binary": False,
             "namespace": "/", "room": "hall:demo:staff", "skip_sid": None, "callback": None, "host_id": "other"}
    HallRedisManager._handle_emit(manager, manager.json.loads(manager.json.dumps(heard)))  # another's, from Redis
    assert searched == []
    assert sent == ['2["hall_event",{"seq":1,"ticket":{"number":"A001","counter":2}}]',
                    '2["hall_event",{"seq":2,"ticket":{"number":"A001","counter":2}}]']
    server.emit("clip", b"\x00\x01", to="hall:demo:staff")  # bytes: python-socketio's own way, as before
    assert sent[2:] == ['51-["clip",{"_placeholder":true,"num":0}]', b"\x00\x01"]
    assert publishing.seqs_heard(1) == [1]  # the others got the own event (not the one heard)


@pytest.mark.redis
def test_a_process_encodes_its_messages_to_the_others_without_an_app_context_each(publishing):
    """Flask-SocketIO's JSON pushes an app context for every message it encodes; the messages between processes
    are the stdlib's JSON (dates as Flask writes them), heard as sent."""
    from datetime import datetime, timezone

    from flask import Flask, appcontext_pushed
    from flask_socketio import SocketIO

    app = Flask(__name__)
    SocketIO(app, client_manager=publishing.manager, async_mode="threading")
    pushed = []
    appcontext_pushed.connect(pushed.append, app)
    at = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)
    for seq in range(5):
        publishing.manager.emit("hall_event", {"seq": seq, "at": at}, namespace="/", room="hall:demo:staff")
    assert publishing.seqs_heard(5) == list(range(5))
    assert pushed == []
    message = publishing.manager.json.dumps({"at": at})
    assert publishing.manager.json.loads(message) == {"at": "Tue, 01 Dec 2026 03:00:00 GMT"}  # as Flask's JSON
