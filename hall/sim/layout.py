"""A hall's layout (services with their stages, counters with the services they serve and their own
planned day) as plain data: taken from the demo hall or a real hall, changed for a what-if, and built as a new hall."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import time

from hall.counter_schedule import Break, breaks_of, stored
from hall.extensions import db
from hall.models import Counter, CounterService, Hall, Service, ServiceStage


@dataclass(frozen=True)
class StageLayout:
    code: str
    name_zh: str
    name_en: str
    limit_s: int


@dataclass(frozen=True)
class ServiceLayout:
    prefix: str
    name_zh: str
    name_en: str
    wait_limit_s: int
    stages: tuple[StageLayout, ...]
    checklist: tuple[str, ...] = ()


@dataclass(frozen=True)
class CounterPlan:
    """A counter's planned day in the hall's local time (no hours: with the hall)."""

    opens: time | None = None
    closes: time | None = None
    breaks: tuple[Break, ...] = ()

    def over(self, fallback: CounterPlan) -> CounterPlan:
        """This plan, with `fallback`'s hours where it gives none; its own breaks stay (none too)."""
        return CounterPlan(self.opens or fallback.opens, self.closes or fallback.closes, self.breaks)


@dataclass(frozen=True)
class CounterLayout:
    number: int
    #: (service prefix, stage codes or None for every stage), in the counter's priority order.
    links: tuple[tuple[str, tuple[str, ...] | None], ...]
    #: The counter's own schedule (a supervisor's), or None: it follows the simulated profile's.
    schedule: CounterPlan | None = None

    def serves(self, prefix: str, stage: str | None = None) -> bool:
        return any(p == prefix and (stage is None or codes is None or stage in codes) for p, codes in self.links)


@dataclass(frozen=True)
class Layout:
    services: tuple[ServiceLayout, ...]
    counters: tuple[CounterLayout, ...]
    timezone: str = "Asia/Shanghai"

    def service(self, prefix: str) -> ServiceLayout:
        return next(s for s in self.services if s.prefix == prefix)

    def lines(self, counter: CounterLayout) -> frozenset[tuple[str, str]]:
        """The (service, stage) lines the counter serves."""
        stages = {s.prefix: [st.code for st in s.stages] for s in self.services}
        return frozenset((prefix, code) for prefix, codes in counter.links for code in (codes or stages[prefix]))

    def staffing(self) -> dict[str, int]:
        """Counters serving each service (any of its stages)."""
        return {s.prefix: sum(1 for c in self.counters if c.serves(s.prefix)) for s in self.services}

    def with_counters(self, prefix: str, wanted: int) -> "Layout":
        """The layout with `wanted` counters serving `prefix`: counters added serve only that service
        (every stage); counters removed are ones that serve only that service, highest number first."""
        if prefix not in {s.prefix for s in self.services}:
            raise ValueError(f"the hall has no service {prefix!r}")
        if wanted < 0:
            raise ValueError("a number of counters cannot be negative")
        counters = list(self.counters)
        have = self.staffing()[prefix]
        if wanted > have:
            top = max((c.number for c in counters), default=0)
            counters += [CounterLayout(top + i + 1, ((prefix, None),)) for i in range(wanted - have)]
        elif wanted < have:
            only = [c for c in counters if {p for p, _ in c.links} == {prefix}]
            if have - wanted > len(only):
                raise ValueError(f"service {prefix} has {len(only)} counters serving only it: at least "
                                 f"{have - len(only)} counters stay")
            dropped = {c.number for c in sorted(only, key=lambda c: -c.number)[:have - wanted]}
            counters = [c for c in counters if c.number not in dropped]
        return replace(self, counters=tuple(counters))


def layout_of(hall: Hall) -> Layout:
    """The layout of a hall in the database (active services and counters)."""
    services = tuple(
        ServiceLayout(s.prefix, s.name_zh, s.name_en, s.wait_limit_s,
                      tuple(StageLayout(st.code, st.name_zh, st.name_en, st.limit_s) for st in s.stages),
                      tuple(s.checklist or ()))
        for s in hall.services if s.active and s.stages)
    prefixes = {s.prefix for s in services}
    counters = tuple(
        CounterLayout(c.number, tuple((link.service.prefix, tuple(link.stages) if link.stages is not None else None)
                                      for link in c.services if link.service.prefix in prefixes),
                      _own_plan(c))
        for c in hall.counters if c.active)
    return Layout(services, tuple(c for c in counters if c.links), hall.timezone)


def _own_plan(counter: Counter) -> CounterPlan | None:
    if counter.opens_at is None and counter.closes_at is None and not counter.breaks:
        return None
    return CounterPlan(counter.opens_at, counter.closes_at, tuple(breaks_of(counter.breaks)))


def build_hall(hall: Hall, layout: Layout, planned: dict[int, CounterPlan] | None = None) -> None:
    """Add the layout's services and counters to a new hall (flushed, not committed). Each counter's
    schedule is its own, or else its plan in `planned` (counter number → plan), or else none."""
    services = {}
    for order, spec in enumerate(layout.services):
        service = Service(hall_id=hall.id, prefix=spec.prefix, name_zh=spec.name_zh, name_en=spec.name_en,
                          wait_limit_s=spec.wait_limit_s, kiosk_order=order, checklist=list(spec.checklist))
        service.stages = [ServiceStage(position=i, code=st.code, name_zh=st.name_zh, name_en=st.name_en,
                                       limit_s=st.limit_s) for i, st in enumerate(spec.stages)]
        db.session.add(service)
        services[spec.prefix] = service
    db.session.flush()
    for spec in layout.counters:
        plan = spec.schedule or (planned or {}).get(spec.number) or CounterPlan()
        counter = Counter(hall_id=hall.id, number=spec.number, name=f"{spec.number}号窗口", zone="main",
                          opens_at=plan.opens, closes_at=plan.closes, breaks=stored(list(plan.breaks)))
        counter.services = [CounterService(service_id=services[p].id, rank=rank,
                                           stages=list(codes) if codes is not None else None)
                            for rank, (p, codes) in enumerate(spec.links)]
        db.session.add(counter)
    db.session.flush()
