"""The printer's real-time status (DLE EOT n) and the faults it reports."""

from __future__ import annotations

from collections.abc import Callable

from printer.faults import PrinterFault

PRINTER_STATUS = 1
OFFLINE_CAUSE = 2
PAPER_SENSOR = 4

# Bits of the status bytes (ESC/POS DLE EOT).
_OFFLINE = 0x08  # n=1: printer is off line
_COVER_OPEN = 0x04  # n=2
_STOPPED_BY_PAPER_END = 0x20  # n=2
_ERROR = 0x40  # n=2: mechanical, cutter or unrecoverable error
_PAPER_END = 0x60  # n=4: roll paper end sensor

# Every status byte has bits 1 and 4 set and bits 0 and 7 clear.
_FIXED_MASK = 0x93
_FIXED_BITS = 0x12


def status_query(n: int) -> bytes:
    """The real-time status request DLE EOT n."""
    return bytes((0x10, 0x04, n))


def _checked(n: int, answer: int) -> int:
    if answer & _FIXED_MASK != _FIXED_BITS:
        raise PrinterFault("error", f"unexpected answer 0x{answer:02x} to status request {n}")
    return answer


def check_status(ask: Callable[[bytes], int]) -> None:
    """Ask the printer for its status and raise PrinterFault if it cannot print.

    `ask` sends a status request and returns the one-byte answer.
    """
    printer = _checked(PRINTER_STATUS, ask(status_query(PRINTER_STATUS)))
    cause = _checked(OFFLINE_CAUSE, ask(status_query(OFFLINE_CAUSE)))
    paper = _checked(PAPER_SENSOR, ask(status_query(PAPER_SENSOR)))
    if paper & _PAPER_END or cause & _STOPPED_BY_PAPER_END:
        raise PrinterFault("paper_out", "the printer is out of paper")
    if cause & _COVER_OPEN:
        raise PrinterFault("cover_open", "the printer cover is open")
    if cause & _ERROR:
        raise PrinterFault("error", "the printer reports an error (cutter or mechanism)")
    if printer & _OFFLINE:
        raise PrinterFault("offline", "the printer reports it is off line")
