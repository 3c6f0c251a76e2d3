"""The full current state of a hall, as a screen needs it on (re)connect (DESIGN §5)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from hall import lines
from hall.clock import iso
from hall.database import prepared
from hall.extensions import db
from hall.models import Counter, Hall, Notice, Service, Ticket, TicketEvent
from hall.queue.rules import today
from hall.queue.views import counter_view

RECENT_CALLS = 10


def recent_calls(hall: Hall, limit: int = RECENT_CALLS) -> list[dict[str, Any]]:
    """The last calls of today up to the hall's current seq, newest first: number, counter, zone, time
    (recalls included), and the visitor's masked name where the hall shows names.

    Bounded by the seq the snapshot carries: on PostgreSQL each statement sees the latest commit, and a
    call newer than that seq would reach the screen again as its event and be listed twice."""
    rows = db.session.execute(
        select(TicketEvent.kind, TicketEvent.at, Ticket.number, Counter.number, Counter.zone, Ticket.visitor_masked)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id).join(Counter, Counter.id == TicketEvent.counter_id)
        .where(TicketEvent.hall_id == hall.id, TicketEvent.kind.in_(("called", "recalled")),
               TicketEvent.seq <= hall.event_seq, Ticket.business_day == today(hall))
        .order_by(TicketEvent.id.desc()).limit(limit)).all()
    names = hall.public_name_mode == "masked_name"
    return [{"kind": kind, "at": iso(at), "number": number, "counter": counter, "zone": zone,
             "visitor_masked": name if names else None}
            for kind, at, number, counter, zone, name in rows]


def _waiting_by_service_statement(_dialect: str):
    waiting = lines.waiting_per_service()
    return (select(Service.prefix, Service.name_zh, Service.name_en, func.coalesce(waiting.c.waiting, 0))
            .outerjoin(waiting, waiting.c.service_id == Service.id)
            .where(Service.hall_id == bindparam("hall_id"), Service.active.is_(True))
            .order_by(Service.kiosk_order, Service.id))


def waiting_by_service(hall: Hall) -> list[dict[str, Any]]:
    """The hall's active services in kiosk order, each with the tickets waiting for it today (at any stage
    of its flow; not those called, served or missed), in one statement: the counts are the lines' running
    counts (hall/lines.py), kept in the transaction of every action, so the read does not grow with the
    queue. Read once an interval per busy hall (hall/realtime_waiting.py): the statement is built once."""
    connection = db.session.connection()
    rows = connection.execute(prepared(connection, _waiting_by_service_statement),
                              {"hall_id": hall.id, "business_day": today(hall)}).all()
    return [{"service": prefix, "name_zh": name_zh, "name_en": name_en, "waiting": int(count)}
            for prefix, name_zh, name_en, count in rows]


def counters_with_tickets(hall: Hall) -> list[tuple[Counter, Ticket | None]]:
    """The hall's active counters in number order, each with the ticket it holds (two queries)."""
    counters = db.session.scalars(select(Counter).where(Counter.hall_id == hall.id, Counter.active.is_(True))
                                  .order_by(Counter.number)).all()
    held = {t.id: t for t in db.session.scalars(select(Ticket).where(
        Ticket.id.in_([c.current_ticket_id for c in counters if c.current_ticket_id])))}
    return [(counter, held.get(counter.current_ticket_id)) for counter in counters]


def hall_snapshot(hall: Hall, *, public: bool = True) -> dict[str, Any]:
    """Everything a display, counter screen or monitor shows; `public` leaves out staff names."""
    db.session.refresh(hall)
    counter_rows = []
    for counter, ticket in counters_with_tickets(hall):
        row = counter_view(counter)
        row["ticket"] = {"number": ticket.number, "status": ticket.status, "called_at": iso(ticket.called_at),
                         "service": ticket.service.prefix, "stage": ticket.stage_code} if ticket else None
        if public:
            row.pop("staff")
        counter_rows.append(row)
    notices = db.session.scalars(select(Notice).where(Notice.hall_id == hall.id, Notice.active.is_(True))
                                 .order_by(Notice.sort_order, Notice.id)).all()
    return {
        "seq": hall.event_seq,
        "hall": {"slug": hall.slug, "name_zh": hall.name_zh, "name_en": hall.name_en,
                 "complaint_phone": hall.complaint_phone, "silent_zones": list(hall.silent_zones or [])},
        "business_day": today(hall).isoformat(),
        "counters": counter_rows,
        "recent_calls": recent_calls(hall),
        "services": waiting_by_service(hall),
        "notices": [{"id": n.id, "text_zh": n.text_zh, "text_en": n.text_en, "image_url": n.image_url,
                     "zone": n.zone} for n in notices],
    }
