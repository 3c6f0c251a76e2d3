"""Long-polling screens answered straight from their connection, beside gunicorn's request path.

A screen on long-polling sends one HTTP GET per event it gets (or batch of events). Through
gunicorn and Engine.IO each such poll cost the server ~0.8 ms of CPU (py-spy, 300 polling
screens): gunicorn's request parsing and WSGI environ, the middlewares, Engine.IO's request
dispatch, then the answer's headers and body in two sends — against 6–10 µs to write an event to
a websocket screen.

Here a plain poll (GET of an open long-polling session: no Upgrade, no body, HTTP/1.1
keep-alive) is answered by the connection's own greenlet: it waits for the session's packets as
Engine.IO does (`Socket.handle_get_request`, so pings, acks, the upgrade's NOOP and the close
are all as before), and writes headers and body in one send. It then reads the connection's next
request itself: another plain poll is answered the same way without gunicorn parsing it;
anything else (the screen's POSTs, a page, an API call) is handed back to gunicorn unread
(`unreader.unread`), which serves it as usual. Each screen still has its own greenlet and its
own bounded queue (hall/server/live.py), so a stalled screen only holds its own connection, and
a send to it that cannot go out within one ping cycle ends that connection alone.

A poll with an Origin header (a browser's, cross-origin or not) is plain too once Engine.IO's own
check accepts its origin, on the environ gunicorn would give it (`_cors_allowed_origins`: Host,
X-Forwarded-Proto/-Host and the request's scheme); its answer carries Engine.IO's CORS headers. One
whose origin Engine.IO refuses goes through Engine.IO, which refuses it as before (400). The scheme
is gunicorn's: the parsed request's, or for a request read here, the previous one's on the
connection if its scheme headers (gunicorn's `secure_scheme_headers`) say the same; otherwise
gunicorn parses it first.
"""
from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any, Callable, Iterable, NamedTuple

from engineio.exceptions import EngineIOError

#: A request head longer than this is no plain poll (a poll's is ~200 bytes): gunicorn reads it.
MAX_HEAD_BYTES = 8192
#: Headers after which a poll is not plain: Engine.IO's own path answers it (upgrades, bodies).
NOT_PLAIN = frozenset({"upgrade", "content-length", "transfer-encoding", "expect"})
#: The request headers Engine.IO's CORS check and headers read (as environ keys).
CORS_HEADERS = {name: "HTTP_" + name.upper().replace("-", "_")
                for name in ("origin", "host", "x-forwarded-proto", "x-forwarded-host", "access-control-request-headers")}


class Poll(NamedTuple):
    """A plain long-poll: the Engine.IO session it waits on, the encodings the client accepts, the
    CORS headers of its answer, and its scheme with what its scheme headers said (for the next);
    `header_lines`: its head's header lines as they came, if read here (the next poll with the same
    lines is the same poll but for its query)."""
    session: Any
    accept_encoding: str
    cors: list[tuple[str, str]]
    scheme: str | None = None
    scheme_says: tuple[str | None, ...] = ()
    header_lines: bytes | None = None


