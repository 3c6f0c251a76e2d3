"""Wait estimation (DESIGN §6): people ahead × recent handling time ÷ counters serving."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import and_, func, or_, select

from hall import lines
from hall.extensions import db
from hall.models import Counter, CounterService, Ticket


def _line(ticket_service_id: int, stage_code: str, hall_id: int, business_day):
    """Filter of the waiting tickets in one line (service and stage of one day)."""
    return and_(Ticket.hall_id == hall_id, Ticket.status == "waiting", Ticket.service_id == ticket_service_id,
                Ticket.stage_code == stage_code, Ticket.business_day == business_day)


def people_ahead(ticket: Ticket) -> int:
    if ticket.status != "waiting":
        return 0
    ahead = or_(Ticket.sort_at < ticket.sort_at, and_(Ticket.sort_at == ticket.sort_at, Ticket.id < ticket.id))
    return db.session.scalar(
        select(func.count()).where(_line(ticket.service_id, ticket.stage_code, ticket.hall_id, ticket.business_day),
                                   ahead)) or 0


def people_ahead_on_joining(ticket: Ticket, waiting_before: int) -> int:
    """People ahead of a ticket that has just joined the back of its line (`lines.join` says how many
    waited there); only a priority head start, which puts it further forward, needs counting."""
    return waiting_before if ticket.sort_at >= ticket.queued_at else people_ahead(ticket)


def handling_average_s(service_id: int, stage_code: str) -> float:
    """Exponentially weighted average handling time of a stage (the configured default before any)."""
    kept = lines.handling(service_id, stage_code)
    return kept.average_s if kept else float(current_app.config["HALL"]["queue"]["default_handling_s"])


def counters_serving(hall_id: int, service_id: int, stage_code: str) -> int:
    links = db.session.scalars(
        select(CounterService).join(Counter, Counter.id == CounterService.counter_id)
        .where(Counter.hall_id == hall_id, Counter.status == "open", CounterService.service_id == service_id)).all()
    return sum(1 for link in links if link.serves(service_id, stage_code))


def estimate_wait_s(ticket: Ticket, ahead: int | None = None) -> int:
    ahead = people_ahead(ticket) if ahead is None else ahead
    counters = max(1, counters_serving(ticket.hall_id, ticket.service_id, ticket.stage_code))
    return round(ahead * handling_average_s(ticket.service_id, ticket.stage_code) / counters)


def estimate_new_ticket_s(hall_id: int, service_id: int, stage_code: str, business_day) -> tuple[int, int]:
    """(people waiting, estimated wait) for a ticket taken now."""
    waiting = lines.waiting(hall_id, business_day, service_id, stage_code)
    counters = max(1, counters_serving(hall_id, service_id, stage_code))
    return waiting, round(waiting * handling_average_s(service_id, stage_code) / counters)
