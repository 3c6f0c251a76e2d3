"""Redis between server processes, kept short of surprises when Redis goes away.

python-socketio's RedisManager listens again after 1, 2, 4 … up to 60 s, so events were
lost for up to a minute after Redis came back, and it logs an error for every event it
cannot publish. This manager listens again every half second, tells each outage once
(hall/outage.py), raises the monitor's `redis_unreachable` alarm at once, and when the
listener is back tells this process's screens to ask what they missed (`catch_up`): the
events published while Redis was away are lost for good, their calls are not (hall/replay.py).

What a process sends the others goes through one publisher per process (a greenlet under gevent), which
sends whatever has queued since its last round trip in one pipeline: an event's request does not
wait on Redis (its own screens get it at once, from this process), and under load one round trip
carries several events, in the order they were sent. Other writes that need no answer (the waiting
counts' record of what was sent, hall/realtime_waiting.py) ride in the same round trip (`send_later`).

A hall's rooms (its public screens, its staff screens) get their events on a channel of the room's own,
which a process listens to from the moment one of its screens joins that room: a process hears only
the halls whose screens it holds (a hall's screens are usually on one or two processes), and of those
only what its screens get (an issue goes to the staff room alone: a process holding only the hall's
lobby displays does not hear it). The screen's connect is answered only once Redis has confirmed the
subscription, so every event committed after the snapshot the screen then asks for reaches it. When the last
of a room's screens here leaves, the process stops listening to the room's channel (and, for a public room,
stops counting as a listener for the hall's waiting counts' turn). Everything else (a visitor's
ticket room, a staff member's room, disconnects) goes on the common channel every process hears.
A process does not decode the messages it hears of its own (python-socketio would drop them anyway).
"""
from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from typing import Any, Callable, Iterator

import socketio
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from sqlalchemy import select

from hall.alarms import scan_hall
from hall.extensions import db, socketio as flask_socketio
from hall.models import Hall
from hall.outage import OutageLog
from hall.server.fanout import FanOutManager
from hall.unavailable import DATABASE_ERRORS, note_failure

#: Seconds between attempts to listen again while Redis is away.
RETRY_S = 0.5
#: Channel of Flask-SocketIO's own Redis manager, heard by every process: what is not for one hall's rooms.
CHANNEL = "flask-socketio"
#: A hall's rooms (hall.realtime.public_room / staff_room): their events go on a channel of the room's own.
HALL_ROOM = re.compile(r"hall:.+:(?:public|staff)")
#: A Redis that does not answer a connection within this long counts as away (a request waits no longer).
CONNECT_TIMEOUT_S = 1.0


class MessageJSON:
    """The JSON of the messages between processes: the stdlib's, with Flask's handling of dates, decimals and
    the like, without the app context Flask-SocketIO's own JSON wrapper pushes for every message."""

    @staticmethod
    def dumps(message: Any) -> str:
        return json.dumps(message, default=DefaultJSONProvider.default)

    loads = staticmethod(json.loads)


