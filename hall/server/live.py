"""Live connections of a server process under gevent: bounded queues, write timeouts and a
quick shutdown.

- Each client's queue of outgoing packets is bounded: a client that falls that far behind is
  dropped (it reconnects and resyncs from a snapshot) instead of buffering without end. The
  others never wait for it: every client has its own writer greenlet.
- Each websocket's socket gets a timeout of one ping cycle (ping interval + ping timeout):
  a healthy client sends a pong at least that often, so a send that cannot go out within it
  means a stalled client (a phone on a bad network); that client alone is dropped. Its kernel
  send buffer is capped too (the kernel would let it grow to megabytes per connection), so
  what a stalled client has not taken waits in its bounded queue, not in kernel memory.
- SIGTERM closes every live connection at once (clients reconnect to the next process
  and resync from a snapshot) instead of waiting for them to end, so the process is gone in
  about a second rather than after gunicorn's graceful timeout.
"""
from __future__ import annotations

import logging
import signal
import socket
import time
from typing import Any, Callable

from flask_socketio import SocketIO

from hall.greenlets import gevent_patched

log = logging.getLogger(__name__)
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


#: Bytes of kernel send buffer a websocket may use (Linux doubles the figure for its bookkeeping):
#: a hall event is well under 2 KB, a snapshot a few KB; 2 000 stalled screens hold at most 64 MB.
SEND_BUFFER_BYTES = 16 * 1024


class LiveSocketLimits:
    """WSGI middleware: websocket upgrades get a socket timeout of one ping cycle and a capped
    kernel send buffer."""

    def __init__(self, app: WSGIApp, timeout_s: float, send_buffer: int = SEND_BUFFER_BYTES) -> None:
        self.app = app
        self.timeout_s = timeout_s
        self.send_buffer = send_buffer

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        sock = environ.get("gunicorn.socket")
        if sock is not None and environ.get("HTTP_UPGRADE", "").lower() == "websocket":
            sock.settimeout(self.timeout_s)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        return self.app(environ, start_response)


class LiveOrPlain:
    """WSGI middleware: requests under Socket.IO's path go through the live chain (Socket.IO's
    middleware, and what wraps it); every other request straight to the Flask app's own callable.

    Engine.IO's middleware, which Flask-SocketIO puts in front of the app, defines a class for
    every request gunicorn hands it (to pass the socket on eventlet's way) before it looks at the
    path: tens of microseconds of CPU and a reference cycle for the collector on every API call,
    which never needs it.
    """

    def __init__(self, live: WSGIApp, socketio_middleware: Any) -> None:
        self.live = live
        self.plain = socketio_middleware.wsgi_app  # the Flask app's callable, inside Socket.IO's
        self.path = socketio_middleware.engineio_path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO", "").startswith(self.path):
            return self.live(environ, start_response)
        return self.plain(environ, start_response)


def served_front(socketio_middleware: Any, socketio: SocketIO) -> LiveOrPlain:
    """What a server process puts in front of the app: Socket.IO's requests through the live chain
    (under gevent: long-polling answers with a length, websockets' socket limits), every other
    request straight to Flask."""
    live = socketio_middleware
    if gevent_patched():
        live = PollingAnswers(LiveSocketLimits(live, ping_cycle_s(socketio)))
    return LiveOrPlain(live, socketio_middleware)


class PollingAnswers:
    """WSGI middleware: an Engine.IO long-polling answer goes out with a Content-Length.

    Engine.IO gives its answer as one piece of bytes but no length, so gunicorn framed every
    answer as chunked: headers, the chunk and the closing chunk, three sends per poll. A
    long-polling screen polls once per event (or batch of events): with a length it is two.
    """

    def __init__(self, app: WSGIApp, path: str = "/socket.io") -> None:
        self.app = app
        self.path = path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if not environ.get("PATH_INFO", "").startswith(self.path) or "HTTP_UPGRADE" in environ:
            return self.app(environ, start_response)
        answer: list[Any] = []
        body = self.app(environ, lambda status, headers, exc_info=None: answer.extend((status, headers, exc_info)))
        if not answer or not isinstance(body, list):  # not Engine.IO's one-piece answer: as it came
            if answer:
                start_response(*answer)
            return body
        status, headers, exc_info = answer
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers = [*headers, ("Content-Length", str(sum(map(len, body))))]
        start_response(status, headers, exc_info)
        return body


#: Outgoing packets one client may have queued; hall events come a few per second at most.
MAX_QUEUED_PACKETS = 200


def bounded_packet_queue(limit: int = MAX_QUEUED_PACKETS):
    """The queue class of live clients: gevent's JoinableQueue that ends an overflowing client.

    On overflow the backlog is thrown away and only the end mark (None, what Engine.IO's
    writer stops at) stays, so the connection closes; later packets are ignored.
    """
    from gevent.queue import JoinableQueue

    class BoundedPacketQueue(JoinableQueue):
        overflowed = False

        def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
            if self.overflowed:
                return
            if item is not None and self.qsize() >= limit:
                self.overflowed = True
                log.warning("a live client fell %d packets behind: dropped, it will resync", limit)
                while not self.empty():
                    self.get_nowait()
                    self.task_done()
                item = None
            super().put(item, block, timeout)

    return BoundedPacketQueue


def bound_client_queues(socketio: SocketIO, limit: int = MAX_QUEUED_PACKETS) -> None:
    eio = socketio.server.eio
    eio._async = {**eio._async, "queue": bounded_packet_queue(limit)}


def ping_cycle_s(socketio: SocketIO) -> float:
    eio = socketio.server.eio
    return float(eio.ping_interval + eio.ping_timeout)


def drop_live_connections_on_term(worker: Any) -> None:
    """After the gunicorn worker's own SIGTERM handling, drop every live connection.

    The worker first stops accepting (it checks about once a second); connections are dropped
    only then, so that clients reconnect to the next process rather than to this one.
    """
    import gevent

    from hall.extensions import socketio

    def drop_everyone() -> None:
        deadline = time.monotonic() + 2
        while any(sock.fileno() != -1 for sock in worker.sockets) and time.monotonic() < deadline:
            gevent.sleep(0.05)
        # aborted, not closed with a goodbye: a client told "closed by the server" stays away,
        # one whose connection dropped reconnects and resyncs
        eio = socketio.server.eio
        sockets = list(eio.sockets.values())
        for sock in sockets:
            sock.close(wait=False, abort=True, reason=eio.reason.SERVER_DISCONNECT)
        eio.sockets.clear()
        log.info("shutting down: dropped %d live connections", len(sockets))

    def on_term(signum: int, frame: Any) -> None:
        worker.handle_exit(signum, frame)
        gevent.spawn(drop_everyone)

    signal.signal(signal.SIGTERM, on_term)
