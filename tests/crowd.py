"""A crowd of lobby screens in one process: M python-socketio AsyncClients of one hall.

    python -m tests.crowd --url http://127.0.0.1:5000 [--url …] --screens 300 [--polling 0.2]

Screens are spread over the given addresses (one per server process) and the given halls
(`--hall`, repeatable; default demo) and connect like a display does: `auth={"hall": slug}`, a
`snapshot` after every (re)connect, then `hall_event`s.
A share of them (`--polling`) stays on HTTP long-polling, like a browser that cannot upgrade.
With `--lean` the websocket screens are LeanScreens (the protocol spoken directly, a few µs per
event) rather than python-socketio clients, with `--lean-polling` the long-polling ones are
LeanPollingScreens: a benchmark's crowd then takes little of the CPU.
It prints one JSON line `{"ready": screens connected, "seconds": …}` once every screen has
connected or given up, then answers commands read from standard input, one JSON line each:

- `status`: `{"connected": n, "connects": total connects so far, "resynced": screens whose
  last snapshot came after their last connect}`
- `report`: `{"received": [[[seq, number, unix time], …] per screen] (calls only), "events": [hall
  events received per screen], "connects": […]}`
- `quit`: disconnects and exits.

The crowd runs on uvloop when it is installed; `Crowd(..., processes=K)` spreads the screens over
K such processes (one process cannot parse an event for thousands of screens within 100 ms).
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import socketio


class Screen:
    """One connected screen: what it received and how often it (re)connected."""

    def __init__(self, url: str, slug: str, transports: list[str], wait_timeout: float) -> None:
        self.url, self.slug, self.transports, self.wait_timeout = url, slug, transports, wait_timeout
        self.calls: list[tuple[int, str, float]] = []
        self.events = 0
        self.connects = 0
        self.snapshot_seq: int | None = None
        self.resynced = False
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5, reconnection_delay_max=2)
        self.client.on("connect", self.on_connect)
        self.client.on("hall_event", self.on_event)

    async def on_connect(self) -> None:
        self.connects += 1
        self.resynced = False
        asyncio.get_running_loop().create_task(self.resync())

    async def resync(self) -> None:
        try:
            snapshot = await self.client.call("snapshot", {"hall": self.slug}, timeout=30)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return
        self.snapshot_seq = snapshot.get("seq")
        self.resynced = True

    async def on_event(self, event: dict[str, Any]) -> None:
        self.events += 1
        if event.get("kind") == "called":
            self.calls.append((event["seq"], event["ticket"]["number"], time.time()))

    async def connect(self) -> None:
        await self.client.connect(self.url, auth={"hall": self.slug}, transports=self.transports,
                                  wait_timeout=self.wait_timeout)

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def disconnect(self) -> None:
        await self.client.disconnect()


class LeanClient:
    """What a lean screen (below) keeps: its address, the calls and events it heard, its connects."""

    def __init__(self, url: str, slug: str, wait_timeout: float) -> None:
        self.slug, self.wait_timeout = slug, wait_timeout
        address = urlsplit(url)
        self.host, self.port = address.hostname, address.port or 80
        self.calls: list[tuple[int, str, float]] = []
        self.events = 0
        self.connects = 0
        self.resynced = False
        self.connected = False
        self.leaving = False

    async def reconnect(self) -> None:
        """After a drop: connect again, like python-socketio's client."""
        for delay in (0.5, 1, 2, 2, 2, 2, 2, 2, 2, 2):
            await asyncio.sleep(delay)
            with contextlib.suppress(ConnectionError):
                return await self.connect()

    def heard(self, message: str) -> None:
        """A `hall_event` message (Socket.IO EVENT packet): counted; a call's number and time kept."""
        self.events += 1
        if '"called"' in message:
            event = json.loads(message[2:])[1]
            if event.get("kind") == "called":
                self.calls.append((event["seq"], event["ticket"]["number"], time.time()))


