"""Complaint cases: a bad rating (不满意, 非常不满意) followed to closure by the hall's supervisor."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db

#: open → contacted (回访) → rectified (整改) → closed; a case may be closed from any state.
CASE_STATUSES = ("open", "contacted", "rectified", "closed")
#: How a case was closed: followed through, or a mistaken rating found on review (申诉复核).
CLOSE_REASONS = ("resolved", "mistaken")


class ComplaintCase(db.Model):
    __tablename__ = "complaint_cases"
    __table_args__ = (Index("ix_complaint_cases_hall_status", "hall_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    #: The supervisor the case is assigned to.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(12), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Last working day (hall's calendar) by which the visitor must be contacted / the cause rectified.
    contact_due: Mapped[date] = mapped_column(Date)
    rectify_due: Mapped[date] = mapped_column(Date)
    contacted_at: Mapped[datetime | None]
    rectified_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(12), nullable=True)
    #: Every step with its note: [{"status", "at", "by", "note"}].
    history: Mapped[list] = mapped_column(JSON, default=list)

    feedback = relationship("Feedback")
    ticket = relationship("Ticket")
    counter = relationship("Counter")
    staff = relationship("Staff", foreign_keys=[staff_id])
    supervisor = relationship("Staff", foreign_keys=[supervisor_id])
