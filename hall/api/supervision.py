"""Supervisor API of the live monitor: state, alarm acknowledgement, counter and notice actions."""
from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user
from pydantic import ConfigDict, Field

from hall import queue
from hall.alarms import acknowledge, scan_hall
from hall.api import bp, body
from hall.api.counters import counter_answer
from hall.api.openapi import ROUTES
from hall.api.schemas import Body
from hall.auth import role_required
from hall.monitor.state import monitor_state
from hall.queue.lookup import hall_by_slug
from hall.queue.privacy import set_zone_silent
from hall.queue.supervision import broadcast_notice, move_counter
from hall.validation import ascii_int


class ServiceLinkBody(Body):
    service: str = Field(min_length=1, max_length=4)
    stages: list[str] | None = None


class MoveCounter(Body):
    services: list[ServiceLinkBody] = Field(min_length=1, max_length=20)


class ZoneSilence(Body):
    silent: bool = Field(strict=True)


class NoticeBody(Body):
    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}
        for name in ("text_zh", "text_en")]})

    text_zh: str = Field(default="", max_length=500)
    text_en: str = Field(default="", max_length=500)
    zone: str = Field(default="", max_length=40)


@bp.get("/halls/<hall>/monitor")
@role_required("supervisor")
def monitor_snapshot(hall: str):
    record = hall_by_slug(hall)
    scan_hall(record.id)
    return jsonify(monitor_state(record))


@bp.post("/halls/<hall>/alarms/<alarm>/acknowledge")
@role_required("supervisor")
def alarm_acknowledge(hall: str, alarm: str):
    alarm_id = ascii_int(alarm)
    if alarm_id is None:
        abort(404, description=f"unknown alarm {alarm!r}")
    event = acknowledge(hall_by_slug(hall).id, alarm_id, staff_id=current_user.id)
    return jsonify({**event["alarm"], "seq": event["seq"]})


@bp.post("/halls/<hall>/monitor/counters/<int:number>/open")
@role_required("supervisor")
def monitor_counter_open(hall: str, number: int):
    return counter_answer(queue.open_counter(hall_by_slug(hall).id, number))  # the counter keeps its staff member


@bp.post("/halls/<hall>/monitor/counters/<int:number>/pause")
@role_required("supervisor")
def monitor_counter_pause(hall: str, number: int):
    return counter_answer(queue.pause_counter(hall_by_slug(hall).id, number, staff_id=current_user.id))


@bp.post("/halls/<hall>/monitor/counters/<int:number>/services")
@role_required("supervisor")
def monitor_counter_services(hall: str, number: int):
    data = body(MoveCounter)
    return counter_answer(move_counter(hall_by_slug(hall).id, number,
                                       [(link.service, link.stages) for link in data.services],
                                       staff_id=current_user.id))


@bp.post("/halls/<hall>/notices")
@role_required("supervisor")
def notice_broadcast(hall: str):
    data = body(NoticeBody)
    event = broadcast_notice(hall_by_slug(hall).id, data.text_zh, data.text_en, zone=data.zone,
                             staff_id=current_user.id)
    return jsonify({**event["notice"], "seq": event["seq"]}), 201


@bp.post("/halls/<hall>/zones/<zone>/silent")
@role_required("supervisor")
def zone_silence(hall: str, zone: str):
    """Silent calling for a display zone: open displays follow at once (chime, no voice)."""
    data = body(ZoneSilence)
    event = set_zone_silent(hall_by_slug(hall).id, zone[:40], data.silent, staff_id=current_user.id)
    return jsonify({"zone": event["zone"], "silent": event["silent"], "silent_zones": event["silent_zones"],
                    "seq": event["seq"]})


ROUTES.extend([
    ("/halls/{hall}/monitor", "get", "Live monitor state: lines, counters, alarms (scans alarms first)", None,
     "supervisor", ("200",)),
    ("/halls/{hall}/alarms/{alarm}/acknowledge", "post", "Acknowledge an alarm", None, "supervisor", ("200",)),
    ("/halls/{hall}/monitor/counters/{number}/open", "post", "Open a counter (keeps its staff)", None, "supervisor",
     ("200",)),
    ("/halls/{hall}/monitor/counters/{number}/pause", "post", "Pause a counter", None, "supervisor", ("200",)),
    ("/halls/{hall}/monitor/counters/{number}/services", "post", "Move a counter to other services", MoveCounter,
     "supervisor", ("200",)),
    ("/halls/{hall}/notices", "post", "Broadcast a notice to the displays", NoticeBody, "supervisor", ("201",)),
    ("/halls/{hall}/zones/{zone}/silent", "post", "Silent calling (chime, no voice) for a display zone on or off",
     ZoneSilence, "supervisor", ("200",)),
])
