"""The websocket transport of a gevent server process, with the fan-out's direct writes."""
from __future__ import annotations

from typing import Any

import simple_websocket
from engineio.async_drivers.gevent import WebSocketWSGI
from flask_socketio import SocketIO

from hall.server.fanout import OPEN_WEBSOCKETS, FrameTail, websocket_frame


class LiveWebSocket(WebSocketWSGI):
    """Engine.IO's gevent websocket (simple-websocket) that frames what it sends itself.

    wsproto still does the handshake, reads the client's frames and closes; sending a whole
    message is one frame header in front of the payload, so it is done here (an uncompressed
    message is valid on a connection that agreed on permessage-deflate, RFC 7692 §6).
    While open it is listed in OPEN_WEBSOCKETS, where the fan-out finds it.
    """

    def __init__(self, handler: Any, server: Any) -> None:
        super().__init__(handler, server)
        self.eio_socket = handler.__self__
        self.busy = False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.ws = simple_websocket.Server(environ, **self.server_args)  # gevent's thread, event, selector
        self.raw_send = getattr(self.ws.sock, "_sock", None) and self.ws.sock._sock.send
        sid = self.eio_socket.sid
        OPEN_WEBSOCKETS[sid] = self
        try:
            answer = self.app(self)
        finally:
            if OPEN_WEBSOCKETS.get(sid) is self:
                del OPEN_WEBSOCKETS[sid]
        if self.ws.mode == "gunicorn":
            raise StopIteration()  # the connection is over, no HTTP response follows
        return answer

    def send(self, message: str | bytes | FrameTail) -> None:
        if not self.ws.connected:
            raise OSError("websocket closed")
        self.write(message.data if isinstance(message, FrameTail) else websocket_frame(message))

    def write(self, frame: bytes) -> None:
        """Write all of `frame`, waiting (this greenlet only) up to the socket's timeout."""
        self.busy = True
        try:
            self.ws.sock.sendall(frame)
        finally:
            self.busy = False

    def write_now(self, frame: bytes, now: float, ping_timeout: float) -> bool:
        """Write `frame` if the connection is idle, without waiting; False if it must be queued.

        Idle: connected, upgraded, nothing queued and no write of the writer under way, so the
        frame cannot overtake an earlier packet; and the client answered its last ping in time
        (`now`: time.time(), taken once per fan-out slice), else the queued send closes it as
        Engine.IO does. A partial write queues the rest for the writer.
        """
        eio_socket = self.eio_socket
        if (self.busy or not self.raw_send or not eio_socket.upgraded or eio_socket.upgrading or eio_socket.closing
                or not self.ws.connected or eio_socket.queue.qsize()
                or (eio_socket.last_ping and now - eio_socket.last_ping > ping_timeout)):
            return False
        try:
            sent = self.raw_send(frame)  # the OS socket itself (non-blocking): never waits
        except BlockingIOError:
            sent = 0
        except OSError:
            return False  # the writer meets the same error and closes the connection
        if sent < len(frame):
            eio_socket.queue.put(FrameTail(frame[sent:]))
        return True


def write_frames_directly(socketio: SocketIO) -> None:
    """Use LiveWebSocket for the websocket transport of this (gevent) server process."""
    eio = socketio.server.eio
    eio._async = {**eio._async, "websocket": LiveWebSocket}
