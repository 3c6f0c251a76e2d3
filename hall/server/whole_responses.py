"""A plain HTTP response (every request outside Engine.IO's path: the API, pages) goes out in one send.

gunicorn writes a response's head and its body with a send each. On loopback, and behind a proxy on
the same machine, each send is a TCP segment the kernel delivers in the sender's time and a wake-up of
the reader: in a profile of 16 kiosks issuing back to back beside 1 000 screens, gunicorn's two sends
were a fifth of the server's samples, the head's the larger part (bench/RESULTS.md). Here the head is
held until the body's first bytes and sent with them. Anything else asked of the socket (a file sent
with sendfile, a shutdown, a timeout) first sends what is held, and so does the end of the request, so
a response with no body, or a request that fails, still gets its head, in order. Engine.IO's requests
(polls, websocket upgrades) keep the socket itself: a websocket writes to it for as long as it is open.
"""
from __future__ import annotations

from typing import Any, Callable

HandleRequest = Callable[[Any, Any, Any, Any], Any]
#: Engine.IO's path (Flask-SocketIO's default, which Hall keeps: hall/server/long_polls.py answers polls on it).
LIVE_PATH = "/socket.io/"


class HeadWithBody:
    """A client socket whose first write, a response's head, waits for the next one (the body) to go out
    with it in one send."""

    __slots__ = ("sock", "head", "written")

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.head: bytes | None = None
        self.written = False

    def sendall(self, data: bytes) -> None:
        if not self.written:
            self.written = True
            if bytes(data[-4:]) == b"\r\n\r\n":  # the head (gunicorn writes it alone, first)
                self.head = bytes(data)
                return
        if self.head is not None:
            data, self.head = self.head + data, None
        self.sock.sendall(data)

    def flush(self) -> None:
        """Send the head held, if any (the response had no body bytes, or the socket is asked something else)."""
        if self.head is not None:
            head, self.head = self.head, None
            self.sock.sendall(head)

    def __getattr__(self, name: str) -> Any:
        self.flush()
        return getattr(self.sock, name)


def whole_responses(handle_request: HandleRequest, live_path: str) -> HandleRequest:
    """gunicorn's `handle_request` with each plain request's response written in one send (`live_path`:
    Engine.IO's path, whose requests keep the socket as it is)."""

    def handle_with_head_held(listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        if req.path.startswith(live_path):
            return handle_request(listener_name, req, sock, addr)
        held = HeadWithBody(sock)
        try:
            return handle_request(listener_name, req, held, addr)
        finally:
            held.flush()

    return handle_with_head_held


def send_responses_whole(worker: Any) -> None:
    """Let this gevent worker write plain responses in one send (gunicorn_conf's post_worker_init)."""
    worker.handle_request = whole_responses(worker.handle_request, LIVE_PATH)
