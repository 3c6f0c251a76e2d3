"""Where tickets are sent: the printer connection settings."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

BACKENDS = ("usb", "network", "serial", "file", "none")

#: Settings each backend cannot do without.
_REQUIRED = {
    "usb": ("usb_vendor", "usb_product"),
    "network": ("host",),
    "serial": ("serial_device",),
    "file": ("path",),
    "none": (),
}


@dataclass(frozen=True)
class PrinterConfig:
    """Connection settings of the ticket printer; `backend` picks which apply.

    usb: usb_vendor/usb_product ids; network: host/port (raw TCP, usually
    9100); serial: serial_device/baudrate; file: path the bytes are appended
    to; none: printing disabled.  timeout_s bounds every wait on the printer.
    """

    backend: str
    host: str | None = None
    port: int = 9100
    usb_vendor: int | None = None
    usb_product: int | None = None
    serial_device: str | None = None
    baudrate: int = 9600
    path: str | None = None
    timeout_s: float = 3.0

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"printer backend must be one of {BACKENDS}, not {self.backend!r}")
        missing = [name for name in _REQUIRED[self.backend] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"printer backend {self.backend!r} needs {', '.join(missing)}")
        if not 0 < self.port < 65536:
            raise ValueError(f"printer port must be 1..65535, not {self.port}")
        if self.baudrate <= 0:
            raise ValueError(f"printer baudrate must be positive, not {self.baudrate}")
        if self.timeout_s <= 0:
            raise ValueError(f"printer timeout_s must be positive, not {self.timeout_s}")


_TYPES: dict[str, tuple[type, ...]] = {
    "backend": (str,),
    "host": (str,),
    "port": (int,),
    "usb_vendor": (int, str),
    "usb_product": (int, str),
    "serial_device": (str,),
    "baudrate": (int,),
    "path": (str,),
    "timeout_s": (int, float),
}


def _value(name: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, _TYPES[name]):
        raise ValueError(f"printer {name} has the wrong type: {value!r}")
    if name in ("usb_vendor", "usb_product") and isinstance(value, str):
        # USB ids are written in hex ("0x0416") as often as plain integers.
        try:
            return int(value, 0)
        except ValueError:
            raise ValueError(f"printer {name} is not a number: {value!r}") from None
    return value


def printer_config_from_dict(d: dict[str, Any]) -> PrinterConfig:
    """Settings from a config table such as `[printer]` in config.toml.

    Raises ValueError naming the offending key for unknown keys, wrong types,
    or settings the chosen backend needs but lacks.
    """
    known = {f.name for f in fields(PrinterConfig)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"unknown printer setting(s): {', '.join(unknown)}")
    if "backend" not in d:
        raise ValueError(f"printer backend is missing; choose one of {BACKENDS}")
    return PrinterConfig(**{name: _value(name, value) for name, value in d.items()})
