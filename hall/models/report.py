"""Report facts: one narrow row per ticket and per stage pass, rolled up from the event tables.

Reports aggregate these rows in SQL instead of joining tickets, stages and
services each time. A closed business day is rolled up once (`final`); the
open day is rolled up again whenever a report asks for it. Durations are whole
seconds.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from hall.extensions import db


class Grain:
    """Where and when a fact or an aggregate row belongs: hall, business day, local hour, service,
    counter and staff (None where no counter or staff took part)."""

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[int] = mapped_column(SmallInteger)
    service_id: Mapped[int] = mapped_column(Integer)
    counter_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReportTicket(Grain, db.Model):
    """One ticket: `hour` is the local hour of issue; service, counter and staff are the service
    asked for at issue and the counter and staff that first called the case."""

    __tablename__ = "report_tickets"
    __table_args__ = (Index("ix_report_tickets_day", "hall_id", "day", "status", "wait_s"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    #: Issue → first call; None when never called.
    wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Served with the wait and every stage within their committed limits (None unless served).
    within: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: |estimate at issue − actual first wait|, where both exist.
    estimate_error_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Local hour the case was served (closed as done), for throughput per hour.
    served_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)


class ReportStage(Grain, db.Model):
    """One pass through a stage: `hour` is the local hour the handling started."""

    __tablename__ = "report_stages"
    __table_args__ = (Index("ix_report_stages_day", "hall_id", "day", "code", "handling_s"),)

    stage_id: Mapped[int] = mapped_column(ForeignKey("stages.id"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(Integer)
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


# Aggregates written at roll-up, so that a month's figures read thousands of rows, not millions.
# Counter and staff columns are None where no counter or staff took part, as in the facts.


class ReportCount(Grain, db.Model):
    """Tickets per business day and (hour, service, counter, staff, status, served hour): the counting cube."""

    __tablename__ = "report_counts"
    __table_args__ = (Index("ix_report_counts_day", "hall_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    served_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    tickets: Mapped[int] = mapped_column(Integer)
    within: Mapped[int] = mapped_column(Integer)
    estimates: Mapped[int] = mapped_column(Integer)
    estimate_error_s: Mapped[int] = mapped_column(Integer)


class ReportStageCount(Grain, db.Model):
    """Stage passes per business day and (hour, service, counter, staff, stage): count, handling sum, over limit."""

    __tablename__ = "report_stage_counts"
    __table_args__ = (Index("ix_report_stage_counts_day", "hall_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30))
    passes: Mapped[int] = mapped_column(Integer)
    handling_s: Mapped[int] = mapped_column(Integer)
    over_limit: Mapped[int] = mapped_column(Integer)


class ReportRating(Grain, db.Model):
    """Ratings per business day of the ticket and (hour, service, rated counter and staff, rating).

    Ratings may come after their day is closed, so they are folded in by feedback id
    (ReportRatingMark); newer ones are read straight from the feedback table.
    """

    __tablename__ = "report_ratings"
    __table_args__ = (Index("ix_report_ratings_day", "hall_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rating: Mapped[int] = mapped_column(SmallInteger)
    ratings: Mapped[int] = mapped_column(Integer)


class ReportRatingMark(db.Model):
    """The highest feedback id of a hall folded into ReportRating."""

    __tablename__ = "report_rating_marks"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    feedback_id: Mapped[int] = mapped_column(Integer)


#: `code` of the wait rows in the distribution tables (other rows name a stage).
WAIT = ""
#: `key` of rows of the whole hall, and of rows whose counter or staff is None.
NO_KEY = 0


class ReportHistogram(db.Model):
    """How many waits or stage passes of a calendar month's closed days took each whole number of seconds.

    One histogram per grain: the whole hall (`all`) or one hour of day, service, counter or staff
    (`key`). Closed days are added once, when they become final.
    """

    __tablename__ = "report_histograms"
    #: SQLite keeps the rows in primary-key order, so a month's histogram is one sequential read.
    __table_args__ = {"sqlite_with_rowid": False}

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    grain: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


class ReportDayFigure(db.Model):
    """Wait and per-stage handling figures (hall.reports.stats.describe_counts) of one closed business day."""

    __tablename__ = "report_day_figures"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    avg: Mapped[float] = mapped_column(Float)
    p50: Mapped[float] = mapped_column(Float)
    p90: Mapped[float] = mapped_column(Float)
    max: Mapped[int] = mapped_column(Integer)
