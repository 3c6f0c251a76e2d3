"""Roll business days up into report facts and aggregates (hall/models/report.py).

A day is rolled up for good (`final`) once it is over and none of its tickets
is still open; until then every report rolls it up again, so figures of the
running day are always current. `close_business_day` triggers the final
roll-up through the `day_closed` event.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import delete, func, select, text

from hall import clock
from hall.database import IMMEDIATE
from hall.extensions import db
from hall.models import (OPEN_STATUSES, Hall, ReportDay, ReportStage, ReportTicket, Service, ServiceStage, Stage,
                         Ticket)
from hall.queue.rules import today
from hall.reports.aggregates import add_final_days, fold_ratings, ratings_to_fold, write_counts

BATCH_DAYS = 7


def _seconds(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds())


class _Limits:
    def __init__(self, hall_id: int) -> None:
        self.wait = dict(db.session.execute(select(Service.id, Service.wait_limit_s)
                                            .where(Service.hall_id == hall_id)).all())
        self.stage = {(sid, code): limit for sid, code, limit in db.session.execute(
            select(ServiceStage.service_id, ServiceStage.code, ServiceStage.limit_s)
            .join(Service, Service.id == ServiceStage.service_id).where(Service.hall_id == hall_id))}


def _facts(hall: Hall, days: list[date], limits: _Limits) -> tuple[list[dict], list[dict]]:
    """Ticket and stage fact rows of some business days, from the tickets and stages tables."""
    zone = hall.timezone

    def hour(moment: datetime) -> int:
        return clock.to_local(moment, zone).hour

    stages_of: dict[int, list] = defaultdict(list)
    for row in db.session.execute(
            select(Stage.id, Stage.ticket_id, Stage.service_id, Stage.code, Stage.queued_at, Stage.called_at,
                   Stage.started_at, Stage.finished_at, Stage.counter_id, Stage.staff_id)
            .where(Stage.hall_id == hall.id, Stage.business_day.in_(days)).order_by(Stage.id)):
        stages_of[row.ticket_id].append(row)
    tickets, stages = [], []
    for t in db.session.execute(
            select(Ticket.id, Ticket.business_day, Ticket.issued_at, Ticket.status, Ticket.estimated_wait_s,
                   Ticket.closed_at)
            .where(Ticket.hall_id == hall.id, Ticket.business_day.in_(days))):
        passes = stages_of.get(t.id, [])
        first_call = next((s for s in passes if s.called_at is not None), None)
        wait = _seconds(first_call.called_at, first_call.queued_at) if first_call else None
        service_id = passes[0].service_id if passes else None
        within = None
        for s in passes:
            if s.started_at is None or s.finished_at is None:
                continue
            handling = _seconds(s.finished_at, s.started_at)
            over = handling > limits.stage.get((s.service_id, s.code), handling)
            stages.append({"stage_id": s.id, "ticket_id": t.id, "hall_id": hall.id, "day": t.business_day,
                           "hour": hour(s.started_at), "service_id": s.service_id, "counter_id": s.counter_id,
                           "staff_id": s.staff_id, "code": s.code, "handling_s": handling, "over_limit": over})
            within = (within is not False) and not over
        if t.status == "done":
            within = within is not False and wait is not None and wait <= limits.wait.get(service_id, wait)
        else:
            within = None
        if service_id is None:
            continue
        tickets.append({
            "ticket_id": t.id, "hall_id": hall.id, "day": t.business_day, "hour": hour(t.issued_at),
            "service_id": service_id, "counter_id": first_call.counter_id if first_call else None,
            "staff_id": first_call.staff_id if first_call else None, "status": t.status, "wait_s": wait,
            "within": within,
            "estimate_error_s": abs(t.estimated_wait_s - wait) if wait is not None and t.estimated_wait_s is not None
            else None,
            "served_hour": hour(t.closed_at) if t.status == "done" and t.closed_at else None,
        })
    return tickets, stages


def _lock(hall_id: int) -> None:
    """One roll-up of a hall at a time (SQLite: the write lock taken by BEGIN IMMEDIATE)."""
    session = db.session()
    if session.in_transaction():
        session.commit()
    connection = session.connection(execution_options={IMMEDIATE: True})
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(74110, :hall)"), {"hall": hall_id})


def _days_to_roll(hall_id: int, first: date, last: date) -> list[date]:
    final = set(db.session.scalars(select(ReportDay.day).where(
        ReportDay.hall_id == hall_id, ReportDay.day >= first, ReportDay.day <= last, ReportDay.final.is_(True))))
    with_tickets = set(db.session.scalars(select(Ticket.business_day).distinct().where(
        Ticket.hall_id == hall_id, Ticket.business_day >= first, Ticket.business_day <= last)))
    return sorted(with_tickets - final)


def roll_up(hall_id: int, first: date, last: date) -> int:
    """Bring the facts of [first, last] up to date; returns the number of days rolled up."""
    hall = db.session.get(Hall, hall_id)
    current = today(hall)
    last = min(last, current)
    pending = _days_to_roll(hall_id, first, last)
    unfolded = ratings_to_fold(hall_id)
    db.session.rollback()
    if not pending and not unfolded:
        return 0
    _lock(hall_id)
    pending = _days_to_roll(hall_id, first, last)
    limits = _Limits(hall_id)
    for start in range(0, len(pending), BATCH_DAYS):
        days = pending[start:start + BATCH_DAYS]
        tickets, stages = _facts(hall, days, limits)
        open_days = set(db.session.scalars(select(Ticket.business_day).distinct().where(
            Ticket.hall_id == hall_id, Ticket.business_day.in_(days), Ticket.status.in_(OPEN_STATUSES))))
        db.session.execute(delete(ReportStage).where(ReportStage.hall_id == hall_id, ReportStage.day.in_(days)))
        db.session.execute(delete(ReportTicket).where(ReportTicket.hall_id == hall_id, ReportTicket.day.in_(days)))
        db.session.execute(delete(ReportDay).where(ReportDay.hall_id == hall_id, ReportDay.day.in_(days)))
        if tickets:
            db.session.execute(ReportTicket.__table__.insert(), tickets)
        if stages:
            db.session.execute(ReportStage.__table__.insert(), stages)
        final = {d for d in days if d < current and d not in open_days}
        write_counts(hall_id, days, tickets, stages)
        add_final_days(hall_id, final, tickets, stages)
        now = clock.utcnow()
        db.session.execute(ReportDay.__table__.insert(), [
            {"hall_id": hall_id, "day": d, "final": d in final, "rolled_at": now} for d in days])
    fold_ratings(hall_id)
    db.session.commit()
    return len(pending)


def roll_up_closed_day(event: dict[str, Any]) -> None:
    """Engine subscriber: a closed business day is rolled up for good right away."""
    if event.get("kind") != "day_closed":
        return
    hall = db.session.scalar(select(Hall).where(Hall.slug == event["hall"]))
    last = date.fromisoformat(event["day"])
    earliest = db.session.scalar(select(func.min(Ticket.business_day)).where(Ticket.hall_id == hall.id)) or last
    roll_up(hall.id, max(earliest, last - timedelta(days=366)), last)


def init_rollup(app: Flask) -> None:
    from hall.queue.unit import subscribe

    subscribe(app, roll_up_closed_day)
