from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db

PRIORITIES = ("normal", "appointment", "priority", "vip")
CHANNELS = ("kiosk", "web", "appointment", "staff")
OPEN_STATUSES = ("waiting", "called", "serving")
TICKET_STATUSES = OPEN_STATUSES + ("done", "no_show", "cancelled", "not_served")
OUTCOMES = ("done", "incomplete", "rejected")


class TicketSequence(db.Model):
    """Last number issued per hall, business day and prefix (numbers restart daily)."""

    __tablename__ = "ticket_sequences"

    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), primary_key=True)
    business_day: Mapped[date] = mapped_column(Date, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(4), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
    #: When the last number was issued: a number is issued no earlier than the one before it, even when
    #: its issue read the clock before it reached the hall's lock (see `hall.queue.tickets`).
    last_issued_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Ticket(db.Model):
    """A visitor's case: one number through every stage of its service's flow."""

    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("hall_id", "business_day", "number"),
        UniqueConstraint("hall_id", "idempotency_key"),
        Index("ix_tickets_line", "hall_id", "status", "sort_at"),
        #: Today's priority tickets of a hall (the estimate's arrival rates): normal tickets are not in it.
        Index("ix_tickets_priority", "hall_id", "business_day", "priority",
              postgresql_where=text("priority <> 'normal'"), sqlite_where=text("priority <> 'normal'")),
        #: One ID's tickets of a day (the real-name limit): tickets with no identity are not in it. (A hall's
        #: tickets of a day are read through the unique key of their numbers, which starts with the same two.)
        Index("ix_tickets_identity", "hall_id", "business_day", "id_hash",
              postgresql_where=text("id_hash IS NOT NULL"), sqlite_where=text("id_hash IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    business_day: Mapped[date] = mapped_column(Date)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(12))
    token: Mapped[str] = mapped_column(String(43), unique=True)
    priority: Mapped[str] = mapped_column(String(12), default="normal")
    channel: Mapped[str] = mapped_column(String(12), default="kiosk")
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    stage_position: Mapped[int] = mapped_column(Integer, default=0)
    stage_code: Mapped[str] = mapped_column(String(30))
    #: Counter that called or serves the ticket now (or last did).
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    #: Only this counter may call the ticket (after a transfer to a counter).
    target_counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the ticket joined its current line.
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Virtual arrival: queued_at less the priority head start; the call order.
    sort_at: Mapped[datetime] = mapped_column(default=utcnow)
    called_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    recall_count: Mapped[int] = mapped_column(Integer, default=0)
    estimated_wait_s: Mapped[int | None] = mapped_column(Integer, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True)
    #: One-time notice of missing materials: {"items": [...], "note": "..."}.
    notice: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointments.id", use_alter=True, name="fk_tickets_appointment"), nullable=True)
    #: A phone number the visitor left on their ticket page, to be told when their turn is near.
    notify_phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: Real-name tickets: keyed hash of the visitor's ID number (for the per-person limit) and its
    #: masked form for the counter (3201**********123X). The number itself is never stored.
    id_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    id_masked: Mapped[str | None] = mapped_column(String(24), nullable=True)
    #: The visitor's name as public screens may show it (张*三), for tickets that carry one (appointments).
    visitor_masked: Mapped[str | None] = mapped_column(String(64), nullable=True)

    service = relationship("Service")
    counter = relationship("Counter", foreign_keys=[counter_id])
    target_counter = relationship("Counter", foreign_keys=[target_counter_id])
    stages = relationship("Stage", order_by="Stage.id", back_populates="ticket")


class Stage(db.Model):
    """One pass of a case through one stage: wait = called − queued, handling = finished − started."""

    __tablename__ = "stages"
    __table_args__ = (Index("ix_stages_day", "hall_id", "business_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    business_day: Mapped[date] = mapped_column(Date)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(30))
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    called_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    #: done / incomplete / rejected / transferred / no_show / cancelled / not_served
    outcome: Mapped[str | None] = mapped_column(String(12), nullable=True)
    notice: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    ticket = relationship("Ticket", back_populates="stages")


class TicketEvent(db.Model):
    """Append-only log of every queue action: the truth reports are built on."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_events_hall_at", "hall_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"))
    #: The hall's realtime sequence number of this action.
    seq: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id"), nullable=True)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