class LongPolls:
    """Answers the plain long-polls of one Engine.IO server (`eio`) on gunicorn connections."""

    def __init__(self, eio: Any, path: str = "/socket.io/", keepalive_s: float = 2.0,
                 scheme_headers: Iterable[str] = ()) -> None:
        """`keepalive_s`: how long a connection may stay silent between requests (gunicorn's
        keepalive; 0: one request per connection); `scheme_headers`: gunicorn's secure_scheme_headers."""
        self.eio = eio
        self.path = path
        self.keepalive_s = keepalive_s
        self.scheme_headers = tuple(name.lower() for name in scheme_headers)
        self.write_timeout_s = float(eio.ping_interval + eio.ping_timeout)
        self.request_start = f"GET {path}?".encode()
        self._date = (0, "")

    # -- which requests are plain polls

    def of_request(self, req: Any) -> Poll | None:
        """The poll a request gunicorn parsed is, if it is a plain one."""
        if req.method != "GET" or req.path != self.path or req.version != (1, 1):
            return None
        headers = {name.lower(): value for name, value in req.headers}
        if len(headers) != len(req.headers):
            return None  # a header given twice: gunicorn's environ joins them, Engine.IO reads that
        return self._poll(req.query, headers, req.scheme)

    def of_head(self, data: bytes, previous: Poll | None = None) -> Poll | None:
        """The poll these bytes (one whole request head, nothing after it) are, if a plain one;
        `previous`: the last poll on the connection, whose scheme this one has if it says the same."""
        head, end, rest = data.partition(b"\r\n\r\n")
        if not end or rest or not head.startswith(self.request_start):
            return None
        request_line, _, header_lines = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split(" ")
        if len(parts) != 3 or parts[2] != "HTTP/1.1":
            return None
        query = parts[1][len(self.path) + 1:]
        if previous is not None and header_lines == previous.header_lines:
            # a screen's polls repeat their headers: the same answer headers, only the session to look up
            session = self._session(query)
            return previous._replace(session=session) if session is not None else None
        headers = {}
        for line in header_lines.decode("latin-1").split("\r\n") if header_lines else ():
            name, colon, value = line.partition(":")
            if not colon or name != name.strip() or name.lower() in headers:
                return None  # malformed or given twice: gunicorn's parser and environ decide
            headers[name.lower()] = value.strip()
        scheme = None
        if previous is not None and self._scheme_says(headers) == previous.scheme_says:
            scheme = previous.scheme
        poll = self._poll(query, headers, scheme)
        return poll and poll._replace(header_lines=header_lines)

    def _scheme_says(self, headers: dict[str, str]) -> tuple[str | None, ...]:
        return tuple(headers.get(name) for name in self.scheme_headers)

    def _poll(self, query: str, headers: dict[str, str], scheme: str | None) -> Poll | None:
        """`scheme`: the request's as gunicorn sets it; None if not known (a poll with an Origin is then
        not plain: gunicorn parses it)."""
        if not NOT_PLAIN.isdisjoint(headers) or headers.get("connection", "keep-alive").lower() != "keep-alive":
            return None
        session = self._session(query)
        if session is None:
            return None
        cors = self._cors(headers, scheme)
        if cors is None:
            return None
        return Poll(session, headers.get("accept-encoding", ""), cors, scheme, self._scheme_says(headers))

    def _session(self, query: str) -> Any:
        """The open long-polling session a plain poll's query names; None if Engine.IO answers it."""
        fields = {}
        for field in query.split("&"):
            name, _, value = field.partition("=")
            fields[name] = value
        if fields.get("transport") != "polling" or "j" in fields:
            return None
        session = self.eio.sockets.get(fields.get("sid"))
        if (session is None or not session.connected or session.upgrading or session.upgraded
                or session.closing or session.closed):
            return None  # Engine.IO's own answer (an error, a NOOP)
        return session

    def _cors(self, headers: dict[str, str], scheme: str | None) -> list[tuple[str, str]] | None:
        """Engine.IO's CORS headers for the answer, on the environ gunicorn would give it; None if
        Engine.IO answers it itself: its origin is refused, or the check needs what is not known here."""
        eio = self.eio
        environ = {"REQUEST_METHOD": "GET", "wsgi.url_scheme": scheme}
        environ.update((key, headers[name]) for name, key in CORS_HEADERS.items() if name in headers)
        if "HTTP_ORIGIN" in environ and eio.cors_allowed_origins != []:
            if scheme is None or callable(eio.cors_allowed_origins):  # it may read more of the environ
                return None
            origin, allowed = environ["HTTP_ORIGIN"], eio._cors_allowed_origins(environ)
            if origin and allowed is not None and origin not in allowed:
                return None  # Engine.IO refuses it (400), as it always has
        return eio._cors_headers(environ)

    # -- answering them

    def serve(self, poll: Poll, sock: Any, unreader: Any, alive: Callable[[], bool]) -> None:
        """Answer `poll`, then every plain poll that follows on the connection; return once the next
        request is something else (put back into gunicorn's `unreader`). StopIteration: the connection
        is to close (the client left, stayed silent past keep-alive, or the worker is stopping)."""
        pipelined = unreader.take_buffered()
        if pipelined:  # the client sent more behind this poll: gunicorn reads it, in order
            unreader.unread(pipelined)
            self.answer(poll, sock)
            return
        while True:
            self.answer(poll, sock)
            if not alive() or not self.keepalive_s:  # stopping, or gunicorn closes after each request
                raise StopIteration()
            data = self._next_head(sock)
            poll = self.of_head(data, poll)
            if poll is None:
                unreader.unread(data)
                return

    def answer(self, poll: Poll, sock: Any) -> None:
        """Wait for the session's packets and write them in one send (Engine.IO's answer, byte for byte
        in its body, headers and status)."""
        eio, session = self.eio, poll.session
        try:
            answer = eio._ok(session.handle_get_request({}, None))
        except EngineIOError:  # nothing to send within a ping cycle (QueueEmpty): the session is over
            if session.sid in eio.sockets:
                eio.disconnect(session.sid)
            answer = eio._bad_request()
        if session.sid in eio.sockets and eio.sockets[session.sid].closed:
            del eio.sockets[session.sid]
        body, headers = answer["response"], answer["headers"]
        if eio.http_compression and len(body) >= eio.compression_threshold:
            accepted = [encoding.split(";")[0].strip() for encoding in poll.accept_encoding.split(",")]
            for encoding in accepted:
                if encoding in eio.compression_methods:
                    body = getattr(eio, "_" + encoding)(body)
                    headers = [*headers, ("Content-Encoding", encoding)]
                    break
        head = "".join(f"{name}: {value}\r\n" for name, value in (*headers, *poll.cors))
        self._write(sock, f"HTTP/1.1 {answer['status']}\r\n{head}Date: {self._http_date()}\r\n"
                          f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)

    def _write(self, sock: Any, data: bytes) -> None:
        """Write all of `data`: at once if the socket buffer takes it (gevent's socket is a non-blocking OS
        socket underneath), else waiting (this greenlet only) up to one ping cycle for the rest."""
        try:
            sent = sock._sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return
        sock.settimeout(self.write_timeout_s)
        try:
            sock.sendall(memoryview(data)[sent:])
        except TimeoutError:
            raise StopIteration() from None  # a stalled screen: its connection alone ends
        finally:
            sock.settimeout(None)

    def _next_head(self, sock: Any) -> bytes:
        """What the client sent next: a whole request head, or as much as shows it is no plain poll."""
        sock.settimeout(self.keepalive_s)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < MAX_HEAD_BYTES:
                chunk = sock.recv(MAX_HEAD_BYTES)
                if not chunk:
                    if data:
                        return data
                    raise StopIteration()  # the client closed the connection
                data += chunk
                if not self.request_start.startswith(data[:len(self.request_start)]):
                    break
        except TimeoutError:
            if data:
                return data  # gunicorn's parser finishes reading it, within its own keep-alive timeout
            raise StopIteration() from None
        finally:
            sock.settimeout(None)
        return data

    def _http_date(self) -> str:
        now = int(time.time())
        if self._date[0] != now:
            self._date = (now, formatdate(now, usegmt=True))
        return self._date[1]


def answer_long_polls_directly(worker: Any) -> None:
    """Let this gevent worker answer plain long-polls itself (gunicorn_conf's post_worker_init)."""
    import gevent

    from hall.extensions import socketio

    if socketio.server is None:  # an app without Socket.IO (the benchmarks' floor app) has no polls
        return
    polls = LongPolls(socketio.server.eio, keepalive_s=float(worker.cfg.keepalive),
                      scheme_headers=worker.cfg.secure_scheme_headers)
    handle_request = worker.handle_request

    def handle_plain_polls_first(listener_name: Any, req: Any, sock: Any, addr: Any) -> Any:
        poll = polls.of_request(req)
        if poll is None:
            return handle_request(listener_name, req, sock, addr)
        try:
            polls.serve(poll, sock, req.unreader, lambda: worker.alive)
        except (gevent.GreenletExit, SystemExit):  # as gunicorn's gevent worker does for its requests
            pass

    worker.handle_request = handle_plain_polls_first
