from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db

COUNTER_STATUSES = ("open", "paused", "closed")


class Counter(db.Model):
    """A window (窗口) where staff serve tickets."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("hall_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(60), default="")
    zone: Mapped[str] = mapped_column(String(40), default="main")
    status: Mapped[str] = mapped_column(String(10), default="closed")
    status_since: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    current_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", use_alter=True, name="fk_counters_current_ticket"), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Last sign of life of the counter screen that opened it; None = not held by a screen.
    screen_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: The counter's planned day in the hall's local time (hall/counter_schedule.py): opening and
    #: closing (None: with the hall), planned breaks as [["12:00", "12:30"], ...] (None: none).
    opens_at: Mapped[time | None] = mapped_column(nullable=True)
    closes_at: Mapped[time | None] = mapped_column(nullable=True)
    breaks: Mapped[list | None] = mapped_column(JSON, nullable=True)

    hall = relationship("Hall", back_populates="counters")
    staff = relationship("Staff", foreign_keys=[staff_id])
    services = relationship("CounterService", order_by="CounterService.rank", cascade="all, delete-orphan")


class CounterService(db.Model):
    """A service a counter serves, in the counter's priority order; optionally only some stages."""

    __tablename__ = "counter_services"
    __table_args__ = (UniqueConstraint("counter_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    #: Stage codes served here; None = every stage of the service.
    stages: Mapped[list | None] = mapped_column(JSON, nullable=True)

    service = relationship("Service")

    def serves(self, service_id: int, stage_code: str) -> bool:
        return self.service_id == service_id and (self.stages is None or stage_code in self.stages)
