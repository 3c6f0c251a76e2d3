"""Sending rendered ticket bytes to the configured printer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from printer.backends import PrinterConfig
from printer.faults import FAULT_KINDS, PrinterFault
from printer.links import open_link
from printer.status import check_status

__all__ = ["FAULT_KINDS", "DeliveryResult", "PrinterFault", "deliver"]


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of one delivery; `fault` is a PrinterFault kind when not ok."""

    ok: bool
    fault: str | None
    message: str


def _to_printer(data: bytes, config: PrinterConfig) -> str:
    with open_link(config) as link:
        # Status first: a printer that cannot print receives nothing.
        check_status(link.ask)
        link.send(data)
    return f"sent {len(data)} bytes to the {config.backend} printer"


def _to_file(data: bytes, config: PrinterConfig) -> str:
    with open(config.path, "ab") as out:
        out.write(data)
    return f"appended {len(data)} bytes to {config.path}"


def _nowhere(data: bytes, config: PrinterConfig) -> str:
    return "printing is disabled"


_SENDERS: dict[str, Callable[[bytes, PrinterConfig], str]] = {
    "network": _to_printer,
    "usb": _to_printer,
    "serial": _to_printer,
    "file": _to_file,
    "none": _nowhere,
}


def deliver(data: bytes, config: PrinterConfig) -> DeliveryResult:
    """Send `data` once to the printer of `config`; never raises.

    It never retries: a fault reported before sending means nothing was
    printed; a connection lost while sending may leave a partial ticket.
    """
    try:
        message = _SENDERS[config.backend](data, config)
    except PrinterFault as fault:
        return DeliveryResult(ok=False, fault=fault.kind, message=fault.message)
    except Exception as exc:  # the caller records faults; it must not crash on one
        return DeliveryResult(ok=False, fault="error", message=f"{type(exc).__name__}: {exc}")
    return DeliveryResult(ok=True, fault=None, message=message)
