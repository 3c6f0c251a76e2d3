"""Printing a kiosk's tickets: one PrintJob per ticket, delivered by the server or by the kiosk agent.

Where the printer sits is the `placement` of the kiosk's printer table (Device.printer, else
`[printer]` in config.toml): "server" (default) sends the bytes from the server to a network,
USB, serial or file printer; "agent" leaves the job pending for `python -m kiosk.agent` on the
kiosk PC. Server delivery runs in a background thread; the HTTP answer waits for it at most the
printer's timeout, so a hanging printer never holds a visitor longer than that.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hall import clock
from hall.estimate import estimate_wait_s, people_ahead
from hall.extensions import db
from hall.models import Alarm, Device, Hall, PrintJob, Ticket
from printer.backends import PrinterConfig, printer_config_from_dict
from printer.delivery import DeliveryResult, deliver
from printer.escpos_ticket import CHINESE_MODES, render_escpos
from printer.layout import TicketPrint
from printer.preview import render_png

PLACEMENTS = ("server", "agent")
ALARM_KIND = "printer_fault"
#: Settings of a printer table that are about the ticket, not the connection.
_TICKET_KEYS = ("placement", "chinese_mode", "footer")


@dataclass(frozen=True)
class KioskPrinter:
    """How a kiosk's tickets are printed; `connection` is None for the agent placement."""

    placement: str
    connection: PrinterConfig | None
    chinese_mode: str
    footer: str

    @property
    def disabled(self) -> bool:
        return self.connection is not None and self.connection.backend == "none"


def kiosk_printer(device: Device | None) -> KioskPrinter:
    """The printer of a kiosk; raises ValueError naming a wrong setting."""
    defaults = current_app.config["HALL"]["printer"]
    table = dict(device.printer) if device is not None and device.printer else dict(defaults)
    placement = table.pop("placement", "server")
    chinese_mode = table.pop("chinese_mode", "gb18030")
    footer = table.pop("footer", defaults.get("footer", ""))
    if placement not in PLACEMENTS:
        raise ValueError(f"printer placement must be one of {PLACEMENTS}, not {placement!r}")
    if chinese_mode not in CHINESE_MODES:
        raise ValueError(f"printer chinese_mode must be one of {CHINESE_MODES}, not {chinese_mode!r}")
    # config.toml writes unset connection settings as empty strings.
    connection = None if placement == "agent" else printer_config_from_dict(
        {key: value for key, value in table.items() if value != ""})
    return KioskPrinter(placement, connection, chinese_mode, footer)


def public_base_url() -> str:
    """Base of the links printed in QR codes: `[server] public_url`, else the address the kiosk used."""
    return (current_app.config["HALL"]["server"]["public_url"] or request.url_root).rstrip("/")


def status_url(token: str) -> str:
    """The phone status page of a ticket, as an absolute URL."""
    return f"{public_base_url()}/t/{token}"


def ticket_print(ticket: Ticket, footer: str) -> TicketPrint:
    """What the printed ticket says, from the ticket as it stands now."""
    hall = db.session.get(Hall, ticket.hall_id)
    ahead = people_ahead(ticket)
    return TicketPrint(
        hall_name=hall.name_zh, service_name_zh=ticket.service.name_zh, service_name_en=ticket.service.name_en,
        number=ticket.number, issued_at=clock.to_local(ticket.issued_at, hall.timezone), people_ahead=ahead,
        estimated_wait_s=estimate_wait_s(ticket, ahead) if ticket.status == "waiting" else 0,
        status_url=status_url(ticket.token), footer=footer,
        notice_lines=("预约客户 / Appointment",) if ticket.priority == "appointment" else (),
    )


def ticket_bytes(ticket: Ticket, printer: KioskPrinter) -> bytes:
    return render_escpos(ticket_print(ticket, printer.footer), chinese_mode=printer.chinese_mode)


def preview_png(ticket: Ticket) -> bytes:
    """The ticket drawn as a PNG with the footer of the kiosk that printed it (else the hall default)."""
    job = _job_of(ticket.id)
    device = db.session.get(Device, job.device_id) if job is not None and job.device_id else None
    try:
        footer = kiosk_printer(device).footer
    except ValueError:
        footer = current_app.config["HALL"]["printer"].get("footer", "")
    return render_png(ticket_print(ticket, footer))


