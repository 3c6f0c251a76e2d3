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
carries several events, in the order they were sent.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

import socketio
from flask import Flask
from sqlalchemy import select

from hall.alarms import scan_hall
from hall.extensions import db, socketio as flask_socketio
from hall.models import Hall
from hall.outage import OutageLog
from hall.server.fanout import FanOutManager
from hall.unavailable import DATABASE_ERRORS, note_failure

#: Seconds between attempts to listen again while Redis is away.
RETRY_S = 0.5
#: Channel of Flask-SocketIO's own Redis manager: processes of either kind understand each other.
CHANNEL = "flask-socketio"
#: A Redis that does not answer a connection within this long counts as away (a request waits no longer).
CONNECT_TIMEOUT_S = 1.0


class HallRedisManager(socketio.RedisManager, FanOutManager):
    """RedisManager that reconnects within a second, logs an outage once and reports its changes.

    What it hears from Redis (and what this process emits) goes out through FanOutManager."""

    def __init__(self, url: str, outage: OutageLog, on_change: Callable[[bool], Any] | None = None) -> None:
        super().__init__(url, channel=CHANNEL, redis_options={"socket_connect_timeout": CONNECT_TIMEOUT_S})
        self.outage = outage
        self.on_change = on_change or (lambda _down: None)
        #: Messages for the other processes, encoded, in the order they were sent: the publisher's.
        self.outbox: deque[str] = deque()
        self.outbox_filled = threading.Event()
        self.publisher: Any = None
        #: Whether the publisher has a batch out of the outbox and not yet sent.
        self.sending = False

    def _failed(self, error: Exception) -> None:
        self.connected = False
        if self.outage.failed(error):
            self.on_change(True)

    def _publish(self, data):
        """Queue the message for the process's publisher: the sender (a request) does not wait on Redis,
        and the messages queued meanwhile (other requests' events) go out together, in order."""
        self.outbox.append(self.json.dumps(data))
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

    def _send(self, messages: list[str]) -> None:
        """Publish the messages in one round trip (lost, with the outage told once, if Redis is away)."""
        for attempt in (1, 2):  # a connection Redis dropped is opened again once
            try:
                if not self.connected:
                    self._redis_connect()
                pipeline = self.redis.pipeline(transaction=False)
                for message in messages:
                    pipeline.publish(self.channel, message)
                pipeline.execute()
                self._reachable()
                return
            except Exception as error:  # redis-py raises several kinds; none may stop the publisher
                if attempt == 1:
                    self.connected = False
                else:
                    self._failed(error)

    def _redis_listen_with_retries(self):
        lost = False
        while True:
            try:
                self._redis_connect()
                self.pubsub.subscribe(self.channel)
                self._reachable()
                if lost:  # what other processes published meanwhile is gone: this process's screens ask for it
                    self.emit("catch_up", {}, namespace="/", ignore_queue=True)
                    lost = False
                yield from self.pubsub.listen()
            except Exception as error:
                lost = True
                self._failed(error)
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
