"""A hall's services and their stages as each server process keeps them between requests.

Issuing a ticket needs the service's prefix, names, hours, capacity, real-name rule and flow of
stages: they change only when an administrator edits them. Each process keeps a read-only copy
per hall, tagged with the hall's `layout_version`; any flush that adds, changes or removes a
service, a stage, a counter, its schedule or a counter's link bumps that version in the same transaction, and
the hall's lock statement returns it with every action, so a process sees an edit made by any
other at its next action of that hall and reads the hall's services again (two statements).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from flask import current_app
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from hall.extensions import db
from hall.models import Counter, CounterService, Hall, Service, ServiceStage
from hall.queue.errors import NotFound


@dataclass(frozen=True, slots=True)
class StageCopy:
    code: str
    name_zh: str
    name_en: str
    limit_s: int


@dataclass(frozen=True, slots=True)
class ServiceCopy:
    """What an issue reads of a service (the names match `Service`'s, so rules and views take either)."""

    id: int
    hall_id: int
    prefix: str
    name_zh: str
    name_en: str
    active: bool
    opens_at: time | None
    closes_at: time | None
    daily_capacity: int | None
    real_name: str
    daily_limit_per_person: int | None
    stages: tuple[StageCopy, ...]


@dataclass(frozen=True, slots=True)
class HallServices:
    version: int
    by_prefix: dict[str, ServiceCopy]
    by_id: dict[int, ServiceCopy]

    def service(self, prefix: str) -> ServiceCopy:
        found = self.by_prefix.get(prefix.upper())
        if found is None:
            raise NotFound(f"unknown service {prefix!r}")
        return found


def _read(hall_id: int, version: int) -> HallServices:
    stages: dict[int, list[StageCopy]] = {}
    for service_id, code, name_zh, name_en, limit_s in db.session.execute(
            select(ServiceStage.service_id, ServiceStage.code, ServiceStage.name_zh, ServiceStage.name_en,
                   ServiceStage.limit_s).join(Service, Service.id == ServiceStage.service_id)
            .where(Service.hall_id == hall_id).order_by(ServiceStage.service_id, ServiceStage.position)):
        stages.setdefault(service_id, []).append(StageCopy(code, name_zh, name_en, limit_s))
    columns = (Service.id, Service.hall_id, Service.prefix, Service.name_zh, Service.name_en, Service.active,
               Service.opens_at, Service.closes_at, Service.daily_capacity, Service.real_name,
               Service.daily_limit_per_person)
    services = [ServiceCopy(*row, stages=tuple(stages.get(row[0], ())))
                for row in db.session.execute(select(*columns).where(Service.hall_id == hall_id))]
    return HallServices(version, {s.prefix: s for s in services}, {s.id: s for s in services})


def services_of(hall: Hall) -> HallServices:
    """The hall's services as of its `layout_version` (read again when that moved)."""
    kept: dict[int, HallServices] = current_app.extensions.setdefault("hall_layouts", {})
    layout = kept.get(hall.id)
    if layout is None or layout.version != hall.layout_version:
        layout = kept[hall.id] = _read(hall.id, hall.layout_version)
    return layout


#: A counter's columns that the hall's copies hold (the estimate's picture keeps its schedule).
_COUNTER_PLAN = ("active", "opens_at", "closes_at", "breaks")


def _touched_halls(session: Session) -> tuple[set[int], set[int], set[int]]:
    """Halls (directly, through services, through counters) whose layout a flush changed."""
    halls: set[int] = set()
    services: set[int] = set()
    counters: set[int] = set()
    changed = [*session.new, *session.deleted,
               *(obj for obj in session.dirty if session.is_modified(obj, include_collections=False))]
    for obj in changed:
        if isinstance(obj, Service):
            halls.add(obj.hall_id)
        elif isinstance(obj, ServiceStage):
            services.add(obj.service_id)
        elif isinstance(obj, CounterService):
            counters.add(obj.counter_id)
        elif isinstance(obj, Counter) and (obj in session.new or obj in session.deleted or any(
                getattr(inspect(obj).attrs, name).history.has_changes() for name in _COUNTER_PLAN)):
            halls.add(obj.hall_id)
    return halls, services, counters


@event.listens_for(Session, "after_flush")
def _bump_layout_version(session: Session, _context) -> None:
    halls, services, counters = _touched_halls(session)
    halls.discard(None)
    services.discard(None)
    counters.discard(None)
    if not (halls or services or counters):
        return
    which = (Hall.id.in_(halls) | Hall.id.in_(select(Service.hall_id).where(Service.id.in_(services)))
             | Hall.id.in_(select(Counter.hall_id).where(Counter.id.in_(counters))))
    session.connection().execute(update(Hall.__table__).where(which)
                                 .values(layout_version=Hall.__table__.c.layout_version + 1))