def job_view(job: PrintJob | None) -> dict[str, Any]:
    """What the kiosk screen needs to know: printed, failed (why), pending or disabled."""
    if job is None:
        return {"status": "disabled", "fault": None}
    return {"status": job.status, "fault": job.fault, "attempts": job.attempts}


def _job_of(ticket_id: int) -> PrintJob | None:
    return db.session.scalar(select(PrintJob).where(PrintJob.ticket_id == ticket_id))


def _new_job(ticket_id: int, device: Device | None) -> PrintJob | None:
    """Insert the ticket's print job; None when a concurrent retry inserted it first."""
    job = PrintJob(ticket_id=ticket_id, device_id=device.id if device else None, status="pending")
    db.session.add(job)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return job


def print_ticket(ticket_id: int, device: Device | None, *, retried: bool = True) -> dict[str, Any]:
    """Print a kiosk ticket once: a new job is delivered (server) or left for the agent.

    A ticket that already has a job (the kiosk retried its tap) is not printed again. A ticket this
    very request issued (`retried` false) has none to look for: a retry racing it finds the job
    already inserted when it inserts its own.
    """
    if retried and (existing := _job_of(ticket_id)) is not None:
        return job_view(existing)
    try:
        printer, problem = kiosk_printer(device), None
    except ValueError as exc:
        printer, problem = None, DeliveryResult(ok=False, fault="config", message=str(exc))
    if printer is not None and printer.disabled:
        return job_view(None)
    job = _new_job(ticket_id, device)
    if job is None:
        return job_view(_job_of(ticket_id))
    if problem is not None:
        record_result(job, problem)
    elif printer.placement == "server":
        _deliver_in_background(job, ticket_bytes(db.session.get(Ticket, ticket_id), printer), printer.connection)
    return job_view(job)


def _deliver_in_background(job: PrintJob, data: bytes, connection: PrinterConfig) -> None:
    """Deliver in a thread; wait for it at most the printer timeout, then answer with what is known."""
    app: Flask = current_app._get_current_object()
    job_id = job.id
    # End this session's read snapshot (and touch no attribute until the join), so that the
    # refresh below sees what the worker recorded.
    db.session.commit()
    worker = threading.Thread(target=_deliver_and_record, args=(app, job_id, data, connection),
                              name=f"print-job-{job_id}", daemon=True)
    worker.start()
    worker.join(connection.timeout_s)
    db.session.refresh(job)


def _deliver_and_record(app: Flask, job_id: int, data: bytes, connection: PrinterConfig) -> None:
    result = deliver(data, connection)
    with app.app_context():
        record_result(db.session.get(PrintJob, job_id), result)
        db.session.remove()


def record_result(job: PrintJob, result: DeliveryResult) -> None:
    """Store a delivery outcome on the job; a fault raises (or refreshes) the kiosk's printer alarm."""
    now = clock.utcnow()
    job.attempts += 1
    job.status, job.fault = ("printed", None) if result.ok else ("failed", result.fault)
    if result.ok:
        job.printed_at = now
    ticket = db.session.get(Ticket, job.ticket_id)
    subject = alarm_subject(job.device_id)
    alarm = db.session.scalar(select(Alarm).where(Alarm.hall_id == ticket.hall_id, Alarm.kind == ALARM_KIND,
                                                  Alarm.subject == subject, Alarm.cleared_at.is_(None)))
    if result.ok and alarm is not None:
        alarm.cleared_at = now
    elif not result.ok:
        _raise_alarm(alarm, ticket, job, subject, result, now)
    db.session.commit()


def alarm_subject(device_id: int | None) -> str:
    """`device:<id>`; a kiosk without a registered device prints on the hall's default printer."""
    return f"device:{device_id}" if device_id is not None else "printer:default"


def _raise_alarm(alarm: Alarm | None, ticket: Ticket, job: PrintJob, subject: str, result: DeliveryResult,
                 now: datetime) -> None:
    if alarm is None:
        alarm = Alarm(hall_id=ticket.hall_id, kind=ALARM_KIND, subject=subject, raised_at=now)
        db.session.add(alarm)
    alarm.message = f"ticket {ticket.number} not printed: {result.message}"
    alarm.data = {"fault": result.fault, "ticket": ticket.number, "print_job": job.id, "device_id": job.device_id,
                  "at": clock.iso(now)}
