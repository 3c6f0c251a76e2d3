"""Report figures over the report facts, for any filter and one optional breakdown.

Definitions (also in the reports page help):
- wait = issue → first call; handling = start → finish of one stage pass, whole seconds;
- percentiles by linear interpolation between closest ranks (hall.reports.stats);
- served within committed time = served cases whose wait and every stage were within their limits ÷ served;
- throughput per hour = served ÷ clock hours in which at least one case was served;
- utilisation = handling time ÷ logged-in time at counters (StaffSession);
- satisfaction: ratings 1–5 as GB/T 39734 names them; satisfied (满意率) = 5, 4 or 3 (very satisfied,
  satisfied, basically satisfied) among all ratings;
- estimate accuracy = mean absolute error of the wait estimate given at issue.
"""
from __future__ import annotations

import collections
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from hall import clock
from hall.extensions import db
from hall.models import (Counter, Feedback, Hall, ReportCount, ReportRating, ReportStageCount,
                         ReportTicket, Service, Staff, StaffSession)
from hall.reports.aggregates import rating_mark
from hall.ratings import SATISFIED_FROM
from hall.reports.distributions import Histograms, by_day, histograms
from hall.reports.rollup import roll_up
from hall.reports.selection import COLUMN, DIMENSIONS, Filters, grouped
from hall.reports.stats import describe_counts
from hall.models.report import WAIT

__all__ = ["BREAKDOWNS", "DIMENSIONS", "Filters", "figures", "labels", "stage_rows", "target_pct"]

BREAKDOWNS = DIMENSIONS + ("stage",)


@dataclass
class _Group:
    statuses: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    within: int = 0
    waits: collections.Counter = field(default_factory=collections.Counter)
    estimate_error: int = 0
    estimates: int = 0
    served_hours: int = 0
    handling: dict[str, collections.Counter] = field(default_factory=lambda: defaultdict(collections.Counter))
    #: Figures stored for a final day, in place of its histograms ({code or WAIT: figures}).
    described: dict[str, dict] = field(default_factory=dict)
    over_limit: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    serving_s: int = 0
    logged_in_s: float | None = None
    ratings: dict[int, int] = field(default_factory=lambda: defaultdict(int))


def _ticket_figures(filters: Filters, column: str | None, groups: dict[Any, _Group]) -> None:
    C = ReportCount
    base = select(C.status, func.sum(C.tickets), func.sum(C.within), func.sum(C.estimate_error_s),
                  func.sum(C.estimates)).where(*filters.where(C))
    for status, n, within, err, estimates, g in db.session.execute(grouped(C, column, base).group_by(C.status)):
        group = groups[g]
        group.statuses[status] += n
        group.within += within or 0
        group.estimate_error += err or 0
        group.estimates += estimates or 0
    hours = select(C.day, C.served_hour).where(*filters.where(C), C.served_hour.is_not(None)) \
        .group_by(C.day, C.served_hour)
    for _day, _hour, g in db.session.execute(grouped(C, column, hours)):
        groups[g].served_hours += 1


def _stage_figures(filters: Filters, column: str | None, groups: dict[Any, _Group]) -> None:
    S = ReportStageCount
    query = select(S.code, func.sum(S.handling_s), func.sum(S.over_limit)).where(*filters.where(S)).group_by(S.code)
    for code, handling, over, g in db.session.execute(grouped(S, column, query)):
        group = groups[g]
        group.over_limit[code] += over
        group.serving_s += handling


def _add_histograms(found: Histograms, groups: dict[Any, _Group]) -> None:
    for g, codes in found.items():
        group = groups[g]
        for code, counts in codes.items():
            (group.waits if code == WAIT else group.handling[code]).update(counts)


def _distributions(filters: Filters, column: str | None, groups: dict[Any, _Group]) -> None:
    if column == "day" and not filters.named():
        described, rest = by_day(filters)
        for day, codes in described.items():
            groups[day].described.update(codes)
        _add_histograms(rest, groups)
    else:
        _add_histograms(histograms(filters, column), groups)


def _rating_figures(filters: Filters, column: str | None, groups: dict[Any, _Group]) -> None:
    """Ratings folded into the rating cube, and the newer ones from the feedback table."""
    R = ReportRating
    query = select(R.rating, func.sum(R.ratings)).where(*filters.where(R)).group_by(R.rating)
    for rating, n, g in db.session.execute(grouped(R, column, query)):
        groups[g].ratings[rating] += n
    _fresh_ratings(filters, column, groups)


