"""Aggregates written when business days are rolled up (the tables at the end of hall/models/report.py).

Counting cubes are rewritten with the facts of every rolled-up day. Histograms and
day figures only take final days, once: a final day is never rolled up again.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hall import clock
from hall.extensions import db
from hall.models import (Feedback, ReportCount, ReportDay, ReportDayFigure, ReportHistogram, ReportRating,
                         ReportRatingMark, ReportStageCount, ReportTicket, Ticket)
from hall.models.report import NO_KEY, WAIT
from hall.reports.stats import describe_counts

#: Grains of the monthly histograms besides the whole hall, with their fact column.
GRAINS = {"hour": "hour", "service": "service_id", "counter": "counter_id", "staff": "staff_id"}
#: Ratings younger than this are left to the next fold, so that none still being committed is skipped.
SETTLE = timedelta(seconds=60)
_DIMENSIONS = ("day", "hour", "service_id", "counter_id", "staff_id")


def _cube(rows: list[dict], keys: tuple[str, ...], measures) -> list[dict]:
    totals: dict[tuple, list[int]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        values = measures(row)
        total = totals.get(key)
        if total is None:
            totals[key] = list(values)
        else:
            for i, value in enumerate(values):
                total[i] += value
    return [dict(zip(keys, key)) | dict(zip(("a", "b", "c", "d"), values)) for key, values in totals.items()]


def write_counts(hall_id: int, days: list[date], tickets: list[dict], stages: list[dict]) -> None:
    """Replace the counting cubes of these days."""
    db.session.execute(delete(ReportCount).where(ReportCount.hall_id == hall_id, ReportCount.day.in_(days)))
    db.session.execute(delete(ReportStageCount).where(ReportStageCount.hall_id == hall_id,
                                                      ReportStageCount.day.in_(days)))
    counts = _cube(tickets, _DIMENSIONS + ("status", "served_hour"), lambda t: (
        1, t["within"] is True, t["estimate_error_s"] is not None, t["estimate_error_s"] or 0))
    if counts:
        db.session.execute(ReportCount.__table__.insert(), [
            {**{k: r[k] for k in _DIMENSIONS + ("status", "served_hour")}, "hall_id": hall_id, "tickets": r["a"],
             "within": int(r["b"]), "estimates": int(r["c"]), "estimate_error_s": r["d"]} for r in counts])
    passes = _cube(stages, _DIMENSIONS + ("code",), lambda s: (1, s["handling_s"], int(s["over_limit"])))
    if passes:
        db.session.execute(ReportStageCount.__table__.insert(), [
            {**{k: r[k] for k in _DIMENSIONS + ("code",)}, "hall_id": hall_id, "passes": r["a"],
             "handling_s": r["b"], "over_limit": r["c"]} for r in passes])


def _measures(tickets: list[dict], stages: list[dict]):
    """(fact, code, seconds) of every wait and every stage pass."""
    for t in tickets:
        if t["wait_s"] is not None:
            yield t, WAIT, t["wait_s"]
    for s in stages:
        yield s, s["code"], s["handling_s"]


def add_final_days(hall_id: int, final: set[date], tickets: list[dict], stages: list[dict]) -> None:
    """Add final days to their months' histograms and store each day's figures."""
    if not final:
        return
    months: dict[tuple, int] = Counter()
    days: dict[tuple[date, str], Counter] = defaultdict(Counter)
    for fact, code, seconds in _measures(tickets, stages):
        day = fact["day"]
        if day not in final:
            continue
        month = day.replace(day=1)
        months[(month, "all", NO_KEY, code, seconds)] += 1
        for grain, column in GRAINS.items():
            key = fact[column]
            months[(month, grain, NO_KEY if key is None else key, code, seconds)] += 1
        days[(day, code)][seconds] += 1
    if months:
        table = ReportHistogram.__table__
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(table)
        statement = statement.on_conflict_do_update(
            index_elements=[c.name for c in table.primary_key.columns],
            set_={"count": table.c.count + statement.excluded["count"]})
        db.session.execute(statement, [
            {"hall_id": hall_id, "month": month, "grain": grain, "key": key, "code": code, "seconds": seconds,
             "count": n} for (month, grain, key, code, seconds), n in months.items()])
    db.session.execute(delete(ReportDayFigure).where(ReportDayFigure.hall_id == hall_id,
                                                     ReportDayFigure.day.in_(final)))
    if days:
        db.session.execute(ReportDayFigure.__table__.insert(), [
            {"hall_id": hall_id, "day": day, "code": code, **describe_counts(list(counts.items()))}
            for (day, code), counts in days.items()])


def rating_mark(hall_id: int) -> int:
    """Feedback ids up to this one are in ReportRating."""
    mark = db.session.get(ReportRatingMark, hall_id)
    return mark.feedback_id if mark else 0


def ratings_to_fold(hall_id: int) -> bool:
    """Whether settled ratings of rolled-up days wait to be folded."""
    return db.session.scalar(select(Feedback.id).join(Ticket, Ticket.id == Feedback.ticket_id).join(
        ReportDay, (ReportDay.hall_id == Feedback.hall_id) & (ReportDay.day == Ticket.business_day)).where(
        Feedback.hall_id == hall_id, Feedback.id > rating_mark(hall_id),
        Feedback.created_at < clock.utcnow() - SETTLE).limit(1)) is not None


def fold_ratings(hall_id: int) -> None:
    """Fold settled ratings newer than the mark into ReportRating, in feedback id order.

    A rating whose ticket's day is not rolled up yet stops the fold (it is read live
    until then); one whose ticket has no fact row although its day is rolled up is
    skipped, as the reports skip it.
    """
    start = rating_mark(hall_id)
    settled = clock.utcnow() - SETTLE
    T = ReportTicket
    rows = db.session.execute(
        select(Feedback.id, Feedback.created_at, Feedback.rating, Feedback.counter_id, Feedback.staff_id,
               T.day, T.hour, T.service_id, ReportDay.day.label("rolled"))
        .join(Ticket, Ticket.id == Feedback.ticket_id)
        .outerjoin(T, T.ticket_id == Feedback.ticket_id)
        .outerjoin(ReportDay, (ReportDay.hall_id == Feedback.hall_id) & (ReportDay.day == Ticket.business_day))
        .where(Feedback.hall_id == hall_id, Feedback.id > start).order_by(Feedback.id))
    upto, cube = start, Counter()
    for row in rows:
        if row.created_at >= settled or (row.day is None and row.rolled is None):
            break
        upto = row.id
        if row.day is not None:
            cube[(row.day, row.hour, row.service_id, row.counter_id, row.staff_id, row.rating)] += 1
    if upto == start:
        return
    days = {key[0] for key in cube}
    if days:
        for r in db.session.scalars(select(ReportRating).where(ReportRating.hall_id == hall_id,
                                                               ReportRating.day.in_(days))):
            cube[(r.day, r.hour, r.service_id, r.counter_id, r.staff_id, r.rating)] += r.ratings
        db.session.execute(delete(ReportRating).where(ReportRating.hall_id == hall_id, ReportRating.day.in_(days)))
        db.session.execute(ReportRating.__table__.insert(), [
            {"hall_id": hall_id, "day": day, "hour": hour, "service_id": service_id, "counter_id": counter_id,
             "staff_id": staff_id, "rating": rating, "ratings": n}
            for (day, hour, service_id, counter_id, staff_id, rating), n in cube.items()])
    db.session.merge(ReportRatingMark(hall_id=hall_id, feedback_id=upto))


def describe_row(row: Any) -> dict[str, Any]:
    """A ReportDayFigure as `describe_counts` gives it."""
    return {"count": row.count, "avg": row.avg, "p50": row.p50, "p90": row.p90, "max": row.max}
