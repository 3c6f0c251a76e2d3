"""What screens need of a ticket or a counter, as plain JSON-ready dicts."""
from __future__ import annotations

from typing import Any

from hall.clock import iso
from hall.models import Counter, Ticket
from hall.queue.privacy import public_name


def stage_view(ticket: Ticket) -> dict[str, Any]:
    stages = ticket.service.stages
    current = stages[ticket.stage_position] if ticket.stage_position < len(stages) else None
    return {
        "position": ticket.stage_position,
        "code": ticket.stage_code,
        "name_zh": current.name_zh if current else ticket.stage_code,
        "name_en": current.name_en if current else ticket.stage_code,
        "limit_s": current.limit_s if current else None,
        "flow": [{"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en} for s in stages],
    }


def ticket_view(ticket: Ticket, name_mode: str | None = None) -> dict[str, Any]:
    """`ticket` is a `Ticket`, or a ticket just written with its service's layout (`tickets.NewTicket`)."""
    service = ticket.service
    return {
        "id": ticket.id,
        "number": ticket.number,
        "token": ticket.token,
        "service": service.prefix,
        "service_name_zh": service.name_zh,
        "service_name_en": service.name_en,
        "status": ticket.status,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "stage": stage_view(ticket),
        "counter": ticket.counter.number if ticket.counter else None,
        "target_counter": ticket.target_counter.number if ticket.target_counter else None,
        "issued_at": iso(ticket.issued_at),
        "queued_at": iso(ticket.queued_at),
        "called_at": iso(ticket.called_at),
        "closed_at": iso(ticket.closed_at),
        "recall_count": ticket.recall_count,
        "outcome": ticket.outcome,
        "notice": ticket.notice,
        "business_day": ticket.business_day.isoformat(),
        # Real-name tickets: the masked ID for staff to check the card; public views drop it.
        "id_masked": ticket.id_masked,
        "visitor_masked": public_name(ticket, name_mode),
    }


def masked_phone(phone: str) -> str:
    """138****5678: enough for the visitor to recognise their number, not enough for anyone else."""
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def notify_view(ticket: Ticket) -> dict[str, str] | None:
    """The phone a visitor left to be told when their turn is near, masked; for their own ticket page only."""
    return {"phone": masked_phone(ticket.notify_phone)} if ticket.notify_phone else None


def counter_view(counter: Counter) -> dict[str, Any]:
    return counter_fields(counter, counter.staff.name if counter.staff else None,
                          [link.service.prefix for link in counter.services], counter.current_ticket_id)


def counter_fields(counter: Any, staff: str | None, services: list[str],
                   current_ticket_id: int | None) -> dict[str, Any]:
    """A counter's view from its columns (an object or a row with the names of `Counter`'s), its staff member's
    name, its services' prefixes and the ticket it holds."""
    return {
        "id": counter.id,
        "number": counter.number,
        "name": counter.name,
        "zone": counter.zone,
        "status": counter.status,
        "status_since": iso(counter.status_since),
        "staff": staff,
        "services": services,
        "current_ticket_id": current_ticket_id,
    }