def _fresh_ratings(filters: Filters, column: str | None, groups: dict[Any, _Group]) -> None:
    """Ratings not folded yet (few): read first, then matched with their tickets' facts."""
    F, T = Feedback, ReportTicket
    query = select(F.ticket_id, F.rating, F.counter_id, F.staff_id).where(
        F.hall_id == filters.hall_id, F.id > rating_mark(filters.hall_id))
    for name, value in (("counter_id", filters.counter_id), ("staff_id", filters.staff_id)):
        if value is not None:
            query = query.where(getattr(F, name) == value)
    fresh = db.session.execute(query).all()
    conditions = [T.day >= filters.first, T.day <= filters.last]
    for name, value in (("service_id", filters.service_id), ("hour", filters.hour)):
        if value is not None:
            conditions.append(getattr(T, name) == value)
    for start in range(0, len(fresh), 500):
        chunk = fresh[start:start + 500]
        tickets = {row.ticket_id: row for row in db.session.execute(
            select(T.ticket_id, T.day, T.hour, T.service_id).where(
                T.ticket_id.in_([f.ticket_id for f in chunk]), *conditions))}
        for f in chunk:
            if (ticket := tickets.get(f.ticket_id)) is None:
                continue
            source = f if column in ("counter", "staff") else ticket
            g = 0 if column is None else getattr(source, COLUMN[column])
            groups[g].ratings[f.rating] += 1


def _day_window(hall: Hall, day: date) -> tuple[datetime, datetime]:
    return (clock.local_to_utc(day, hall.reset_at, hall.timezone),
            clock.local_to_utc(day + timedelta(days=1), hall.reset_at, hall.timezone))


def _logged_in(filters: Filters, hall: Hall, column: str | None, groups: dict[Any, _Group]) -> None:
    """Logged-in seconds per group; only the whole selection, days, counters and staff have them."""
    if column not in (None, "day", "counter", "staff") or filters.hour is not None or filters.service_id is not None:
        return
    start, end = _day_window(hall, filters.first)[0], _day_window(hall, filters.last)[1]
    now = clock.utcnow()
    query = select(StaffSession.staff_id, StaffSession.counter_id, StaffSession.started_at, StaffSession.ended_at) \
        .join(Counter, Counter.id == StaffSession.counter_id) \
        .where(Counter.hall_id == hall.id, StaffSession.started_at < end,
               (StaffSession.ended_at.is_(None)) | (StaffSession.ended_at > start))
    if filters.counter_id is not None:
        query = query.where(StaffSession.counter_id == filters.counter_id)
    if filters.staff_id is not None:
        query = query.where(StaffSession.staff_id == filters.staff_id)
    totals: dict[Any, float] = defaultdict(float)
    for staff_id, counter_id, started, ended in db.session.execute(query):
        ended = min(ended or now, end)
        started = max(started, start)
        if column == "day":
            day = filters.first
            while day <= filters.last:
                low, high = _day_window(hall, day)
                overlap = (min(ended, high) - max(started, low)).total_seconds()
                if overlap > 0:
                    totals[day] += overlap
                day += timedelta(days=1)
        else:
            key = {None: 0, "counter": counter_id, "staff": staff_id}[column]
            totals[key] += max(0.0, (ended - started).total_seconds())
    for key, seconds in totals.items():
        groups[key].logged_in_s = seconds
    for group in groups.values():
        if group.logged_in_s is None:
            group.logged_in_s = 0.0


def _pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _described(group: _Group, code: str) -> dict[str, Any]:
    if code in group.described:
        return group.described[code]
    return describe_counts(list((group.waits if code == WAIT else group.handling[code]).items()))


