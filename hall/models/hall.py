from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, Time
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db


class Hall(db.Model):
    """A service hall (branch). Everything else belongs to one hall."""

    __tablename__ = "halls"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    opens_at: Mapped[time] = mapped_column(Time, default=time(8, 30))
    closes_at: Mapped[time] = mapped_column(Time, default=time(17, 30))
    reset_at: Mapped[time] = mapped_column(Time, default=time(3, 0))
    languages: Mapped[list] = mapped_column(JSON, default=lambda: ["zh", "en"])
    complaint_phone: Mapped[str] = mapped_column(String(40), default="")
    public_issue: Mapped[bool] = mapped_column(Boolean, default=True)
    require_registered_kiosk: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Priority tickets (elderly, disabled) at the kiosk: "off", "button" (open to all) or "pin" (staff PIN).
    kiosk_priority: Mapped[str] = mapped_column(String(8), default="off", server_default="off")
    #: Argon2 hash of the staff PIN that unlocks priority tickets when kiosk_priority is "pin".
    kiosk_pin_hash: Mapped[str] = mapped_column(String(200), default="", server_default="")
    noshow_grace_s: Mapped[int] = mapped_column(Integer, default=900)
    checkin_before_min: Mapped[int] = mapped_column(Integer, default=30)
    checkin_after_min: Mapped[int] = mapped_column(Integer, default=15)
    #: Booking calendar. ISO weekdays without appointments (None: config [booking] closed_weekdays), the
    #: hall's own closed dates (holidays) and dates open whatever else says (make-up working days, 调休).
    booking_closed_weekdays: Mapped[list | None] = mapped_column(JSON, nullable=True)
    booking_closed_dates: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    booking_open_dates: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    #: What public screens and voice say of a visitor besides the number: "number" or "masked_name" (张*三).
    public_name_mode: Mapped[str] = mapped_column(String(12), default="number", server_default="number")
    #: Display zones that call silently: chime and screen, no voice.
    silent_zones: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    #: Complaint case deadlines in working days of the hall's calendar: return visit (回访), rectification (整改).
    complaint_contact_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    complaint_rectify_days: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    #: Sequence of realtime events, bumped by every queue action (and so a per-hall lock).
    event_seq: Mapped[int] = mapped_column(Integer, default=0)
    #: The seq of the hall's last event public screens get (all but a normal ticket's issue), and of the
    #: public one before it: each public event carries the seq of the one before, so that a public screen
    #: sees a gap in its own chain (DESIGN §5). Kept by the same UPDATE as `event_seq`.
    public_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    public_prev_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Bumped by every change to the hall's services, stages or counter links, so that each process
    #: knows when its copy of them (hall/queue/layout.py) is out of date.
    layout_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    services = relationship("Service", back_populates="hall", order_by="Service.kiosk_order")
    counters = relationship("Counter", back_populates="hall", order_by="Counter.number")

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh


class Notice(db.Model):
    """Text or image shown in the display notice area."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    text_zh: Mapped[str] = mapped_column(Text, default="")
    text_en: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(String(500), default="")
    zone: Mapped[str] = mapped_column(String(40), default="")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
