"""What the monitor shows: every line's wait against its limit, every counter's stage time, alarms."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hall import clock
from hall.alarms import listed_alarms
from hall.counter_schedule import schedule_view
from hall.estimate import HallPicture, estimate_new_ticket_s
from hall.extensions import db
from hall.models import Hall, Service, Stage, Ticket
from hall.queue.rules import today
from hall.snapshot import counters_with_tickets


def _service_rows(hall: Hall, day) -> list[dict[str, Any]]:
    lines = dict((sid, (count, oldest)) for sid, count, oldest in db.session.execute(
        select(Ticket.service_id, func.count(), func.min(Ticket.queued_at))
        .where(Ticket.hall_id == hall.id, Ticket.status == "waiting", Ticket.business_day == day)
        .group_by(Ticket.service_id)).all())
    rows = []
    picture = HallPicture(hall.id, day)  # one read of the hall for every service's estimate
    for service in db.session.scalars(select(Service).where(Service.hall_id == hall.id, Service.active.is_(True))
                                      .order_by(Service.kiosk_order, Service.prefix)):
        waiting, oldest = lines.get(service.id, (0, None))
        estimate = estimate_new_ticket_s(hall.id, service.id, service.stages[0].code, day, picture)[1] \
            if service.stages else None
        rows.append({"service": service.prefix, "name_zh": service.name_zh, "name_en": service.name_en,
                     "waiting": waiting, "oldest_queued_at": clock.iso(oldest),
                     "wait_limit_s": service.wait_limit_s, "estimate_s": estimate})
    return rows


def _counter_rows(hall: Hall) -> list[dict[str, Any]]:
    rows = []
    for counter, ticket in counters_with_tickets(hall):
        stage: Stage | None = ticket.stages[-1] if ticket else None
        rows.append({
            "number": counter.number, "name": counter.name, "zone": counter.zone, "status": counter.status,
            "status_since": clock.iso(counter.status_since),
            "staff": counter.staff.name if counter.staff else None,
            "services": [{"service": link.service.prefix, "stages": link.stages} for link in counter.services],
            "schedule": schedule_view(counter.opens_at, counter.closes_at, counter.breaks),
            "ticket": None if ticket is None else {
                "number": ticket.number, "status": ticket.status, "stage": ticket.stage_code,
                "stage_name_zh": ticket.service.stage_at(ticket.stage_position).name_zh,
                "stage_name_en": ticket.service.stage_at(ticket.stage_position).name_en,
                "since": clock.iso(stage.started_at or stage.called_at),
                "limit_s": ticket.service.stage_at(ticket.stage_position).limit_s if ticket.status == "serving"
                else None,
            },
        })
    return rows


def _zone_rows(hall: Hall, counters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every display zone of the hall's counters (and any silent one), with its silent calling flag."""
    silent = list(hall.silent_zones or [])
    zones = sorted(set(c["zone"] for c in counters) | set(silent))
    return [{"zone": zone, "silent": zone in silent} for zone in zones]


def monitor_state(hall: Hall) -> dict[str, Any]:
    """The monitor's full state; `now` lets the page count elapsed times on its own clock."""
    db.session.refresh(hall)
    day = today(hall)
    counters = _counter_rows(hall)
    return {
        "seq": hall.event_seq, "now": clock.iso(clock.utcnow()), "business_day": day.isoformat(),
        "hall": {"slug": hall.slug, "name_zh": hall.name_zh, "name_en": hall.name_en},
        "services": _service_rows(hall, day),
        "counters": counters,
        "zones": _zone_rows(hall, counters),
        "alarms": listed_alarms(hall.id),
        "all_services": [{"service": s.prefix, "name_zh": s.name_zh, "name_en": s.name_en,
                          "stages": [st.code for st in s.stages]}
                         for s in db.session.scalars(select(Service).where(Service.hall_id == hall.id,
                                                                           Service.active.is_(True))
                                                     .order_by(Service.kiosk_order))],
    }
