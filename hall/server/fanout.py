"""One event to many screens: the websocket frame is built once per event and written straight
to every screen whose connection is idle.

python-socketio encodes a room's packet once, but then, per screen, queued it, woke that screen's
writer greenlet, framed the message again with wsproto and wrote it: in a profile of 1 000
screens the writers, the hub's switches and the queueing took over half of the server's time, the
send itself a fifth of it (bench/RESULTS.md). Here the emitting greenlet writes the ready frame
with one non-blocking send per screen. A screen whose connection is not idle (its writer is
busy, packets are queued, it is still upgrading, or it is on long-polling) gets the packet
through its queue as before, so each screen still receives every packet once and in order, and
a stalled screen never holds up the others: a send that does not fit in its socket buffer
leaves the rest of the frame to that screen's own writer, whose queue is bounded (hall/server/live.py).
"""
from __future__ import annotations

import struct
from typing import Any

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


class FanOutManager(socketio.Manager):
    """Client manager that writes each emitted event's frame once to every idle websocket."""

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
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        pkt = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        frame = websocket_frame(pkt.encode())
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            websocket = OPEN_WEBSOCKETS.get(eio_sid)
            if websocket is None or not websocket.write_now(frame):
                self.server._send_eio_packet(eio_sid, pkt)
