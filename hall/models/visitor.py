"""What visitors leave behind: appointments and satisfaction ratings."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db


class Appointment(db.Model):
    """A booked slot; checked in at the kiosk it becomes an appointment-priority ticket."""

    __tablename__ = "appointments"
    #: A service's appointments of a day: the booking's slot counts and the real-name daily limit's count
    #: (`realname.taken_count`, run under the hall's lock), without reading every appointment ever booked.
    __table_args__ = (Index("ix_appointments_service_day", "service_id", "day", "id_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    day: Mapped[date] = mapped_column(Date)
    slot_at: Mapped[time] = mapped_column(Time)
    visitor_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(20), unique=True)
    #: booked / checked_in / cancelled
    status: Mapped[str] = mapped_column(String(12), default="booked")
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Real-name services: keyed hash and masked form of the visitor's ID number (see Ticket).
    id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_masked: Mapped[str | None] = mapped_column(String(24), nullable=True)

    service = relationship("Service")


class Feedback(db.Model):
    """A 1–5 rating (GB/T 39734 levels) of a finished visit: one per ticket (一次一评), pad or phone."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("ticket_id", name="uq_feedback_ticket"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    channel: Mapped[str] = mapped_column(String(12))
    rating: Mapped[int] = mapped_column(Integer)
    reasons: Mapped[list] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    #: Optional sub-ratings 1–5 of the standard's offline indicators: 服务效率, 服务水平, 服务态度.
    efficiency: Mapped[int | None] = mapped_column(Integer, nullable=True)
    competence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attitude: Mapped[int | None] = mapped_column(Integer, nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