class LeanScreen(LeanClient, asyncio.Protocol):
    """A websocket screen that speaks Engine.IO 4 / Socket.IO 5 itself, as Screen does through
    python-socketio: `auth={"hall": slug}`, a `snapshot` after every (re)connect, a pong for every
    ping, a reconnect after a drop; it reads every frame and counts every `hall_event`, but only
    decodes the JSON of calls. It costs a few µs per event where python-socketio's client costs
    ~150 µs: thousands of them on the server's own machine take little of the CPU the server needs.
    """

    transports = ["websocket"]

    def __init__(self, url: str, slug: str, wait_timeout: float) -> None:
        super().__init__(url, slug, wait_timeout)
        self.transport: asyncio.Transport | None = None
        self.joined: asyncio.Future | None = None
        self.buffer = bytearray()
        self.upgraded = False

    async def connect(self) -> None:
        loop = asyncio.get_running_loop()
        self.joined, self.leaving = loop.create_future(), False
        try:
            await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port), self.wait_timeout)
            await asyncio.wait_for(self.joined, self.wait_timeout)
        except (OSError, asyncio.TimeoutError) as error:
            if self.transport:
                self.transport.abort()
            raise ConnectionError(error) from error

    async def disconnect(self) -> None:
        self.leaving = True
        if self.transport and not self.transport.is_closing():
            self.send("41")
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport, self.buffer, self.upgraded = transport, bytearray(), False
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def connection_lost(self, error: Exception | None) -> None:
        was_connected, self.connected, self.transport = self.connected, False, None
        if self.joined and not self.joined.done():
            self.joined.set_exception(ConnectionError("closed"))
        if was_connected and not self.leaving:  # dropped: connect again, like python-socketio's client
            asyncio.get_running_loop().create_task(self.reconnect())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buffer[:end]:
                self.transport.abort()
                return
            del buffer[:end + 4]
            self.upgraded = True
        while len(buffer) >= 2:
            size, start = buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + size:
                return
            opcode, message = buffer[0] & 0x0F, bytes(buffer[start:start + size])
            del buffer[:start + size]
            if opcode == 8:
                self.transport.close()
                return
            self.on_message(message)

    def on_message(self, message: bytes) -> None:
        if message.startswith(b'42["hall_event"'):
            self.heard(message.decode())
        elif message == b"2":
            self.send("3")
        elif message.startswith(b"43"):
            self.resynced = True  # the snapshot's answer
        elif message.startswith(b"40"):
            self.connected, self.resynced = True, False
            self.connects += 1
            self.send('421["snapshot",' + json.dumps({"hall": self.slug}) + "]")
            if not self.joined.done():
                self.joined.set_result(True)
        elif message.startswith(b"0"):
            self.send("40" + json.dumps({"hall": self.slug}))
        elif message.startswith((b"44", b"41", b"1")):  # refused, or ended by the server
            self.transport.close()

    def send(self, text: str) -> None:
        """One masked text frame (RFC 6455 §5.3: a client masks what it sends)."""
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (size // 4 + 1))[:size], "big"))
        header = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2, "big")
        self.transport.write(header + mask + masked.to_bytes(size, "big"))


