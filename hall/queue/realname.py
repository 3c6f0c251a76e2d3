"""Real-name tickets against scalping (号贩子): the resident ID number and the per-person daily limit.

The number itself is never stored: the limit counts a keyed hash of it (HMAC-SHA256 with a server
secret, so a leaked table cannot be reversed by hashing every possible number), and staff see a
masked form (3201**********123X) to check the visitor's card at the counter. The limit is checked
and the ticket inserted inside the hall's write action, so two kiosks cannot both exceed it.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, bindparam, func, select
from sqlalchemy.engine import Connection

from hall.database import run_driver
from hall.extensions import db
from hall.models import Appointment, Service, Ticket
from hall.queue.errors import Conflict, QueueError

REAL_NAME_MODES = ("off", "optional", "required")
#: GB 11643 check digit: weights of the first 17 digits, and the character for each remainder mod 11.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
#: First two digits: provinces, autonomous regions and municipalities (and 71, 81–83 for Taiwan,
#: Hong Kong and Macao residence permits).
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
              50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}


class InvalidIdNumber(QueueError):
    status = 422
    code = "invalid_id_number"


class IdNumberRequired(QueueError):
    status = 422
    code = "id_number_required"


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"


@dataclass(frozen=True)
class Identity:
    """What a ticket keeps of an ID number."""

    hash: str
    masked: str


def normalise(id_number: str) -> str:
    return "".join(id_number.split()).upper()


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 applies it."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def id_number_problem(id_number: str, today: date | None = None) -> str | None:
    """Why an 18-character resident ID number is not valid, or None when it is."""
    return _problem(normalise(id_number), today)


def _problem(number: str, today: date | None = None) -> str | None:
    """`id_number_problem` of a number already `normalise`d."""
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        return "length"
    if int(number[:2]) not in _PROVINCES or number[2:6] == "0000":
        return "region"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "birth_date"
    if born.year < 1900 or born > (today or date.today()):
        return "birth_date"
    if check_digit(number[:17]) != number[17]:
        return "check_digit"
    return None


def mask(id_number: str) -> str:
    """3201**********123X: the region and the last four, enough to match the card in hand."""
    return _masked(normalise(id_number))


def _masked(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def simulated_id_number(n: int) -> str:
    """A valid, made-up resident ID for the n-th visitor of a simulation or benchmark (distinct for n < 10⁷)."""
    n %= 10_000_000
    first17 = f"320102{date(1950, 1, 1) + timedelta(days=n // 1000):%Y%m%d}{n % 1000:03d}"
    return first17 + check_digit(first17)


@lru_cache(maxsize=8)
def _keyed(own: str, secret_key: str) -> hmac.HMAC:
    """The real-name hash with its key and nothing hashed yet, made once per key (each hash copies it):
    the key and the HMAC's key schedule cost more than hashing a number."""
    # Derived from the app's secret key, so a deployment that sets that one is covered too.
    key = own.encode() if own else hmac.new(secret_key.encode(), b"hall real-name id", hashlib.sha256).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def keyed_hash(id_number: str) -> str:
    return _hash(normalise(id_number))


def _hash(number: str) -> str:
    config = current_app.config
    hasher = _keyed(config["HALL"]["real_name"]["secret"], config["SECRET_KEY"]).copy()
    hasher.update(number.encode())
    return hasher.hexdigest()


def identity_of(id_number: str) -> Identity:
    """Validate an ID number and keep only its keyed hash and masked form."""
    number = normalise(id_number)
    problem = _problem(number)
    if problem:
        # The message names the problem, never the number (it would end up in logs).
        raise InvalidIdNumber(f"not a valid resident ID number ({problem.replace('_', ' ')})", problem=problem)
    return Identity(hash=_hash(number), masked=_masked(number))


def appointment_identity(appointment: Appointment) -> Identity | None:
    """The identity a checked-in appointment hands on to its ticket (booked on a real-name service)."""
    return Identity(hash=appointment.id_hash, masked=appointment.id_masked or "") if appointment.id_hash else None


def taken_count(hall_id: Any, day: Any, id_hash: Any, service_id: Any) -> ColumnElement[int]:
    """The daily limit's count: one ID's tickets (not cancelled) and booked appointments of a service and
    business day, of the values given (bound parameters here; a PostgreSQL function's arguments in
    `hall.queue.limit_function`, which compiles this same expression into its body)."""
    tickets = select(func.count()).select_from(Ticket).where(
        Ticket.hall_id == hall_id, Ticket.business_day == day, Ticket.id_hash == id_hash,
        Ticket.service_id == service_id, Ticket.status != "cancelled").scalar_subquery()
    booked = select(func.count()).select_from(Appointment).where(
        Appointment.service_id == service_id, Appointment.day == day, Appointment.id_hash == id_hash,
        Appointment.status == "booked").scalar_subquery()
    return tickets + booked


def _taken_statement(_dialect: str):
    return select(taken_count(*(bindparam(name) for name in ("hall_id", "day", "id_hash", "service_id"))))


def taken_today(service: Service, day: date, id_hash: str, connection: Connection | None = None) -> int:
    """`taken_count` of one ID for a service and business day (one statement), on the given connection (the
    action's) or the session's."""
    return run_driver(connection or db.session.connection(), _taken_statement, {
        "hall_id": service.hall_id, "day": day, "id_hash": id_hash, "service_id": service.id}).scalar_one() or 0


def admit(service: Service, day: date, id_number: str | None, connection: Connection | None = None) -> Identity | None:
    """Inside the hall's write action (on its `connection`, else the session's): the identity a new ticket
    of `service` on `day` carries.

    Refuses a missing number where the service requires one, an invalid number, and an ID over the
    service's daily limit. A service without real-name tickets ignores the number and costs no query.
    """
    identity = identify(service, id_number)
    limit = service.daily_limit_per_person
    if identity and limit and taken_today(service, day, identity.hash, connection) >= limit:
        raise limit_reached(service)
    return identity


def identify(service: Service, id_number: str | None) -> Identity | None:
    """`admit` without the daily limit: for an issue that counts the visitor's tickets itself."""
    if service.real_name == "off" or (id_number is None and service.real_name == "optional"):
        return None
    if not id_number:
        raise IdNumberRequired(f"service {service.prefix} takes tickets only with the visitor's ID number")
    return identity_of(id_number)


def limit_reached(service: Service) -> DailyLimitReached:
    limit = service.daily_limit_per_person
    return DailyLimitReached(f"this ID number already has {limit} ticket(s) of service {service.prefix} today",
                             limit=limit)
