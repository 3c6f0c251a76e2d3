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
screen all of its frames at once. An idle server adds no delay; under load (16 kiosks issuing
beside 2 000 screens) one write per screen carries several events, and a long-polling screen
gets them in one poll answer. A request that noted nothing, or whose events wait for a fan-out
already between slices, does not yield: it would only wait behind every request ready meanwhile.

A large fan-out is written a slice at a time, the loop running other greenlets in between, so
requests are not held for the whole of it: the emitting request goes on after the first slice. A
slice ends when it has held the loop for `SLICE_S` (the clock read every `CLOCK_EVERY` screens),
not after a number of screens: a screen's write costs 6-10 µs on a quiet machine but several
times that on a busy one, or when a young-generation collection falls in the slice, and 250
screens a slice then held the loop 10-20 ms (bench/RESULTS.md). Each screen still gets its
packets in the order they were sent:
- events noted while a fan-out is on its way wait for it to end, then go out together;
- anything else sent to a client (an ack such as a snapshot answer, a disconnect) first writes
  that screen what it has still to get: its share of the fan-out on its way if not reached yet,
  then the events noted since (which the next fan-out then skips for it).
"""
from __future__ import annotations

import functools
import struct
import time
from typing import Any, NamedTuple

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
    """An emitted event waiting for the fan-out: its audience, its packet and its frame, and the
    screens that already got it ahead of the fan-out (something else had to be sent to them)."""
    namespace: str
    room: Any
    skip: list
    packet: eio_packet.Packet
    frame: bytes
    written: set


#: Seconds of the loop one slice of a fan-out may take before it lets other greenlets run
#: (the first slice's include planning who gets what).
SLICE_S = 0.002
#: Screens written between two looks at the clock (each slice writes at least these).
CLOCK_EVERY = 32


class FanOutManager(socketio.Manager):
    """Client manager that writes each emitted event's frame once to every idle websocket, the
    events emitted meanwhile together, a slice at a time (under gevent)."""

    def __init__(self) -> None:
        super().__init__()
        self.noted: list[NotedEvent] = []
        #: The fan-out on its way: what each screen it has not reached yet is still to get.
        self.unwritten: dict[str, tuple[bytes, list[NotedEvent]]] = {}
        self.fan_out_started = False
        #: The greenlet that noted the last event no fan-out has taken yet.
        self.noter: Any = None

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        self.coalesce = server.eio.async_mode == "gevent"
        for name in ("_send_packet", "_send_eio_packet"):  # acks, connects, disconnects …
            setattr(server, name, self._after_pending_events(getattr(server, name)))

    def _after_pending_events(self, send: Any) -> Any:
        @functools.wraps(send)  # __wrapped__: the send itself, for the fan-out's own packets
        def send_after_pending_events(eio_sid: str, *args: Any) -> Any:
            if self.unwritten or self.noted:
                self.write_pending(eio_sid)
            return send(eio_sid, *args)
        return send_after_pending_events

    def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
             callback: Any = None, to: Any = None, binary: bool | None = None, **kwargs: Any) -> None:
        """`binary`: whether the data holds bytes, when the caller knows (None: the packet looks)."""
        room = to or room
        if callback is None and isinstance(room, str) and not self.rooms.get(namespace, {}).get(room):
            return  # nobody in the room here (a hall none of whose screens is on this process): nothing to build
        if callback is not None or namespace not in self.rooms:
            super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
            return
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *arguments],
                                           binary=binary).encode()
        if isinstance(encoded, list):  # binary attachments: several packets, python-socketio's own way
            super().emit(event, data, namespace, room=room, skip_sid=skip_sid, **kwargs)
            return
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        noted = NotedEvent(namespace, room, skip_sid if isinstance(skip_sid, list) else [skip_sid], pkt,
                           websocket_frame(pkt.encode()), set())
        if not self.coalesce:  # threads (tests, `flask run`): written at once by the emitting thread
            self._write(self._plan([noted]))
            return
        import gevent

        self.noted.append(noted)
        self.noter = gevent.getcurrent()
        if not self.fan_out_started:
            self.fan_out_started = True
            gevent.spawn(self._fan_out)

    def let_fan_out_run(self) -> None:
        """Yield to the fan-out about to begin, so the events this greenlet noted go out now rather
        than after the rest of its request (called once all of an event's emits are noted: a
        yield between them would let a later event's copies overtake the rest). The request goes
        on after the fan-out's first slice of screens.

        A request that noted nothing (an issue no screen of this process hears), or whose events
        wait for a fan-out already between its slices, keeps its turn: yielding would not bring
        its events out sooner, and under load it would wait behind every request ready meanwhile.
        """
        if self.noter is None or self.unwritten:
            return
        import gevent

        if self.noter is gevent.getcurrent():
            gevent.sleep(0)

    def _fan_out(self) -> None:
        """Write every event noted, a slice at a time; the events noted meanwhile go
        out after it, so each screen gets them after the earlier ones."""
        import gevent

        while self.noted:
            until = time.perf_counter() + SLICE_S
            events, self.noted, self.noter = self.noted, [], None
            self.unwritten = self._plan(events)
            while self.unwritten:
                self._write(self.unwritten, until)
                if self.unwritten:
                    gevent.sleep(0)
                    until = time.perf_counter() + SLICE_S
        self.fan_out_started = False

    def write_pending(self, eio_sid: str) -> None:
        """Write one screen what the fan-out has still to give it, before anything else is sent to
        it: its share of the fan-out on its way, then of the events noted since."""
        pending = self.unwritten.pop(eio_sid, None)
        if pending is not None:
            self._write({eio_sid: pending})
        events = [event for event in self.noted if self._reaches(event, eio_sid)]
        if events:
            for event in events:
                event.written.add(eio_sid)
            self._write({eio_sid: (b"".join(event.frame for event in events), events)})

    def _reaches(self, event: NotedEvent, eio_sid: str) -> bool:
        if eio_sid in event.written:
            return False
        sid = self.sid_from_eio_sid(eio_sid, event.namespace)
        if sid is None or sid in event.skip:
            return False
        rooms = self.rooms.get(event.namespace, {})
        names = event.room if isinstance(event.room, (list, tuple)) else [event.room]
        return any(sid in rooms.get(name, ()) for name in names)

    def _plan(self, events: list[NotedEvent]) -> dict[str, tuple[bytes, list[NotedEvent]]]:
        """Each screen's frames (the events it is to get, joined) and events."""
        if len(events) == 1:
            event = events[0]
            whole = (event.frame, events)
            return {eio_sid: whole for eio_sid in self._audience(event)}
        per_screen: dict[str, list[NotedEvent]] = {}
        for event in events:
            for eio_sid in self._audience(event):
                per_screen.setdefault(eio_sid, []).append(event)
        frames: dict[tuple[int, ...], bytes] = {}  # most screens get the same events: joined once
        plan = {}
        for eio_sid, screen_events in per_screen.items():
            key = tuple(map(id, screen_events))
            joined = frames.get(key)
            if joined is None:
                joined = frames[key] = b"".join(event.frame for event in screen_events)
            plan[eio_sid] = (joined, screen_events)
        return plan

    def _audience(self, event: NotedEvent) -> list[str]:
        skip, written = event.skip, event.written
        return [eio_sid for sid, eio_sid in self.get_participants(event.namespace, event.room)
                if sid not in skip and eio_sid not in written]

    def _write(self, plan: dict[str, tuple[bytes, list[NotedEvent]]], until: float | None = None) -> None:
        """Write (and take out of `plan`) the screens' frames: all of them, or (`until`: a
        time.perf_counter() deadline) groups of CLOCK_EVERY screens until the deadline has passed."""
        now = time.time()
        websockets, ping_timeout = OPEN_WEBSOCKETS, self.server.eio.ping_timeout
        while plan:
            for _ in range(min(CLOCK_EVERY, len(plan))):
                eio_sid, (frames, events) = plan.popitem()
                websocket = websockets.get(eio_sid)
                if websocket is None or not websocket.write_now(frames, now, ping_timeout):
                    self._queue(eio_sid, events)
            if until is not None and time.perf_counter() >= until:
                return

    def _queue(self, eio_sid: str, events: list[NotedEvent]) -> None:
        """The events through the screen's queue: its writer, or its next poll, sends them."""
        send = self.server._send_eio_packet  # unless a test client stands in for it, the send itself:
        send = getattr(send, "__wrapped__", send)  # these packets are in order already
        for event in events:
            send(eio_sid, event.packet)
