"""JSON routes of the kiosk page and the kiosk agent, under /api/v1 (JSON errors, no CSRF: no staff cookie).

The kiosk page uses these rather than the generic ticket API because one answer carries what its
screen shows: the ticket, its status-page link and QR code, and whether the printer printed it.
"""
from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any, Literal

from flask import Blueprint, abort, jsonify, request
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from hall import clock
from hall.api import body
from hall.api.errors import json_error
from hall.api.public import kiosk_device, may_issue, service_view
from hall.api.schemas import Body
from hall.devices import mark_seen
from hall.extensions import csrf, db
from hall.models import Device, Hall, PrintJob, Service, Ticket
from hall.qr import qr_svg
from hall.queue import issue_ticket
from hall.queue.checkin import check_in
from hall.queue.lookup import hall_by_slug, ticket_by_token
from kiosk.printing import job_view, kiosk_printer, print_ticket, record_result, status_url, ticket_bytes
from kiosk.priority import priority_refusal
from printer.delivery import DeliveryResult
from printer.faults import FAULT_KINDS

bp = Blueprint("kiosk_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

#: Jobs older than this are not handed to the agent: the visitor has long left the kiosk.
AGENT_JOB_MAX_AGE_S = 300


class KioskIssue(Body):
    service: str = Field(min_length=1, max_length=4)
    priority: Literal["normal", "priority"] = "normal"
    pin: str | None = Field(default=None, max_length=12)
    idempotency_key: str = Field(min_length=8, max_length=80, description="one per tap; retries reuse it")
    id_number: str | None = Field(default=None, max_length=40, description="resident ID (real-name services)")


class KioskCheckIn(Body):
    code: str = Field(min_length=1, max_length=40)
    idempotency_key: str = Field(min_length=8, max_length=80, description="one per scan; retries reuse it")


class PrintOutcome(Body):
    ok: bool
    fault: Literal[FAULT_KINDS] | None = None  # type: ignore[valid-type]
    message: str = Field(default="", max_length=500)


def issued_answer(view: dict[str, Any], device: Device | None) -> dict[str, Any]:
    link = status_url(view["token"])
    return {"ticket": view, "status_url": link, "qr_svg": qr_svg(link),
            "print": print_ticket(view["id"], device, retried=bool(view.get("repeated")))}


@bp.get("/halls/<hall>/kiosk")
def kiosk_state(hall: str):
    """Services with waiting count, estimated wait and open/closed; whether this kiosk is registered."""
    record = hall_by_slug(hall)
    device = kiosk_device(record.id)
    mark_seen(device)
    services = db.session.scalars(select(Service).where(Service.hall_id == record.id, Service.active.is_(True))
                                  .order_by(Service.kiosk_order, Service.prefix)).all()
    return jsonify({
        "hall": {"slug": record.slug, "name_zh": record.name_zh, "name_en": record.name_en},
        "registered": device is not None, "require_registered": record.require_registered_kiosk,
        "priority": record.kiosk_priority if record.kiosk_priority != "pin" or record.kiosk_pin_hash else "off",
        "services": [service_view(s, record) for s in services],
    })


@bp.post("/halls/<hall>/kiosk/tickets")
def kiosk_issue(hall: str):
    """A tap: a normal ticket is authorised on the hall the action reads (no read of its own before);
    a priority one is authorised once, on its own read of the hall, before its staff PIN is checked
    (a password hash, outside the hall's lock)."""
    data = body(KioskIssue)
    issued_in: list[int] = []  # the hall's id, as the action read it
    authorised_in: int | None = None  # the hall a priority tap was authorised in, on its own read

    def authorise(record: Hall) -> None:
        if record.id != authorised_in:
            may_issue(record, "kiosk")
        issued_in.append(record.id)

    if data.priority == "priority":
        record = hall_by_slug(hall)
        may_issue(record, "kiosk")
        if refusal := priority_refusal(record, data.pin):
            return json_error(403, *refusal)
        authorised_in = record.id
    staff_id = current_user.id if current_user.is_authenticated else None
    view = issue_ticket(hall, data.service, priority=data.priority, channel="kiosk", idempotency_key=data.idempotency_key,
                        staff_id=staff_id, id_number=data.id_number, authorise=authorise)
    return jsonify(issued_answer(view, kiosk_device(issued_in[0]))), 200 if view.get("repeated") else 201


@bp.post("/halls/<hall>/kiosk/check-in")
def kiosk_check_in(hall: str):
    record = hall_by_slug(hall)
    data = body(KioskCheckIn)
    may_issue(record, "kiosk")
    view = check_in(record.id, data.code, idempotency_key=data.idempotency_key)
    return jsonify(issued_answer(view, kiosk_device(record.id))), 200 if view.get("repeated") else 201


@bp.get("/halls/<hall>/kiosk/tickets/<token>/print")
def kiosk_print_status(hall: str, token: str):
    """The print job of a ticket (the kiosk asks again while a slow printer is still busy)."""
    ticket = ticket_by_token(token)
    if ticket.hall_id != hall_by_slug(hall).id:
        abort(404, description="unknown ticket")
    return jsonify(job_view(db.session.scalar(select(PrintJob).where(PrintJob.ticket_id == ticket.id))))


def _agent_device() -> Device:
    token = request.headers.get("X-Device-Token")
    device = db.session.scalar(select(Device).where(Device.token == (token or ""), Device.kind == "kiosk",
                                                    Device.active.is_(True))) if token else None
    if device is None:
        abort(401, description="send the token of an active kiosk in X-Device-Token")
    mark_seen(device)
    return device


@bp.get("/kiosk/print-jobs")
def agent_jobs():
    """The kiosk's pending print jobs, oldest first, with their ESC/POS bytes (base64)."""
    device = _agent_device()
    try:
        printer = kiosk_printer(device)
    except ValueError as exc:
        abort(409, description=str(exc))
    since = clock.utcnow() - timedelta(seconds=AGENT_JOB_MAX_AGE_S)
    jobs = db.session.scalars(select(PrintJob).where(PrintJob.device_id == device.id, PrintJob.status == "pending",
                                                     PrintJob.created_at >= since).order_by(PrintJob.id)).all()
    answer = []
    for job in jobs:
        ticket = db.session.get(Ticket, job.ticket_id)
        answer.append({"id": job.id, "number": ticket.number,
                       "data": base64.b64encode(ticket_bytes(ticket, printer)).decode("ascii")})
    return jsonify({"device": device.name, "jobs": answer})


@bp.post("/kiosk/print-jobs/<int:job_id>")
def agent_result(job_id: int):
    """The agent reports a job printed or failed; reporting the same outcome again changes nothing."""
    device = _agent_device()
    data = body(PrintOutcome)
    job = db.session.get(PrintJob, job_id)
    if job is None or job.device_id != device.id:
        abort(404, description="unknown print job")
    if job.status == "pending":
        record_result(job, DeliveryResult(ok=data.ok, fault=None if data.ok else (data.fault or "error"),
                                          message=data.message or ("printed" if data.ok else "not printed")))
    return jsonify(job_view(job))

