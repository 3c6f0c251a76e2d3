"""Time in one place: naive UTC in the database, the hall's zone for business days."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """Naive UTC now (tests replace this function to move time)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))


def business_day(moment: datetime, zone: str, reset_at: time) -> date:
    """The business day a UTC moment falls in: the local date, less one before the reset time."""
    local = to_local(moment, zone)
    day = local.date()
    return day - timedelta(days=1) if local.time() < reset_at else day


def local_to_utc(day: date, at: time, zone: str) -> datetime:
    return datetime.combine(day, at, ZoneInfo(zone)).astimezone(timezone.utc).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with a Z, as the API and the pages show UTC moments."""
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"


def local_minute(stamp: str, zone: str) -> str:
    """An ISO UTC moment as `iso` writes it, shown in the hall's zone to the minute: "2026-03-02 09:15"."""
    moment = datetime.fromisoformat(stamp.removesuffix("Z"))
    return to_local(moment, zone).strftime("%Y-%m-%d %H:%M")
