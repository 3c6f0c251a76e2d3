"""Rules shared by the actions: business day, call order, when a service takes tickets."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from hall import clock
from hall.extensions import db
from hall.models import Hall, Service, Ticket


def today(hall: Hall, now: datetime | None = None) -> date:
    return clock.business_day(now or clock.utcnow(), hall.timezone, hall.reset_at)


def sort_key(queued_at: datetime, priority: str) -> datetime:
    """Virtual arrival: a higher class gets a head start in minutes, not absolute precedence."""
    minutes = current_app.config["HALL"]["queue"]["head_start_min"].get(priority, 0)
    return queued_at - timedelta(minutes=minutes)


def closed_reason(service: Service, hall: Hall, now: datetime) -> str | None:
    """Why a service takes no tickets now (inactive, hours, capacity), or None."""
    if not service.active:
        return "inactive"
    local = clock.to_local(now, hall.timezone).time()
    if service.opens_at and local < service.opens_at or service.closes_at and local >= service.closes_at:
        return "hours"
    if service.daily_capacity is not None:
        issued = db.session.scalar(select(func.count()).select_from(Ticket).where(
            Ticket.service_id == service.id, Ticket.business_day == today(hall, now))) or 0
        if issued >= service.daily_capacity:
            return "capacity"
    return None


def availability(service: Service, hall: Hall, now: datetime | None = None) -> tuple[bool, str | None]:
    """Whether a service takes tickets now, and if not why: inactive, hours or capacity."""
    reason = closed_reason(service, hall, now or clock.utcnow())
    return reason is None, reason
