"""Report facts: one narrow row per ticket and per stage pass, rolled up from the event tables.

Reports aggregate these rows in SQL instead of joining tickets, stages and
services each time. A closed business day is rolled up once (`final`); the
open day is rolled up again whenever a report asks for it. Durations are whole
seconds.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from hall.extensions import db


class ReportTicket(db.Model):
    __tablename__ = "report_tickets"
    __table_args__ = (Index("ix_report_tickets_day", "hall_id", "day", "status", "wait_s"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    day: Mapped[date] = mapped_column(Date)
    #: Local hour of issue (0–23).
    hour: Mapped[int] = mapped_column(SmallInteger)
    #: The service asked for at issue, and the counter and staff that first called the case.
    service_id: Mapped[int] = mapped_column(Integer)
    counter_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(12))
    #: Issue → first call; None when never called.
    wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Served with the wait and every stage within their committed limits (None unless served).
    within: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: |estimate at issue − actual first wait|, where both exist.
    estimate_error_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Local hour the case was served (closed as done), for throughput per hour.
    served_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)


class ReportStage(db.Model):
    __tablename__ = "report_stages"
    __table_args__ = (Index("ix_report_stages_day", "hall_id", "day", "code", "handling_s"),)

    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    day: Mapped[date] = mapped_column(Date)
    #: Local hour the handling started.
    hour: Mapped[int] = mapped_column(SmallInteger)
    service_id: Mapped[int] = mapped_column(Integer)
    counter_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code: Mapped[str] = mapped_column(String(30))
    handling_s: Mapped[int] = mapped_column(Integer)
    over_limit: Mapped[bool] = mapped_column(Boolean)


class ReportDay(db.Model):
    """Which business days of a hall have facts; `final` once the day is closed."""

    __tablename__ = "report_days"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    rolled_at: Mapped[datetime]
