"""Report filters from query arguments, shared by the pages, the exports and the API."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import select

from hall.extensions import db
from hall.models import Counter, Hall, Service, Staff
from hall.validation import ascii_int
from hall.queue.rules import today
from hall.reports.engine import Filters

MAX_DAYS = 366


class BadFilter(ValueError):
    """A filter argument that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Choices:
    """What the filters may name in one hall (for the form's selects)."""

    services: list[Service]
    counters: list[Counter]
    staff: list[Staff]

    @classmethod
    def of(cls, hall: Hall) -> "Choices":
        return cls(
            services=list(db.session.scalars(select(Service).where(Service.hall_id == hall.id)
                                             .order_by(Service.kiosk_order, Service.prefix))),
            counters=list(db.session.scalars(select(Counter).where(Counter.hall_id == hall.id)
                                             .order_by(Counter.number))),
            staff=list(db.session.scalars(select(Staff).where(Staff.hall_id == hall.id).order_by(Staff.name))))


def _date(args: Mapping[str, str], name: str, default: date) -> date:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadFilter(f"{name} must be a date YYYY-MM-DD, not {raw!r}") from None


def filters_from_args(hall: Hall, args: Mapping[str, str]) -> Filters:
    """?from=&to= (business days, default today), service=<prefix>, counter=<number>, staff=<login>, hour=0–23."""
    first = _date(args, "from", today(hall))
    last = _date(args, "to", first)
    if last < first:
        raise BadFilter("to is before from")
    if (last - first).days >= MAX_DAYS:
        raise BadFilter(f"ask for at most {MAX_DAYS} days at a time")
    choices = Choices.of(hall)
    service_id = counter_id = staff_id = hour = None
    if raw := (args.get("service") or "").strip():
        service_id = next((s.id for s in choices.services if s.prefix == raw.upper()), None)
        if service_id is None:
            raise BadFilter(f"unknown service {raw!r}")
    if raw := (args.get("counter") or "").strip():
        counter_id = next((c.id for c in choices.counters if str(c.number) == raw), None)
        if counter_id is None:
            raise BadFilter(f"unknown counter {raw!r}")
    if raw := (args.get("staff") or "").strip():
        staff_id = next((s.id for s in choices.staff if s.login == raw), None)
        if staff_id is None:
            raise BadFilter(f"unknown staff {raw!r}")
    if raw := (args.get("hour") or "").strip():
        hour = ascii_int(raw, 0, 23)
        if hour is None:
            raise BadFilter(f"hour must be 0 to 23, not {raw!r}")
    return Filters(hall.id, first, last, service_id=service_id, counter_id=counter_id, staff_id=staff_id, hour=hour)


def filter_args(filters: Filters, choices: Choices) -> dict[str, str]:
    """The query arguments that give these filters back (for links to exports and other views)."""
    args = {"from": filters.first.isoformat(), "to": filters.last.isoformat()}
    if filters.service_id is not None:
        args["service"] = next(s.prefix for s in choices.services if s.id == filters.service_id)
    if filters.counter_id is not None:
        args["counter"] = str(next(c.number for c in choices.counters if c.id == filters.counter_id))
    if filters.staff_id is not None:
        args["staff"] = next(s.login for s in choices.staff if s.id == filters.staff_id)
    if filters.hour is not None:
        args["hour"] = str(filters.hour)
    return args


def filters_or_400(hall: Hall, args: Mapping[str, str]) -> Filters:
    """`filters_from_args`, answering a bad filter with a 400 that says what is wrong."""
    try:
        return filters_from_args(hall, args)
    except BadFilter as exc:
        abort(400, description=str(exc))
