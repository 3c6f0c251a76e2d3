from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hall.clock import utcnow
from hall.extensions import db


class LineCount(db.Model):
    """Running figures of one line (a stage of a service on one business day), kept by the actions."""

    __tablename__ = "line_counts"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    stage_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    #: Tickets waiting in the line now.
    waiting: Mapped[int] = mapped_column(Integer, default=0)
    #: Tickets that joined the line this day (issued, moved on from an earlier stage, transferred, reinstated).
    joined: Mapped[int] = mapped_column(Integer, default=0)


class HandlingTime(db.Model):
    """Exponentially weighted handling time of a stage of a service, updated as each stage finishes."""

    __tablename__ = "handling_times"

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    stage_code: Mapped[str] = mapped_column(String(30), primary_key=True)
    average_s: Mapped[float] = mapped_column(Float)
    #: Exponentially weighted variance around the average (s²), for an interval around estimates.
    variance_s2: Mapped[float] = mapped_column(Float, default=0.0)
    samples: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
