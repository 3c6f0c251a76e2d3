"""The visitors of a simulated day, drawn from a profile with a seed.

Each visitor carries their own random stream (handling times, no-show, transfer, rating),
so that the same visitor behaves the same under every staffing option of a what-if.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hall import clock
from hall.sim.profile import Handling, Profile


@dataclass
class Visitor:
    at: datetime
    service: str
    priority: str
    channel: str
    seed: int
    rng: random.Random = field(init=False, repr=False)
    transferred: bool = False
    arrived_at_counter: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def handling_s(self, handling: Handling) -> float:
        if handling.distribution == "exponential":
            return self.rng.expovariate(1 / handling.median_s)
        return self.rng.lognormvariate(math.log(handling.median_s), handling.spread)


def _group_size(rng: random.Random, mean: float) -> int:
    """Geometric group size with the given mean (1 when visitors come alone)."""
    if mean <= 1:
        return 1
    return 1 + int(math.log(1 - rng.random()) / math.log(1 - 1 / mean))


def draw_visitors(profile: Profile, day: date, zone: str, seed: int, services: set[str]) -> list[Visitor]:
    """Arrivals of one day: per service and clock hour a Poisson process (of groups when bursty)."""
    rng = random.Random(seed)
    opening = clock.local_to_utc(day, profile.opens, zone)
    visitors = []
    for prefix in sorted(profile.services):
        if prefix not in services:
            continue
        for hour, per_hour in enumerate(profile.services[prefix].per_hour):
            start, end = opening + timedelta(hours=hour), opening + timedelta(hours=hour + 1)
            groups_per_s = per_hour / profile.burst_mean / 3600
            at = start
            while groups_per_s > 0:
                at += timedelta(seconds=rng.expovariate(groups_per_s))
                if at >= end:
                    break
                member = at
                for _ in range(_group_size(rng, profile.burst_mean)):
                    kind = rng.random()
                    priority, channel = ("priority", "kiosk") if kind < profile.priority_share else \
                        ("appointment", "appointment") if kind < profile.priority_share + profile.appointment_share \
                        else ("normal", "kiosk")
                    visitors.append(Visitor(member.replace(microsecond=0), prefix, priority, channel,
                                            rng.getrandbits(32)))
                    member += timedelta(seconds=rng.uniform(5, 40))
    visitors.sort(key=lambda v: (v.at, v.service, v.seed))
    return visitors
