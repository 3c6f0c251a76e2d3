"""Connections to a physical printer: raw TCP, or USB and serial through
python-escpos.  Every failure surfaces as a PrinterFault."""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Serial, Usb

from printer.backends import PrinterConfig
from printer.faults import PrinterFault


class Link(Protocol):
    def ask(self, query: bytes) -> int:
        """Send a real-time request and return the printer's one-byte answer."""

    def send(self, data: bytes) -> None:
        """Send bytes to print."""


@contextmanager
def _faults(where: str, timeout_s: float) -> Iterator[None]:
    """Turn I/O errors into printer faults."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
            raise PrinterFault("timeout", f"{where} did not respond within {timeout_s:g} s") from None
        raise PrinterFault("offline", f"{where} is unreachable: {exc.strerror or exc}") from None


class _TcpLink:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def ask(self, query: bytes) -> int:
        self._sock.sendall(query)
        answer = self._sock.recv(1)
        if not answer:
            raise ConnectionResetError(errno.ECONNRESET, "connection closed by the printer")
        return answer[0]

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)


class _EscposLink:
    def __init__(self, device: Escpos) -> None:
        self._device = device

    def ask(self, query: bytes) -> int:
        answer = self._device.query_status(query)
        if not answer:
            raise TimeoutError("no answer to the status request")
        # Automatic status messages may precede the answer; it comes last.
        return answer[-1]

    def send(self, data: bytes) -> None:
        # python-escpos has no public call for sending ready-made bytes.
        self._device._raw(data)


@contextmanager
def _tcp_link(config: PrinterConfig) -> Iterator[Link]:
    where = f"printer {config.host}:{config.port}"
    with _faults(where, config.timeout_s):
        with socket.create_connection((config.host, config.port), timeout=config.timeout_s) as sock:
            yield _TcpLink(sock)


@contextmanager
def _escpos_link(config: PrinterConfig) -> Iterator[Link]:
    device: Escpos
    if config.backend == "usb":
        where = f"USB printer {config.usb_vendor:04x}:{config.usb_product:04x}"
        device = Usb(config.usb_vendor, config.usb_product, timeout=round(config.timeout_s * 1000))
    else:
        where = f"serial printer {config.serial_device}"
        device = Serial(config.serial_device, baudrate=config.baudrate, timeout=config.timeout_s)
    try:
        device.open()
    except DeviceNotFoundError as exc:
        raise PrinterFault("offline", f"{where} not found: {' '.join(exc.msg.split())}") from None
    try:
        with _faults(where, config.timeout_s):
            yield _EscposLink(device)
    finally:
        device.close()


def open_link(config: PrinterConfig) -> AbstractContextManager[Link]:
    """A context manager connecting to the printer of a usb, network or serial config."""
    return _tcp_link(config) if config.backend == "network" else _escpos_link(config)