def _figures(group: _Group, target_pct: float) -> dict[str, Any]:
    served = group.statuses.get("done", 0)
    ratings = sum(group.ratings.values())
    satisfied = sum(n for rating, n in group.ratings.items() if rating >= SATISFIED_FROM)
    handling = {}
    for code in sorted(set(group.handling) | set(group.described) - {WAIT}):
        handling[code] = {**_described(group, code), "over_limit": group.over_limit[code]}
    return {
        "issued": sum(group.statuses.values()), "served": served,
        "no_show": group.statuses.get("no_show", 0), "cancelled": group.statuses.get("cancelled", 0),
        "not_served": group.statuses.get("not_served", 0),
        "waiting": sum(group.statuses.get(s, 0) for s in ("waiting", "called", "serving")),
        "wait_s": _described(group, WAIT),
        "handling_s": handling,
        "served_within_target_pct": _pct(group.within, served),
        "throughput_per_hour": round(served / group.served_hours, 1) if group.served_hours else None,
        "serving_s": group.serving_s,
        "logged_in_s": None if group.logged_in_s is None else round(group.logged_in_s),
        "utilisation_pct": _pct(group.serving_s, group.logged_in_s) if group.logged_in_s is not None else None,
        "satisfaction": {"count": ratings,
                         "average": round(sum(r * n for r, n in group.ratings.items()) / ratings, 2) if ratings
                         else None,
                         "satisfied_pct": _pct(satisfied, ratings), "target_pct": target_pct},
        "estimate": {"count": group.estimates,
                     "mae_s": round(group.estimate_error / group.estimates, 1) if group.estimates else None},
    }


def target_pct() -> float:
    return float(current_app.config["HALL"].get("reports", {}).get("satisfaction_target_pct", 95))


def figures(filters: Filters, by: str | None = None) -> dict[Any, dict[str, Any]]:
    """Figures of the selection, as {group key: figures}; one key (0) without a breakdown."""
    if by is not None and by not in DIMENSIONS:
        raise ValueError(f"unknown breakdown {by!r}")
    hall = db.session.get(Hall, filters.hall_id)
    roll_up(filters.hall_id, filters.first, filters.last)
    groups: dict[Any, _Group] = defaultdict(_Group)
    _ticket_figures(filters, by, groups)
    _stage_figures(filters, by, groups)
    _distributions(filters, by, groups)
    _rating_figures(filters, by, groups)
    _logged_in(filters, hall, by, groups)
    if by is None:
        groups.setdefault(0, _Group())  # an empty selection still has its one row of zeros
    target = target_pct()
    return {key: _figures(groups[key], target) for key in sorted(groups, key=lambda k: (k is None, k))}


def stage_rows(filters: Filters) -> list[dict[str, Any]]:
    """Handling time per service and stage against the stage's committed limit."""
    roll_up(filters.hall_id, filters.first, filters.last)
    S = ReportStageCount
    over = {(service_id, code): late for service_id, code, late in db.session.execute(
        select(S.service_id, S.code, func.sum(S.over_limit)).where(*filters.where(S)).group_by(S.service_id, S.code))}
    per_service = histograms(filters, "service")
    services = {s.id: s for s in db.session.scalars(select(Service).where(Service.hall_id == filters.hall_id))}
    rows = []
    for service in sorted(services.values(), key=lambda s: (s.kiosk_order, s.prefix)):
        for stage in service.stages:
            counts = per_service.get(service.id, {}).get(stage.code)
            if not counts:
                continue
            figures = describe_counts(list(counts.items()))
            rows.append({"service": service.prefix, "service_name_zh": service.name_zh,
                         "service_name_en": service.name_en, "stage": stage.code, "stage_name_zh": stage.name_zh,
                         "stage_name_en": stage.name_en, "limit_s": stage.limit_s, **figures,
                         "over_limit_pct": _pct(over[(service.id, stage.code)], figures["count"])})
    return rows


def labels(hall_id: int, by: str, keys, lang: str) -> dict[Any, str]:
    """Readable names of breakdown keys (service names, counter numbers, staff names, hours)."""
    if by == "service":
        return {s.id: f"{s.prefix} {s.name(lang)}" for s in
                db.session.scalars(select(Service).where(Service.hall_id == hall_id))}
    if by == "counter":
        return {c.id: c.name or str(c.number) for c in
                db.session.scalars(select(Counter).where(Counter.hall_id == hall_id))}
    if by == "staff":
        return {s.id: s.name for s in db.session.scalars(select(Staff).where(Staff.hall_id == hall_id))}
    if by == "hour":
        return {k: f"{k:02d}:00" for k in keys if k is not None}
    return {k: k.isoformat() for k in keys if isinstance(k, date)}

