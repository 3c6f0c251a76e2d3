"""Screens on real sockets inside the test's own gevent loop, without an HTTP server.

`WebSocketScreen` is a real Engine.IO session upgraded to the server's LiveWebSocket over a real
socket pair (a Unix socketpair, or a TCP connection over loopback like a real screen's); the
test holds the client's end and reads what the server wrote. `PollingScreen` is a session on
long-polling whose poll answers the test takes itself. Both joined to Socket.IO rooms through
the server's own manager, so the fan-out finds them as it finds real screens.
"""
from __future__ import annotations

import socket
from typing import Any

HANDSHAKE = {"HTTP_HOST": "hall", "HTTP_UPGRADE": "websocket", "HTTP_CONNECTION": "Upgrade",
             "HTTP_SEC_WEBSOCKET_KEY": "dGhlIHNhbXBsZSBub25jZQ==", "HTTP_SEC_WEBSOCKET_VERSION": "13"}


def live_engineio(eio: Any) -> None:
    """The server process's Engine.IO classes: bounded queues and LiveWebSocket (as hall/wsgi.py)."""
    from hall.server.live import bounded_packet_queue
    from hall.server.websocket import LiveWebSocket

    eio._async = {**eio._async, "queue": bounded_packet_queue(), "websocket": LiveWebSocket}


def socket_pair(tcp: bool = False) -> tuple[Any, Any]:
    """(server end, client end): gevent sockets, connected over loopback TCP or a Unix socketpair."""
    import gevent.socket

    if not tcp:
        return gevent.socket.socketpair()
    with gevent.socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = gevent.socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
    for end in (server, client):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return server, client


class WebSocketScreen:
    """One screen on a websocket: `session` (Engine.IO), `websocket` (its LiveWebSocket), `client` (the socket's far end)."""

    def __init__(self, server: Any, eio_sid: str, rooms: tuple[str, ...] = (), tcp: bool = False,
                 buffer_bytes: int | None = None) -> None:
        import gevent
        from engineio import socket as eio_socket

        from hall.server.fanout import OPEN_WEBSOCKETS

        eio = getattr(server, "eio", server)
        self.eio_sid = eio_sid
        self.server_end, self.client = socket_pair(tcp)
        if buffer_bytes:
            self.server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_bytes)
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_bytes)
        self.session = eio.sockets[eio_sid] = eio_socket.Socket(eio, eio_sid)
        self.handler = gevent.spawn(self.session._upgrade_websocket, {"gunicorn.socket": self.server_end, **HANDSHAKE},
                                    None)
        while eio_sid not in OPEN_WEBSOCKETS:
            gevent.sleep(0.001)
        self.websocket = OPEN_WEBSOCKETS[eio_sid]
        self.sid = join(server, eio_sid, rooms)
        self.handshake = b""

    def drain(self) -> bytes:
        """What the server wrote and the client has not read yet, without waiting (handshake included)."""
        data = bytearray()
        while True:
            try:
                chunk = self.client._sock.recv(1 << 20, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return bytes(data)
            if not chunk:
                return bytes(data)
            data += chunk

    def close(self) -> None:
        from hall.server.fanout import OPEN_WEBSOCKETS

        self.handler.kill()
        OPEN_WEBSOCKETS.pop(self.eio_sid, None)
        self.server_end.close()
        self.client.close()


class PollingScreen:
    """One screen on long-polling: its packets wait in its session's queue until `poll()`."""

    def __init__(self, server: Any, eio_sid: str, rooms: tuple[str, ...] = ()) -> None:
        from engineio import socket as eio_socket

        eio = getattr(server, "eio", server)
        self.eio_sid = eio_sid
        self.session = eio.sockets[eio_sid] = eio_socket.Socket(eio, eio_sid)
        self.session.connected = True
        self.sid = join(server, eio_sid, rooms)

    def poll(self) -> list[Any]:
        """The packets a poll request would answer with now (none waiting: an empty list)."""
        return self.session.poll() if not self.session.queue.empty() else []


def join(server: Any, eio_sid: str, rooms: tuple[str, ...]) -> str | None:
    """Connect the session to the "/" namespace of a Socket.IO `server` and enter `rooms`."""
    manager = getattr(server, "manager", None)
    if manager is None:
        return None
    sid = manager.connect(eio_sid, "/")
    for room in rooms:
        manager.enter_room(sid, "/", room)
    return sid
