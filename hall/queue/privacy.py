"""Privacy on public screens: masked visitor names, and zones that call silently (chime, no voice)."""
from __future__ import annotations

from typing import Any

from hall.models import Ticket
from hall.queue.errors import QueueError
from hall.queue.unit import hall_action


def mask_name(name: str) -> str:
    """张三丰 → 张*丰, 李四 → 李*, John Smith → J*: enough for the visitor to know the call is theirs."""
    name = " ".join(name.split())
    if not name:
        return ""
    if name.isascii():
        return name[0] + "*"
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def public_name(ticket: Ticket, name_mode: str | None = None) -> str | None:
    """The masked name public screens show with the number, if the ticket has one and the hall shows
    names (`name_mode`: the hall's `public_name_mode`, when the caller has it at hand)."""
    if not ticket.visitor_masked or (name_mode or ticket.service.hall.public_name_mode) != "masked_name":
        return None
    return ticket.visitor_masked


def set_zone_silent(hall_id: int, zone: str, silent: bool, *, staff_id: int | None = None) -> dict[str, Any]:
    """Switch a display zone to silent calling (chime and screen, no voice) or back; open displays follow at once."""
    zone = zone.strip()
    if not zone:
        raise QueueError("name the zone")
    with hall_action(hall_id) as action:
        zones = [z for z in (action.hall.silent_zones or []) if z != zone] + ([zone] if silent else [])
        action.hall.silent_zones = zones
        action.log("zone_silence", staff_id=staff_id, zone=zone, silent=silent)
        return action.publish("zone_silence", zone=zone, silent=silent, silent_zones=zones)
