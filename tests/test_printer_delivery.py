"""Delivery to printers: a loopback TCP printer speaking ESC/POS real-time
status, the file and none backends, and USB/serial devices that are absent."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from printer.backends import PrinterConfig
from printer.delivery import DeliveryResult, deliver
from printer.escpos_ticket import render_escpos
from tests.printer_sample import SAMPLE_TICKET

DLE_EOT = b"\x10\x04"
HEALTHY = {1: 0x16, 2: 0x12, 4: 0x12}
PAPER_OUT = {1: 0x1E, 2: 0x32, 4: 0x72}
TICKET = render_escpos(SAMPLE_TICKET)


class FakePrinter:
    """A raw-TCP printer on loopback that answers DLE EOT n with `answers[n]`
    and keeps everything after the status requests as printed data.
    With `answers=None` it accepts connections and then never reads."""

    def __init__(self, answers: dict[int, int] | None) -> None:
        self.answers = answers
        self.printed = b""
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(0.05)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            with conn:
                if self.answers is None:
                    self._stop.wait()
                else:
                    self._talk(conn)

    def _talk(self, conn: socket.socket) -> None:
        pending = b""
        while chunk := conn.recv(4096):
            pending += chunk
            while self.printed == b"" and pending[:2] == DLE_EOT and len(pending) >= 3:
                conn.sendall(bytes((self.answers[pending[2]],)))
                pending = pending[3:]
            if pending and not DLE_EOT.startswith(pending):
                self.printed += pending
                pending = b""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@contextmanager
def fake_printer(answers: dict[int, int] | None) -> Iterator[FakePrinter]:
    printer = FakePrinter(answers)
    try:
        yield printer
    finally:
        printer.close()


def network(port: int, timeout_s: float = 2.0) -> PrinterConfig:
    return PrinterConfig("network", host="127.0.0.1", port=port, timeout_s=timeout_s)


def wait_for(condition, seconds: float = 2.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_healthy_network_printer_receives_the_ticket_once():
    with fake_printer(HEALTHY) as printer:
        result = deliver(TICKET, network(printer.port))
        wait_for(lambda: len(printer.printed) >= len(TICKET))
        time.sleep(0.1)  # anything sent twice would arrive now
    assert result.ok and result.fault is None
    assert printer.printed == TICKET
    assert printer.connections == 1


def test_printer_out_of_paper_gets_nothing():
    with fake_printer(PAPER_OUT) as printer:
        result = deliver(TICKET, network(printer.port))
    assert (result.ok, result.fault) == (False, "paper_out")
    assert printer.printed == b""


def test_refused_connection_is_offline():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = deliver(TICKET, network(port))
    assert (result.ok, result.fault) == (False, "offline")
    assert "127.0.0.1" in result.message


def test_printer_that_never_answers_times_out():
    with fake_printer(None) as printer:
        started = time.monotonic()
        result = deliver(TICKET, network(printer.port, timeout_s=0.5))
        elapsed = time.monotonic() - started
    assert (result.ok, result.fault) == (False, "timeout")
    assert 0.4 <= elapsed < 1.5


def test_file_backend_appends_the_bytes(tmp_path):
    path = tmp_path / "tickets.bin"
    config = PrinterConfig("file", path=str(path))
    assert deliver(TICKET, config).ok
    assert deliver(b"second", config).ok
    assert path.read_bytes() == TICKET + b"second"


def test_file_backend_reports_an_unwritable_path(tmp_path):
    result = deliver(TICKET, PrinterConfig("file", path=str(tmp_path / "missing" / "t.bin")))
    assert (result.ok, result.fault) == (False, "error")


def test_none_backend_is_ok_without_printing():
    assert deliver(TICKET, PrinterConfig("none")) == DeliveryResult(
        ok=True, fault=None, message="printing is disabled"
    )


@pytest.mark.parametrize(
    "config",
    [
        PrinterConfig("usb", usb_vendor=0x0416, usb_product=0x5011, timeout_s=0.5),
        PrinterConfig("serial", serial_device="/dev/hall-no-such-printer", timeout_s=0.5),
    ],
    ids=["usb", "serial"],
)
def test_missing_device_is_offline(config):
    result = deliver(TICKET, config)
    assert (result.ok, result.fault) == (False, "offline")
