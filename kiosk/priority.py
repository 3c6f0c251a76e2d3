"""Priority tickets (elderly, disabled) at the kiosk: off, a button for everyone, or behind a staff PIN."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hall.models import Hall

MODES = ("off", "button", "pin")
_hasher = PasswordHasher()


def set_kiosk_pin(hall: Hall, pin: str) -> None:
    """Require `pin` for priority tickets at the hall's kiosks (the caller commits)."""
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("the kiosk PIN must be 4 to 12 digits")
    hall.kiosk_pin_hash = _hasher.hash(pin)
    hall.kiosk_priority = "pin"


def priority_refusal(hall: Hall, pin: str | None) -> tuple[str, str] | None:
    """Why a priority ticket is refused, as (error code, message); None when it may be issued."""
    if hall.kiosk_priority == "button":
        return None
    if hall.kiosk_priority != "pin" or not hall.kiosk_pin_hash:
        return "priority_off", "this hall does not issue priority tickets at the kiosk"
    if not pin:
        return "pin_required", "a staff PIN is needed for a priority ticket"
    try:
        _hasher.verify(hall.kiosk_pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return "wrong_pin", "the staff PIN is wrong"
    return None