class LeanPollingScreen(LeanClient):
    """A screen on long-polling that speaks Engine.IO 4 / Socket.IO 5 over HTTP/1.1 itself, as
    LeanScreen does on a websocket: one kept-alive connection for its polls, one for its POSTs
    (connect, snapshot request, pongs), a snapshot after every connect, a reconnect after a drop.
    A few tens of µs per poll where python-socketio's client costs ~0.5 ms: the crowd then takes
    less of the machine than the server it measures. With `origin`, every request carries the
    server's own origin in an Origin header, as a browser's long-polling client sends it."""

    transports = ["polling"]
    OPEN = "/socket.io/?EIO=4&transport=polling"
    KEPT_ALIVE_S = 1.0  # below gunicorn's keep-alive (2 s)

    def __init__(self, url: str, slug: str, wait_timeout: float, *, origin: bool = False) -> None:
        super().__init__(url, slug, wait_timeout)
        self.headers = f"Host: {self.host}:{self.port}\r\n" + (f"Origin: http://{self.host}:{self.port}\r\n"
                                                                 if origin else "")
        #: the polls' connection, then the POSTs' (opened again when idle long enough for the
        #: server's keep-alive to have closed it)
        self.connections: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self.posted_at = 0.0
        self.posting = asyncio.Lock()
        self.polling: asyncio.Task | None = None
        self.path = self.OPEN

    async def connect(self) -> None:
        self.leaving = False
        try:
            await asyncio.wait_for(self._open(), self.wait_timeout)
        except (OSError, EOFError, ValueError, KeyError, asyncio.TimeoutError) as error:  # EOF: closed mid-answer
            self._close()
            raise ConnectionError(error) from error

    async def _open(self) -> None:
        self._close()
        self.path = self.OPEN
        self.connections = [await asyncio.open_connection(self.host, self.port)]
        opened = await self._request(self.connections[0], "GET", self.path)
        self.path += "&sid=" + json.loads(opened[1:])["sid"]
        await self.post("40" + json.dumps({"hall": self.slug}))
        while not self.connected:  # the connect's answer comes in a poll
            self.on_payload(await self._request(self.connections[0], "GET", self.path))
        self.polling = asyncio.get_running_loop().create_task(self.poll())

    async def _request(self, connection, method: str, path: str, body: str = "") -> str:
        reader, writer = connection
        data = body.encode()
        writer.write(f"{method} {path} HTTP/1.1\r\n{self.headers}Content-Length: {len(data)}\r\n\r\n".encode() + data
                     if method == "POST" else f"{method} {path} HTTP/1.1\r\n{self.headers}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        if not head.startswith(b"HTTP/1.1 200") or not length:
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
        return (await reader.readexactly(int(length[1]))).decode()

    async def post(self, packet: str) -> None:
        async with self.posting:
            if not self.connections:
                raise ConnectionError("not connected")
            if len(self.connections) > 1 and time.monotonic() - self.posted_at > self.KEPT_ALIVE_S:
                self.connections.pop()[1].close()
            if len(self.connections) == 1:
                self.connections.append(await asyncio.open_connection(self.host, self.port))
            await self._request(self.connections[1], "POST", self.path, packet)
            self.posted_at = time.monotonic()

    async def poll(self) -> None:
        try:
            while self.connected:
                self.on_payload(await self._request(self.connections[0], "GET", self.path))
        except (OSError, EOFError, ValueError):  # dropped, refused (ConnectionError) or cut short
            pass
        was_connected, self.connected = self.connected, False
        self._close()
        if was_connected and not self.leaving:
            await self.reconnect()

    def on_payload(self, payload: str) -> None:
        for message in payload.split("\x1e"):
            if message.startswith('42["hall_event"'):
                self.heard(message)
            elif message == "2":
                asyncio.get_running_loop().create_task(self.post("3"))
            elif message.startswith("43"):
                self.resynced = True
            elif message.startswith("40"):
                self.connected, self.resynced = True, False
                self.connects += 1
                asyncio.get_running_loop().create_task(self.post('421["snapshot",' + json.dumps({"hall": self.slug}) + "]"))
            elif message.startswith(("44", "41", "1")):
                raise ConnectionError(message)

    async def disconnect(self) -> None:
        self.leaving = True
        if self.connected:
            with contextlib.suppress(OSError, EOFError, asyncio.TimeoutError):
                await asyncio.wait_for(self.post("41"), 2)
        self.connected = False
        self._close()

    def _close(self) -> None:
        for _reader, writer in self.connections:
            writer.close()
        self.connections = []


async def connect_all(screens: list[Screen], at_once: int, attempts: int) -> int:
    """Connect every screen (`at_once` at a time, `attempts` tries each); how many are connected."""
    gate = asyncio.Semaphore(at_once)

    async def one(screen: Screen) -> bool:
        async with gate:
            for attempt in range(attempts):
                try:
                    await screen.connect()
                    return True
                except (socketio.exceptions.ConnectionError, ConnectionError, asyncio.TimeoutError, OSError):
                    await screen.disconnect()  # a server without a free thread times out
                    await asyncio.sleep(0.5 * (attempt + 1))
            return False

    return sum(await asyncio.gather(*(one(screen) for screen in screens)))


class Crowd:
    """The parent's side: crowd processes started on some addresses, spoken to line by line.

    With `processes` > 1 the screens are shared out among that many processes; what they answer
    is merged (lists joined in process order, counts added, "seconds" the longest).
    """

    def __init__(self, urls: list[str], screens: int, polling: float = 0.0, timeout: float = 120,
                 *options: str, processes: int = 1) -> None:
        shares = [screens // processes + (index < screens % processes) for index in range(processes)]
        self.processes = [self._start(urls, share, polling, options) for share in shares if share]
        self.ready = self._read_all(timeout)

    @staticmethod
    def _start(urls: list[str], screens: int, polling: float, options: tuple[str, ...]) -> subprocess.Popen:
        command = [sys.executable, "-m", "tests.crowd", "--screens", str(screens), "--polling", str(polling),
                   *options]
        for url in urls:
            command += ["--url", url]
        return subprocess.Popen(command, cwd=Path(__file__).resolve().parent.parent, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def ask(self, command: str, timeout: float = 60) -> dict[str, Any]:
        for process in self.processes:
            process.stdin.write(command + "\n")
            process.stdin.flush()
        return self._read_all(timeout)

    def wait_until(self, test, timeout: float) -> dict[str, Any]:
        """Ask for the status until `test(status)` holds; the last status (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.ask("status")
            if test(status):
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"crowd status {status} within {timeout} s")
            time.sleep(0.2)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                try:
                    process.stdin.write("quit\n")
                    process.stdin.flush()
                except OSError:
                    pass
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _read_all(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        answers = [self._read(process, max(0.1, deadline - time.monotonic())) for process in self.processes]
        merged = answers[0]
        for other in answers[1:]:
            for key, value in other.items():
                merged[key] = max(merged[key], value) if key == "seconds" else merged[key] + value
        return merged

    def _read(self, process: subprocess.Popen, timeout: float) -> dict[str, Any]:
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                process.kill()
                raise AssertionError(f"the crowd said nothing within {timeout} s")
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"the crowd exited ({process.wait()})")
        return json.loads(line)


def answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def serve_commands(screens: list[Screen]) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
        if line == "status":
            answer({"connected": sum(screen.connected for screen in screens),
                    "connects": sum(screen.connects for screen in screens),
                    "resynced": sum(screen.resynced for screen in screens)})
        elif line == "report":
            answer({"received": [screen.calls for screen in screens],
                    "events": [screen.events for screen in screens],
                    "connects": [screen.connects for screen in screens]})
        elif line in ("quit", ""):
            await asyncio.gather(*(screen.disconnect() for screen in screens), return_exceptions=True)
            return


async def main(args: argparse.Namespace) -> None:
    polling_every = round(1 / args.polling) if args.polling > 0 else 0
    halls = args.hall or ["demo"]
    screens = [(LeanPollingScreen(url, slug, args.connect_timeout, origin=args.origin) if args.lean_polling
                else Screen(url, slug, ["polling"], args.connect_timeout))
               if polling_every and index % polling_every == 0
               else LeanScreen(url, slug, args.connect_timeout) if args.lean
               else Screen(url, slug, ["websocket"], args.connect_timeout)
               for index, url, slug in ((index, args.url[index % len(args.url)], halls[index % len(halls)])
                                        for index in range(args.screens))]
    started = time.monotonic()
    connected = await connect_all(screens, args.at_once, args.attempts)
    answer({"ready": connected, "seconds": round(time.monotonic() - started, 2)})
    await serve_commands(screens)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append", required=True)
    parser.add_argument("--hall", action="append",
                        help="the screens' hall (repeatable: screen k is of the k-th hall in turn, on the k-th address)")
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--polling", type=float, default=0.0, help="share of screens on long-polling")
    parser.add_argument("--at-once", type=int, default=50, help="connections opened at the same time")
    parser.add_argument("--attempts", type=int, default=5, help="connection attempts per screen")
    parser.add_argument("--connect-timeout", type=float, default=60, help="seconds one attempt may take")
    parser.add_argument("--lean", action="store_true",
                        help="websocket screens speak the protocol themselves (LeanScreen) instead of python-socketio")
    parser.add_argument("--lean-polling", action="store_true",
                        help="long-polling screens speak the protocol themselves (LeanPollingScreen)")
    parser.add_argument("--origin", action="store_true",
                        help="lean long-polling screens send the server's origin in an Origin header, as browsers do")
    args = parser.parse_args()
    for noisy in ("engineio.client", "asyncio"):  # "queue empty", "unclosed session" on every drop
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(args))
    else:
        uvloop.run(main(args))
