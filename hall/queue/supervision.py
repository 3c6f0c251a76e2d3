"""Supervisor actions on the hall: move a counter to other services, broadcast a notice."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hall.extensions import db
from hall.models import CounterService, Notice
from hall.queue.errors import Conflict, NotFound, QueueError
from hall.queue.lookup import counter_by_number, service_by_prefix
from hall.queue.unit import hall_action
from hall.queue.views import counter_view

#: (service prefix, stage codes or None for every stage), in the counter's priority order.
ServiceLink = tuple[str, Sequence[str] | None]


def move_counter(hall_id: int, counter_number: int, services: Sequence[ServiceLink], *,
                 staff_id: int | None = None) -> dict[str, Any]:
    """Let a counter serve other services (in priority order); its current ticket stays."""
    if not services:
        raise QueueError("a counter must serve at least one service")
    prefixes = [prefix.upper() for prefix, _ in services]
    if len(set(prefixes)) != len(prefixes):
        raise Conflict("each service may be named once: a counter has one priority order")
    with hall_action(hall_id) as action:
        counter = counter_by_number(hall_id, counter_number)
        links = []
        for rank, (prefix, stages) in enumerate(services):
            service = service_by_prefix(hall_id, prefix)
            codes = [s.code for s in service.stages]
            unknown = [code for code in stages or () if code not in codes]
            if unknown:
                raise NotFound(f"service {service.prefix} has no stage {', '.join(unknown)}")
            links.append(CounterService(service_id=service.id, rank=rank, stages=list(stages) if stages else None))
        counter.services.clear()
        db.session.flush()
        counter.services.extend(links)
        db.session.flush()
        db.session.refresh(counter, ["services"])
        moved = [{"service": p, "stages": list(s) if s else None} for p, s in services]
        action.log("counter_moved", counter_id=counter.id, staff_id=staff_id, services=moved)
        return action.publish("counter_moved", counter=counter_view(counter))


def broadcast_notice(hall_id: int, text_zh: str, text_en: str = "", *, zone: str = "",
                     staff_id: int | None = None) -> dict[str, Any]:
    """Put a notice on the hall's displays now (first in the notice area)."""
    text_zh, text_en = text_zh.strip(), text_en.strip()
    if not text_zh and not text_en:
        raise QueueError("a notice needs a text")
    if len(text_zh) > 500 or len(text_en) > 500:
        raise QueueError("a notice is at most 500 characters")
    with hall_action(hall_id) as action:
        notice = Notice(hall_id=hall_id, text_zh=text_zh or text_en, text_en=text_en, zone=zone, sort_order=-1,
                        created_at=action.now)
        db.session.add(notice)
        db.session.flush()
        view = {"id": notice.id, "text_zh": notice.text_zh, "text_en": notice.text_en, "image_url": "",
                "zone": zone, "broadcast": True}
        action.log("notice", staff_id=staff_id, notice=notice.id)
        return action.publish("notice", notice=view)
