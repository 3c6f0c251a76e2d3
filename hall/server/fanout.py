"""One event to many screens: each event's websocket frame is built once, and the events
committed while a fan-out runs go out together, one write per screen.

python-socketio encodes a room's packet once, but then, per screen, queued it, woke that screen's
writer greenlet, framed the message again with wsproto and wrote it: in a profile of 1 000
screens the writers, the hub's switches and the queueing took over half of the server's time, the
send itself a fifth of it (bench/RESULTS.md). Here the frame is written straight to every screen
whose connection is idle, with one non-blocking send. A screen whose connection is not idle (its
writer is busy, packets are queued, it is still upgrading, or it is on long-polling) gets the
packets through its queue as before, so each screen still receives every packet once and in order,
and a stalled screen never holds up the others: a send that does not fit in its socket buffer
leaves the rest to that screen's own writer, whose queue is bounded (hall/server/live.py).

Under gevent an emit notes the event and, if no fan-out is on its way, starts one; once all the
copies of a hall event are noted the emitting request yields to it (`let_fan_out_run`): the
greenlets that were ready to run before it (under load: other requests committing their own
events) go first and note theirs, then the fan-out takes every event noted and writes each
screen all of its frames at once, and only then does the emitting request go on. An idle server
adds no delay; under load (16 kiosks issuing beside 2 000 screens) one write per screen carries
several events, and a long-polling screen gets them in one poll answer. Anything else sent to a client (an ack such as
a snapshot answer, a disconnect) first writes out the events noted before it, so a screen gets
its packets in the order they were sent.
"""
from __future__ import annotations

import struct
from typing import Any, Iterable, NamedTuple

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

FIN_TEXT, FIN_BINARY = 0x81, 0x82
#: The websocket connections the fan-out may write to directly, by Engine.IO session
#: (hall/server/websocket.py registers them; empty outside gevent server processes).
OPEN_WEBSOCKETS: dict[str, Any] = {}


def websocket_frame(message: str | bytes) -> bytes:
    """An unmasked, unfragmented server frame (RFC 6455 §5.2) carrying the whole message."""
    if isinstance(message, str):
        first, payload = FIN_TEXT, message.encode()
    else:
        first, payload = FIN_BINARY, bytes(message)
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


class FrameTail:
    """What did not fit in a screen's socket buffer: its writer sends these bytes as they are.

    Queued like an Engine.IO packet (the writer sends `pkt.encode()`), so it goes out before
    anything queued after it.
    """

    __slots__ = ("data",)
    packet_type = eio_packet.MESSAGE

    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self, b64: bool = False) -> "FrameTail":
        return self


class NotedEvent(NamedTuple):
    """An emitted event waiting for the fan-out: its audience, its packet and its frame."""
    namespace: str
    room: Any
    skip: list
    packet: eio_packet.Packet
    frame: bytes


class FanOutManager(socketio.Manager):
    """Client manager that writes each emitted event's frame once to every idle websocket, the
    events emitted meanwhile together (under gevent)."""

    def __init__(self) -> None:
        super().__init__()
        self.noted: list[NotedEvent] = []
        self.fan_out_started = False

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        self.coalesce = server.eio.async_mode == "gevent"
        for name in ("_send_packet", "_send_eio_packet"):  # acks, connects, disconnects …
            setattr(server, name, self._after_noted_events(getattr(server, name)))

    def _after_noted_events(self, send: Any) -> Any:
        def send_after_noted_events(*args: Any) -> Any:
            if self.noted:
                self.write_noted()
            return send(*args)
        return send_after_noted_events

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *arguments]).encode()
        if isinstance(encoded, list):  # binary attachments: several packets, python-socketio's own way
            super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        noted = NotedEvent(namespace, room, skip_sid if isinstance(skip_sid, list) else [skip_sid], pkt,
                           websocket_frame(pkt.encode()))
        if not self.coalesce:  # threads (tests, `flask run`): written at once by the emitting thread
            self._write([noted])
            return
        self.noted.append(noted)
        if not self.fan_out_started:
            import gevent

            self.fan_out_started = True
            gevent.spawn(self._fan_out)

    def let_fan_out_run(self) -> None:
        """Yield to the fan-out on its way, so the events this greenlet noted go out now rather
        than after the rest of its request (called once all of an event's emits are noted: a
        yield between them would let a later event's copies overtake the rest)."""
        if self.fan_out_started:
            import gevent

            gevent.sleep(0)

    def _fan_out(self) -> None:
        self.fan_out_started = False
        self.write_noted()

    def write_noted(self) -> None:
        """Write out every event noted so far (never waits: the sends do not block)."""
        events, self.noted = self.noted, []
        if events:
            self._write(events)

    def _write(self, events: list[NotedEvent]) -> None:
        if len(events) == 1:
            event = events[0]
            for eio_sid in self._audience(event):
                self._write_one(eio_sid, event.frame, events)
            return
        per_screen: dict[str, list[NotedEvent]] = {}
        for event in events:
            for eio_sid in self._audience(event):
                per_screen.setdefault(eio_sid, []).append(event)
        frames: dict[tuple[int, ...], bytes] = {}  # most screens get the same events: joined once
        for eio_sid, screen_events in per_screen.items():
            key = tuple(map(id, screen_events))
            joined = frames.get(key)
            if joined is None:
                joined = frames[key] = b"".join(event.frame for event in screen_events)
            self._write_one(eio_sid, joined, screen_events)

    def _audience(self, event: NotedEvent) -> Iterable[str]:
        skip = event.skip
        return (eio_sid for sid, eio_sid in self.get_participants(event.namespace, event.room) if sid not in skip)

    def _write_one(self, eio_sid: str, frames: bytes, events: list[NotedEvent]) -> None:
        websocket = OPEN_WEBSOCKETS.get(eio_sid)
        if websocket is None or not websocket.write_now(frames):
            for event in events:
                self.server._send_eio_packet(eio_sid, event.packet)
