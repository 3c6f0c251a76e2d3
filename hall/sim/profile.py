"""Simulation profiles: what a hall day looks like, read from TOML (`light`, `peak`, `bursty` are shipped).

A profile gives, per service, arrivals per clock hour from the hall's opening (a Poisson
process with that hourly rate; `burst_mean` > 1 makes visitors come in groups) and the
handling time of each stage (lognormal: median and spread = σ of the log; or exponential
with a mean). Day-wide shares: priority and appointment tickets, no-shows, transfers,
ratings. Counters open and close at the given times and take staggered breaks.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any

PROFILES_DIR = Path(__file__).parent / "profiles"
SHIPPED = ("light", "peak", "bursty")


class ProfileError(ValueError):
    """A profile that cannot be read or does not fit the hall."""


@dataclass(frozen=True)
class Handling:
    """Handling time of one stage: lognormal (median, spread) or exponential (mean = median field)."""

    median_s: float
    spread: float = 0.5
    distribution: str = "lognormal"


@dataclass(frozen=True)
class ServiceProfile:
    per_hour: tuple[float, ...]
    handling: dict[str, Handling]


@dataclass(frozen=True)
class Schedule:
    """Counters' opening hours and staggered breaks (each counter one break in the window)."""

    opens: time = time(8, 30)
    closes: time = time(17, 30)
    break_min: int = 0
    breaks_from: time = time(11, 30)
    breaks_until: time = time(13, 30)


@dataclass(frozen=True)
class Profile:
    name: str
    opens: time
    services: dict[str, ServiceProfile]
    schedule: Schedule = field(default_factory=Schedule)
    priority_share: float = 0.0
    appointment_share: float = 0.0
    no_show: float = 0.0
    transfer: float = 0.0
    rating_share: float = 0.0
    burst_mean: float = 1.0
    #: Seconds a called visitor takes to reach the counter, and a counter waits for a no-show.
    walk_s: int = 20
    no_show_after_s: int = 90

    def with_services(self, services: dict[str, ServiceProfile]) -> "Profile":
        return Profile(**{**self.__dict__, "services": services})


def _time(value: Any, name: str) -> time:
    try:
        return time.fromisoformat(value) if isinstance(value, str) else value
    except ValueError as exc:
        raise ProfileError(f"{name}: {value!r} is not a time of day (HH:MM)") from exc


def _share(data: dict, name: str) -> float:
    value = float(data.get(name, 0.0))
    if not 0 <= value <= 1:
        raise ProfileError(f"{name} must be between 0 and 1, not {value}")
    return value


def _handling(data: dict, where: str) -> Handling:
    distribution = data.get("distribution", "lognormal")
    if distribution not in ("lognormal", "exponential"):
        raise ProfileError(f"{where}: distribution must be lognormal or exponential")
    median = data.get("mean_s" if distribution == "exponential" else "median_s")
    if not isinstance(median, (int, float)) or median <= 0:
        raise ProfileError(f"{where}: needs a positive {'mean_s' if distribution == 'exponential' else 'median_s'}")
    return Handling(float(median), float(data.get("spread", 0.5)), distribution)


def parse_profile(data: dict[str, Any], name: str) -> Profile:
    """A profile from its TOML tables; ProfileError says what is wrong."""
    try:
        services = {}
        for prefix, table in data.get("services", {}).items():
            per_hour = tuple(float(v) for v in table.get("per_hour", ()))
            if not per_hour or min(per_hour) < 0:
                raise ProfileError(f"services.{prefix}.per_hour must list arrivals per hour (≥ 0)")
            services[prefix.upper()] = ServiceProfile(per_hour, {
                code: _handling(h, f"services.{prefix}.handling.{code}") for code, h in table.get("handling", {}).items()})
        if not services:
            raise ProfileError("a profile needs at least one [services.X] table")
        arrivals, counters = data.get("arrivals", {}), data.get("counters", {})
        schedule = Schedule(**{key: _time(value, f"counters.{key}") if key != "break_min" else int(value)
                               for key, value in counters.items()})
        return Profile(name=name, opens=_time(data.get("opens", "08:30"), "opens"), services=services,
                       schedule=schedule, priority_share=_share(arrivals, "priority_share"),
                       appointment_share=_share(arrivals, "appointment_share"), no_show=_share(arrivals, "no_show"),
                       transfer=_share(arrivals, "transfer"), rating_share=_share(arrivals, "rating_share"),
                       burst_mean=max(1.0, float(arrivals.get("burst_mean", 1.0))),
                       walk_s=int(arrivals.get("walk_s", 20)), no_show_after_s=int(arrivals.get("no_show_after_s", 90)))
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ProfileError):
            raise
        raise ProfileError(f"profile {name}: {exc}") from exc


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name, or a TOML file by path."""
    path = PROFILES_DIR / f"{name_or_path}.toml" if name_or_path in SHIPPED else Path(name_or_path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ProfileError(f"no profile {name_or_path!r} (shipped: {', '.join(SHIPPED)}, or a .toml file)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    return parse_profile(data, path.stem)
