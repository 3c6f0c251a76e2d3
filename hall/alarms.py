"""Alarms of the live monitor: conditions that need time to pass to become true.

`scan_hall` compares what is wrong now (a wait or a stage over its committed
limit, a counter paused too long, a display not seen for a while, Redis out of
reach of this server process) with the open
alarm rows, raises the new ones and clears the ones that ended, in one hall
action so that monitors get an `alarms` event with a sequence number. Alarms
raised elsewhere (the kiosk's `printer_fault`) are shown and acknowledged the
same way but cleared by whoever raised them.

Server processes scan every hall in their housekeeping round (hall/housekeeping.py);
the monitor also scans before it renders its state.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, bindparam, select

from hall import clock
from hall.extensions import db
from hall.models import Alarm, Counter, Device, Hall, Service, Stage, Ticket
from hall.complaints.cases import overdue_cases
from hall.queue.errors import Conflict, NotFound
from hall.queue.rules import today
from hall.queue.unit import hall_action

#: Kinds this module raises and clears itself.
SCANNED_KINDS = ("wait_over_limit", "stage_over_limit", "counter_paused", "display_offline", "redis_unreachable",
                 "complaint_overdue")


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    message: str
    data: dict[str, Any]


def _settings() -> dict[str, Any]:
    return current_app.config["HALL"].get("monitor", {})


# The scan's reads, built once with the hall and the moments as parameters (a server process scans every hall
# every `[monitor] scan_interval_s`; building each statement again took a third of a scan's CPU), read as rows: an
# ORM object is made only for an alarm the scan raises or clears, under the hall's lock.
_SERVICES = select(Service.id, Service.prefix, Service.wait_limit_s).where(Service.hall_id == bindparam("hall_id"))
_WAITING_SINCE = select(Ticket.id, Ticket.number, Ticket.queued_at, Ticket.service_id).where(
    Ticket.hall_id == bindparam("hall_id"), Ticket.status == "waiting", Ticket.business_day == bindparam("day"),
    Ticket.queued_at < bindparam("before"))
_STAGES = (select(Stage.id, Stage.started_at, Stage.code, Ticket.number, Ticket.service_id, Ticket.stage_position,
                  Counter.number)
           .join(Ticket, Ticket.id == Stage.ticket_id).join(Counter, Counter.id == Stage.counter_id)
           .where(Ticket.hall_id == bindparam("hall_id"), Ticket.status == "serving", Stage.finished_at.is_(None),
                  Stage.started_at.is_not(None)))
_PAUSED = select(Counter.id, Counter.number, Counter.status_since).where(
    Counter.hall_id == bindparam("hall_id"), Counter.active.is_(True), Counter.status == "paused")
_DISPLAYS = select(Device.id, Device.name, Device.last_seen_at).where(
    Device.hall_id == bindparam("hall_id"), Device.active.is_(True), Device.kind == "display")
_OPEN_ALARMS = select(Alarm.kind, Alarm.subject).where(
    Alarm.hall_id == bindparam("hall_id"), Alarm.cleared_at.is_(None), Alarm.kind.in_(SCANNED_KINDS))


def _waits(hall: Hall | Row, now: datetime, services: dict[int, Row]) -> list[Condition]:
    """Tickets waiting longer than their service's limit. Only those queued before the shortest limit of
    the hall's services are read: a scan's cost follows the tickets over a limit, not the waiting line."""
    if not services:
        return []
    shortest = timedelta(seconds=min(service.wait_limit_s for service in services.values()))
    rows = db.session.execute(_WAITING_SINCE, {"hall_id": hall.id, "day": today(hall, now),
                                               "before": now - shortest}).all()
    return [Condition("wait_over_limit", f"ticket:{tid}", f"{number} waits over {limit // 60} min",
                      {"number": number, "service": services[service_id].prefix, "since": clock.iso(queued),
                       "limit_s": limit})
            for tid, number, queued, service_id in rows
            if (now - queued).total_seconds() > (limit := services[service_id].wait_limit_s)]


def _stages(hall: Hall | Row, now: datetime) -> list[Condition]:
    found = []
    for stage_id, started, code, number, service_id, position, counter in db.session.execute(
            _STAGES, {"hall_id": hall.id}).all():
        limit = db.session.get(Service, service_id).stage_at(position).limit_s
        if (now - started).total_seconds() > limit:
            found.append(Condition("stage_over_limit", f"stage:{stage_id}",
                                   f"{number} over {limit // 60} min in {code} at counter {counter}",
                                   {"number": number, "stage": code, "counter": counter,
                                    "since": clock.iso(started), "limit_s": limit}))
    return found


def _paused(hall: Hall | Row, now: datetime) -> list[Condition]:
    limit = int(_settings().get("counter_paused_limit_s", 900))
    return [Condition("counter_paused", f"counter:{cid}", f"counter {number} paused over {limit // 60} min",
                      {"counter": number, "since": clock.iso(since), "limit_s": limit})
            for cid, number, since in db.session.execute(_PAUSED, {"hall_id": hall.id}).all()
            if (now - since).total_seconds() > limit]


def _displays(hall: Hall | Row, now: datetime) -> list[Condition]:
    limit = int(_settings().get("display_offline_s", 180))
    return [Condition("display_offline", f"device:{did}", f"display {name} offline",
                      {"device": name, "since": clock.iso(seen), "limit_s": limit})
            for did, name, seen in db.session.execute(_DISPLAYS, {"hall_id": hall.id}).all()
            if seen is None or (now - seen).total_seconds() > limit]


def _redis(_hall: Hall | Row, _now: datetime) -> list[Condition]:
    """This server process cannot reach Redis: screens on the other processes miss its events
    (they catch up from the event log) until it is back."""
    outage = current_app.extensions.get("hall_redis_outage")
    if outage is None or not outage.down:
        return []
    return [Condition("redis_unreachable", "redis", "realtime message queue (Redis) unreachable", {})]


def _complaints(hall: Hall | Row, now: datetime) -> list[Condition]:
    return [Condition("complaint_overdue", f"complaint:{case.id}",
                      f"complaint case {case.id} overdue ({case.status})",
                      {"case": case.id, "status": case.status, "contact_due": case.contact_due.isoformat(),
                       "rectify_due": case.rectify_due.isoformat()})
            for case in overdue_cases(hall, now)]


def current_conditions(hall: Hall | Row, now: datetime) -> dict[tuple[str, str], Condition]:
    services = {service.id: service for service in db.session.execute(_SERVICES, {"hall_id": hall.id}).all()}
    found = _waits(hall, now, services) + _stages(hall, now) + _paused(hall, now) + _displays(hall, now) + \
        _redis(hall, now) + _complaints(hall, now)
    return {(c.kind, c.subject): c for c in found}


def _open_alarms(hall_id: int) -> dict[tuple[str, str], Alarm]:
    rows = db.session.scalars(select(Alarm).where(Alarm.hall_id == hall_id, Alarm.cleared_at.is_(None),
                                                  Alarm.kind.in_(SCANNED_KINDS)))
    return {(a.kind, a.subject): a for a in rows}


def _pending_changes(hall: Hall | Row, now: datetime) -> tuple[list[Condition], list[Alarm]]:
    """Under the hall's lock: the conditions to raise and the alarms (objects) to clear."""
    wanted = current_conditions(hall, now)
    existing = _open_alarms(hall.id)
    return ([c for key, c in wanted.items() if key not in existing],
            [a for key, a in existing.items() if key not in wanted])


