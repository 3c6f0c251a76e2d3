"""A server process writes each plain response (the API, pages) in one send, head and body together; Engine.IO's
requests keep their socket (hall/server/whole_responses.py). Run through gunicorn's own worker code, on a real
socket pair whose sends are counted."""
from __future__ import annotations

import json
import os
import socket

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger
from gunicorn.http import RequestParser
from gunicorn.workers.base_async import AsyncWorker

from hall.server.whole_responses import LIVE_PATH, send_responses_whole


class CountedSocket(socket.socket):
    """A real socket that keeps what each of its sends wrote."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(fileno=sock.detach())
        self.sends: list[bytes] = []

    def sendall(self, data, *args) -> None:
        self.sends.append(bytes(data))
        super().sendall(data, *args)


@pytest.fixture
def worker(app):
    """gunicorn's worker code serving the app, as `hall serve` runs it (no process of its own)."""
    cfg = Config()
    served = AsyncWorker(0, os.getppid(), [], None, 30, cfg, Logger(cfg))
    served.wsgi, served.alive = app, True
    send_responses_whole(served)
    return served


def _served(worker, request: bytes) -> tuple[list[bytes], bytes]:
    """The sends of the worker's answer to one request, and what the client read."""
    client, server = socket.socketpair()
    server = CountedSocket(server)
    try:
        client.sendall(request)
        client.shutdown(socket.SHUT_WR)
        req = next(iter(RequestParser(worker.cfg, server, ("127.0.0.1", 1))))
        worker.handle_request("test", req, server, ("127.0.0.1", 1))
        server.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
        return server.sends, answer
    finally:
        client.close()
        server.close()


def test_an_issue_is_answered_in_one_send(worker, demo):
    body = b'{"service": "A"}'
    sends, answer = _served(worker, b"POST /api/v1/halls/demo/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                    b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert len(sends) == 1 and sends[0] == answer
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 201 ") and json.loads(body)["number"] == "A001"


def test_an_answer_with_no_body_gets_its_head_at_the_end_of_the_request(worker, demo):
    sends, answer = _served(worker, b"HEAD /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
    assert len(sends) == 1 and sends[0] == answer
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"\r\n\r\n")


def test_engine_io_requests_keep_their_socket(worker):
    seen = []
    handle = worker.handle_request
    worker.handle_request = lambda name, req, sock, addr: seen.append(sock)
    send_responses_whole(worker)
    client, server = socket.socketpair()
    try:
        client.sendall(f"GET {LIVE_PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        req = next(iter(RequestParser(worker.cfg, server, ("127.0.0.1", 1))))
        worker.handle_request("test", req, server, ("127.0.0.1", 1))
    finally:
        client.close()
        server.close()
        worker.handle_request = handle
    assert seen == [server]
