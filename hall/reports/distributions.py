"""Wait and per-stage handling histograms of report groups.

Where the selection's grain fits the aggregates they are read from there:
- calendar months wholly inside the range, with no filter or one filter (hour, service,
  counter or staff) and no breakdown or a breakdown by hour, service, counter or staff,
  come from the monthly histograms (their final days);
- a breakdown by day without filters takes each final day's stored figures.
Everything else — days not yet final (the open day), days of months only partly in the
range, two filters or a filter with another breakdown — is computed from the facts.
"""
from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from hall.extensions import db
from hall.models import ReportDay, ReportDayFigure, ReportHistogram, ReportStage, ReportTicket
from hall.models.report import NO_KEY, WAIT
from hall.reports.aggregates import describe_row
from hall.reports.selection import Filters, grouped

#: {group key: {code (WAIT for the wait): Counter(seconds → how many)}}
Histograms = dict[Any, dict[str, Counter]]


def _histograms() -> Histograms:
    return defaultdict(lambda: defaultdict(Counter))


def _grain(filters: Filters, by: str | None) -> tuple[str, int | None] | None:
    """The histogram grain (and key to keep) that answers this selection, if any."""
    named = filters.named()
    if by == "day" or len(named) > 1:
        return None
    if not named:
        return ("all", None) if by is None else (by, None)
    (name, value), = named.items()
    return (name, value) if by in (None, name) else None


def _whole_months(first: date, last: date) -> list[date]:
    months, month = [], first if first.day == 1 else (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    while True:
        end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        if end > last:
            return months
        months.append(month)
        month = end + timedelta(days=1)


def _final_days(hall_id: int, first: date, last: date) -> set[date]:
    return set(db.session.scalars(select(ReportDay.day).where(
        ReportDay.hall_id == hall_id, ReportDay.day >= first, ReportDay.day <= last, ReportDay.final.is_(True))))


def _rolled_days(filters: Filters) -> set[date]:
    return set(db.session.scalars(select(ReportDay.day).where(
        ReportDay.hall_id == filters.hall_id, ReportDay.day >= filters.first, ReportDay.day <= filters.last)))


def _from_facts(filters: Filters, by: str | None, days: set[date] | None, into: Histograms) -> None:
    """Histograms of the facts; only of `days` when given."""
    if days is not None and not days:
        return
    for model, code, value, condition in ((ReportTicket, None, ReportTicket.wait_s, ReportTicket.wait_s.is_not(None)),
                                          (ReportStage, ReportStage.code, ReportStage.handling_s, None)):
        conditions = filters.where(model) + ([model.day.in_(sorted(days))] if days is not None else [])
        if condition is not None:
            conditions.append(condition)
        columns = [value, func.count()] + ([code] if code is not None else [])
        query = select(*columns).where(*conditions).group_by(value, *([code] if code is not None else []))
        for row in db.session.execute(grouped(model, by, query)):
            seconds, n, g = row[0], row[1], row[-1]
            into[g][row[2] if code is not None else WAIT][seconds] += n


def _from_months(filters: Filters, grain: str, key: int | None, by: str | None, months: list[date],
                 into: Histograms) -> None:
    H = ReportHistogram
    query = select(H.key, H.code, H.seconds, H.count).where(
        H.hall_id == filters.hall_id, H.month.in_(months), H.grain == grain)
    if key is not None:
        query = query.where(H.key == key)
    nullable = grain in ("counter", "staff")
    for k, code, seconds, n in db.session.execute(query):
        g = 0 if by is None else (None if nullable and k == NO_KEY else k)
        into[g][code][seconds] += n


def histograms(filters: Filters, by: str | None) -> Histograms:
    """Histograms per group, from the monthly aggregates where they fit, the rest from the facts."""
    result = _histograms()
    grain = _grain(filters, by)
    months = _whole_months(filters.first, filters.last) if grain else []
    if not months:
        _from_facts(filters, by, None, result)
        return result
    folded = set()
    for month in months:
        end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        folded |= _final_days(filters.hall_id, month, end)
    _from_months(filters, *grain, by, months, result)
    _from_facts(filters, by, _rolled_days(filters) - folded, result)
    return result


def by_day(filters: Filters) -> tuple[dict[date, dict[str, dict]], Histograms]:
    """Per day: stored figures of final days ({day: {code: figures}}), histograms of the others.

    Only without filters; with them, use `histograms(filters, "day")`.
    """
    figures: dict[date, dict[str, dict]] = defaultdict(dict)
    for row in db.session.scalars(select(ReportDayFigure).where(
            ReportDayFigure.hall_id == filters.hall_id, ReportDayFigure.day >= filters.first,
            ReportDayFigure.day <= filters.last)):
        figures[row.day][row.code] = describe_row(row)
    final = _final_days(filters.hall_id, filters.first, filters.last)
    rest = _histograms()
    _from_facts(filters, "day", _rolled_days(filters) - final, rest)
    return figures, rest