def _anything_to_change(hall: Hall | Row, now: datetime) -> bool:
    """Outside the lock, on rows only: whether some condition is to be raised or some open alarm cleared."""
    existing = {tuple(row) for row in db.session.execute(_OPEN_ALARMS, {"hall_id": hall.id}).all()}
    return set(current_conditions(hall, now)) != existing


def scan_hall(hall_id: int, hall: Hall | Row | None = None) -> dict[str, Any] | None:
    """Raise and clear the hall's time alarms; the published event, or None when nothing changed.
    `hall`: what the caller read of it already (its id, timezone and reset time are enough)."""
    hall = hall if hall is not None else db.session.get(Hall, hall_id)
    if hall is None:
        raise NotFound("unknown hall")
    changes = _anything_to_change(hall, clock.utcnow())
    db.session.rollback()
    if not changes:
        return None
    with hall_action(hall_id) as action:  # look again under the hall's lock: another scan may have won
        raise_, clear = _pending_changes(action.hall, action.now)
        if not raise_ and not clear:
            return None
        raised = [Alarm(hall_id=hall_id, kind=c.kind, subject=c.subject, message=c.message, data=c.data,
                        raised_at=action.now) for c in raise_]
        db.session.add_all(raised)
        for alarm in clear:
            alarm.cleared_at = action.now
        db.session.flush()
        action.log("alarms", raised=[a.id for a in raised], cleared=[a.id for a in clear])
        return action.publish("alarms", raised=[alarm_view(a) for a in raised],
                              cleared=[alarm_view(a) for a in clear])


def acknowledge(hall_id: int, alarm_id: int, *, staff_id: int) -> dict[str, Any]:
    """The supervisor has seen an alarm; it stays listed until its condition ends."""
    with hall_action(hall_id) as action:
        alarm = db.session.get(Alarm, alarm_id, populate_existing=True)
        if alarm is None or alarm.hall_id != hall_id:
            raise NotFound(f"unknown alarm {alarm_id}")
        if alarm.acknowledged_at is not None:
            raise Conflict("the alarm is already acknowledged")
        alarm.acknowledged_at, alarm.acknowledged_by = action.now, staff_id
        action.log("alarm_acknowledged", staff_id=staff_id, alarm=alarm.id)
        return action.publish("alarm_acknowledged", alarm=alarm_view(alarm))


def alarm_view(alarm: Alarm) -> dict[str, Any]:
    return {"id": alarm.id, "kind": alarm.kind, "subject": alarm.subject, "message": alarm.message,
            "data": alarm.data or {}, "raised_at": clock.iso(alarm.raised_at),
            "acknowledged_at": clock.iso(alarm.acknowledged_at), "cleared_at": clock.iso(alarm.cleared_at)}


def listed_alarms(hall_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """Alarms still active or not yet acknowledged, newest first."""
    rows = db.session.scalars(
        select(Alarm).where(Alarm.hall_id == hall_id,
                            (Alarm.cleared_at.is_(None)) | (Alarm.acknowledged_at.is_(None)))
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc()).limit(limit))
    return [alarm_view(a) for a in rows]
