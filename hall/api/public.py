"""Public routes: services, issuing a ticket, a ticket's status, the queue."""
from __future__ import annotations

from flask import abort, jsonify, request
from sqlalchemy import func, select

from hall import clock
from hall.api import bp, body, plain_json
from hall.api.schemas import IssueTicket
from hall.estimate import HallPicture, estimate_new_ticket, estimate_ticket, people_ahead, stage_plan
from hall.extensions import db
from hall.models import Device, Hall, Service, Ticket
from hall.queue import issue_ticket
from hall.queue.lookup import hall_by_slug, ticket_by_token
from hall.queue.rules import availability, today
from hall.queue.views import notify_view, ticket_view
from hall.session_login import signed_in


def service_view(service: Service, hall: Hall, picture: HallPicture | None = None) -> dict:
    first = service.stages[0] if service.stages else None
    waiting, estimate = estimate_new_ticket(hall.id, service.id, first.code, today(hall), picture) \
        if first else (0, None)
    is_open, reason = availability(service, hall)
    return {
        "prefix": service.prefix, "name_zh": service.name_zh, "name_en": service.name_en,
        "open": is_open, "closed_reason": reason, "waiting": waiting,
        "estimated_wait_s": estimate.wait_s if estimate else 0,
        "estimated_wait_range_s": estimate.range_s if estimate else [0, 0],
        "wait_limit_s": service.wait_limit_s, "kiosk_order": service.kiosk_order,
        "real_name": service.real_name, "daily_limit_per_person": service.daily_limit_per_person,
        "stages": [{"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "limit_s": s.limit_s}
                   for s in service.stages],
    }


@bp.get("/halls/<hall>/services")
def list_services(hall: str):
    record = hall_by_slug(hall)
    services = db.session.scalars(select(Service).where(Service.hall_id == record.id, Service.active.is_(True))
                                  .order_by(Service.kiosk_order, Service.prefix)).all()
    picture = HallPicture(record.id, today(record))  # one read of the hall for every service's estimate
    return jsonify({"hall": record.slug, "name_zh": record.name_zh, "name_en": record.name_en,
                    "services": [service_view(s, record, picture) for s in services]})


@bp.get("/halls/<hall>/clock")
def hall_clock(hall: str):
    """The server's time and the hall's time zone: every screen shows hall time from it."""
    record = hall_by_slug(hall)
    return jsonify({"hall": record.slug, "now": clock.iso(clock.utcnow()), "timezone": record.timezone,
                    "business_day": today(record).isoformat()})


def kiosk_device(hall_id: int) -> Device | None:
    """The registered, active kiosk of the hall whose token the request carries."""
    token = request.headers.get("X-Device-Token") or request.args.get("device")
    if not token:
        return None
    return db.session.scalar(select(Device).where(Device.token == token, Device.hall_id == hall_id,
                                                  Device.kind == "kiosk", Device.active.is_(True)))


def _is_staff_of(hall: Hall) -> bool:
    return (user := signed_in()) is not None and user.hall_id == hall.id


def may_issue(hall: Hall, channel: str) -> None:
    """Staff may always issue; the public where the hall allows it, through a registered
    kiosk where the hall requires one."""
    if _is_staff_of(hall):
        return
    if channel == "staff":
        abort(401, description="staff tickets need a staff login")
    if channel == "kiosk" and hall.require_registered_kiosk and kiosk_device(hall.id) is None:
        abort(403, description="this hall takes tickets only from registered kiosks")
    if not hall.public_issue and kiosk_device(hall.id) is None:
        abort(403, description="this hall does not issue tickets to the public here")


@bp.post("/halls/<hall>/tickets")
def create_ticket(hall: str):
    data = body(IssueTicket)

    def authorise(record: Hall) -> None:
        may_issue(record, data.channel)
        if data.priority != "normal" and not _is_staff_of(record):
            abort(403, description="only staff issue priority tickets (appointments check in at the kiosk)")

    staff_id = user.id if (user := signed_in()) is not None else None
    view = issue_ticket(hall, data.service, priority=data.priority, channel=data.channel,
                        idempotency_key=data.idempotency_key, staff_id=staff_id, id_number=data.id_number,
                        authorise=authorise)
    return plain_json(view, 200 if view.get("repeated") else 201)


def public_ticket_view(ticket: Ticket) -> dict:
    """A ticket as its phone page shows it: with the wait estimate, its range and when each stage
    is expected to end (hall time, HH:MM)."""
    ahead = people_ahead(ticket)
    view = ticket_view(ticket)
    view.pop("id")
    view.pop("id_masked")  # the phone page is public: whoever holds the link sees it
    picture = HallPicture(ticket.hall_id, ticket.business_day)
    estimate = estimate_ticket(ticket, ahead, picture)
    names = {s.code: s for s in ticket.service.stages}
    zone = db.session.get(Hall, ticket.hall_id).timezone
    stages = [{"code": step["code"], "name_zh": names[step["code"]].name_zh, "name_en": names[step["code"]].name_en,
               "expected_end_at": step["expected_end_at"],
               "expected_end_local": clock.to_local(step["at"], zone).strftime("%H:%M")}
              for step in stage_plan(ticket, ahead, picture)]
    return {**view, "people_ahead": ahead, "notify": notify_view(ticket), "estimated_wait_s": estimate.wait_s,
            "estimated_wait_range_s": estimate.range_s, "stages_expected": stages}


@bp.get("/tickets/<token>")
def get_ticket(token: str):
    return jsonify(public_ticket_view(ticket_by_token(token)))


@bp.get("/halls/<hall>/queue")
def queue_state(hall: str):
    record = hall_by_slug(hall)
    day = today(record)
    rows = db.session.execute(
        select(Ticket.service_id, Ticket.stage_code, Ticket.number, Ticket.priority, Ticket.queued_at)
        .where(Ticket.hall_id == record.id, Ticket.business_day == day, Ticket.status == "waiting")
        .order_by(Ticket.sort_at, Ticket.id)).all()
    services = db.session.scalars(select(Service).where(Service.hall_id == record.id)
                                  .order_by(Service.kiosk_order)).all()
    lines = {s.id: {"service": s.prefix, "name_zh": s.name_zh, "name_en": s.name_en, "waiting": 0, "tickets": []}
             for s in services}
    for service_id, stage_code, number, priority, queued_at in rows:
        line = lines[service_id]
        line["waiting"] += 1
        line["tickets"].append({"number": number, "stage": stage_code, "priority": priority,
                                "queued_at": queued_at.isoformat() + "Z"})
    served = db.session.scalar(select(func.count()).where(Ticket.hall_id == record.id, Ticket.business_day == day,
                                                          Ticket.status == "done")) or 0
    return jsonify({"hall": record.slug, "business_day": day.isoformat(), "waiting": len(rows),
                    "served_today": served, "services": list(lines.values())})