class HallRedisManager(socketio.RedisManager, FanOutManager):
    """RedisManager that reconnects within a second, logs an outage once and reports its changes.

    What it hears from Redis (and what this process emits) goes out through FanOutManager."""

    def __init__(self, url: str, outage: OutageLog, on_change: Callable[[bool], Any] | None = None) -> None:
        super().__init__(url, channel=CHANNEL, redis_options={"socket_connect_timeout": CONNECT_TIMEOUT_S})
        self.outage = outage
        self.on_change = on_change or (lambda _down: None)
        #: Redis commands for the publisher (PUBLISH of a message for the other processes, with its channel,
        #: encoded; writes whose answer nobody waits for), in the order they were sent.
        self.outbox: deque[tuple[Any, ...]] = deque()
        self.outbox_filled = threading.Event()
        self.publisher: Any = None
        #: Whether the publisher has a batch out of the outbox and not yet sent.
        self.sending = False
        #: The rooms' channels this process listens to, each with whether Redis confirmed it (set by the listener).
        self.room_channels: dict[str, threading.Event] = {}
        #: SUBSCRIBEs sent on the listener's subscription and not yet answered, per channel: a join is confirmed
        #: by the answer to the last one (the answer to one sent before an UNSUBSCRIBE confirms nothing).
        self.unanswered: dict[str, int] = {}
        #: Held while the rooms' channels, their answers or the subscription change: a join and a leave of the same
        #: room go to Redis in the order they were decided in.
        self.subscribing = threading.Lock()
        #: The listener's subscription (None until it is connected).
        self.listening: Any = None

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        self.json = MessageJSON

    def _failed(self, error: Exception) -> None:
        self.connected = False
        if self.outage.failed(error):
            self.on_change(True)

    def _publish(self, data):
        """Queue the message for the process's publisher: the sender (a request) does not wait on Redis,
        and the messages queued meanwhile (other requests' events) go out together, in order."""
        channel = self.channel_of(data.get("room")) if data.get("method") == "emit" else self.channel
        self.send_later("PUBLISH", channel, self.json.dumps(data))

    def send_later(self, *command: Any) -> None:
        """Queue a Redis command whose answer nobody waits for: it goes out with the publisher's next round
        trip, after the messages published before it (lost, as they are, while Redis is away)."""
        self.outbox.append(command)
        if self.publisher is None:
            self.publisher = self.server.start_background_task(self._publish_queued)
        self.outbox_filled.set()

    def _publish_queued(self) -> None:
        """The publisher: sends the outbox in one round trip whenever it has messages, one batch after the other."""
        while True:
            self.outbox_filled.wait()
            self.outbox_filled.clear()
            while self.outbox:
                self.sending = True
                batch = [self.outbox.popleft() for _ in range(len(self.outbox))]
                self._send(batch)
            self.sending = False

    def drain(self, timeout_s: float) -> bool:
        """Wait, at most `timeout_s`, until the publisher has sent everything queued; whether it has. A
        process that stops gives the others its last events rather than leave their screens to find the gap."""
        deadline = time.monotonic() + timeout_s
        while self.outbox or self.sending:
            if time.monotonic() >= deadline:
                return False
            self.server.sleep(0.01)
        return True

    def _send(self, commands: list[tuple[Any, ...]]) -> None:
        """Send the commands in one round trip (lost, with the outage told once, if Redis is away)."""
        for attempt in (1, 2):  # a connection Redis dropped is opened again once
            try:
                if not self.connected:
                    self._redis_connect()
                pipeline = self.redis.pipeline(transaction=False)
                for command in commands:
                    pipeline.execute_command(*command)
                pipeline.execute()
                self._reachable()
                return
            except Exception as error:  # redis-py raises several kinds; none may stop the publisher
                if attempt == 1:
                    self.connected = False
                else:
                    self._failed(error)

    def _handle_emit(self, message: dict[str, Any]) -> None:
        """An event for this process's screens (sent here, or heard from another process): python-socketio's
        emit looked for bytes in it once (the message's `binary`; JSON from another process holds none), so its
        packet is built without walking the data again."""
        if message.get("binary") or message.get("callback") is not None:
            super()._handle_emit(message)
            return
        data = message["data"]
        FanOutManager.emit(self, message["event"], data[0] if len(data) == 1 else tuple(data),
                           namespace=message.get("namespace"), room=message.get("room"),
                           skip_sid=message.get("skip_sid"), binary=False)

    def channel_of(self, room: Any) -> str:
        """The channel of a message to `room`: the room's own for a hall's room, else the common one."""
        return f"{self.channel}:{room}" if isinstance(room, str) and HALL_ROOM.fullmatch(room) else self.channel

    def enter_room(self, sid, namespace, room, eio_sid=None):
        """A screen of this process joins a room: a hall's room is heard from the other processes from
        now on (returns once Redis confirmed it, or after CONNECT_TIMEOUT_S: Redis away, the screen is
        told to catch up once it is back)."""
        here = self.is_connected(sid, namespace) or self.is_pre_connected(sid, namespace)
        super().enter_room(sid, namespace, room, eio_sid=eio_sid)
        channel = self.channel_of(room)
        if here and channel != self.channel:
            self.hear(channel)

    def hear(self, channel: str) -> bool:
        """Listen to a hall's room's channel (while a screen here is in the room); whether Redis confirmed it."""
        with self.subscribing:
            confirmed = self.room_channels.get(channel)
            if confirmed is None:
                confirmed = self.room_channels[channel] = threading.Event()
                listening = self.listening
                if listening is not None:  # else the listener subscribes to it when it connects
                    self.unanswered[channel] = self.unanswered.get(channel, 0) + 1
                    self._tell(listening.subscribe, channel)
        return confirmed.wait(CONNECT_TIMEOUT_S)

    def basic_leave_room(self, sid, namespace, room):
        """A screen leaves a room (or disconnects): the last of a hall's room here stops listening to its channel."""
        super().basic_leave_room(sid, namespace, room)
        channel = self.channel_of(room)
        if channel not in self.room_channels:
            return
        with self.subscribing:
            if channel in self.room_channels and not any(room in rooms for rooms in self.rooms.values()):
                del self.room_channels[channel]  # a screen joining from now on subscribes again, after this
                listening = self.listening
                if listening is not None:  # else the listener, when it connects, subscribes only the rooms held
                    self._tell(listening.unsubscribe, channel)

    def _tell(self, subscription: Callable[[str], Any], channel: str) -> None:
        """(Un)subscribe the listener's subscription to a channel. Redis away: the listener subscribes again to
        the rooms held once it is back."""
        try:
            subscription(channel)
        except Exception as error:
            self._failed(error)

    def _listen(self) -> Iterator[bytes]:
        """The messages of the channels listened to that other processes sent, as Redis gave them."""
        own, callback = (self.json.dumps(pair)[1:-1].encode()  # as the server's JSON module writes them
                         for pair in ({"host_id": self.host_id}, {"method": "callback"}))
        for message in self._redis_listen_with_retries():
            kind = message["type"]
            if kind == "message":
                data = message["data"]
                if own not in data or callback in data:  # a callback names the process it goes back to
                    yield data
            elif kind == "subscribe":
                self._answered(message["channel"].decode())

    def _answered(self, channel: str) -> None:
        """Redis answered a SUBSCRIBE: once it answered the last one sent, the channel's joins are confirmed."""
        with self.subscribing:
            unanswered = self.unanswered.pop(channel, 0) - 1
            if unanswered > 0:
                self.unanswered[channel] = unanswered
                return
            confirmed = self.room_channels.get(channel)
        if confirmed is not None:
            confirmed.set()

    def _redis_listen_with_retries(self):
        lost = False
        while True:
            try:
                with self.subscribing:
                    self.listening = None
                    for confirmed in self.room_channels.values():
                        confirmed.clear()
                    self.unanswered.clear()
                self._redis_connect()
                listening = self.redis.pubsub()  # its own: the publisher may connect again meanwhile
                listening.subscribe(self.channel)
                with self.subscribing:
                    self.listening = listening  # a room joined from now on subscribes itself …
                    if self.room_channels:  # … the ones held are subscribed here
                        self.unanswered.update(dict.fromkeys(self.room_channels, 1))
                        listening.subscribe(*self.room_channels)
                self._reachable()
                if lost:  # what other processes published meanwhile is gone: this process's screens ask for it
                    self.emit("catch_up", {}, namespace="/", ignore_queue=True)
                    lost = False
                yield from listening.listen()
            except Exception as error:
                lost = True
                self._failed(error)
                if self.listening is not None:
                    with contextlib.suppress(Exception):
                        self.listening.close()
                time.sleep(RETRY_S)

    def _reachable(self) -> None:
        """Redis answered: ends an outage."""
        if self.outage.succeeded():
            self.on_change(False)


def message_queue_options(app: Flask) -> dict[str, Any]:
    """Flask-SocketIO options for the `[redis] url` setting: this manager, or FanOutManager (one process)."""
    url = app.config["HALL"]["redis"]["url"] or None
    if url is None:
        return {"message_queue": None, "client_manager": FanOutManager()}
    outage = app.extensions["hall_redis_outage"] = OutageLog("redis", quiet_s=0)

    return {"message_queue": None,
            "client_manager": HallRedisManager(url, outage, lambda _down: _scan_alarms_soon(app))}


def _scan_alarms_soon(app: Flask) -> None:
    """Raise or clear `redis_unreachable` now rather than at the next housekeeping round."""
    def scan() -> None:
        with app.app_context():
            try:
                for hall_id in db.session.scalars(select(Hall.id).where(Hall.active.is_(True))).all():
                    scan_hall(hall_id)
            except DATABASE_ERRORS as error:
                if not note_failure(error):
                    raise
            finally:
                db.session.remove()

    flask_socketio.start_background_task(scan)
