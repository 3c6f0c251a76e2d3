"""Printer faults: why a ticket could not be printed."""

from __future__ import annotations

FAULT_KINDS = ("offline", "paper_out", "cover_open", "timeout", "error")


class PrinterFault(Exception):
    """A ticket could not be printed; `kind` is one of FAULT_KINDS."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, not {kind!r}")
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
