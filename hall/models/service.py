from __future__ import annotations

from datetime import time

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.extensions import db


class Service(db.Model):
    """A line of business with its own prefix, flow of stages and committed limits."""

    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("hall_id", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(4))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    #: Committed wait limit (承诺时限) from issue to first call.
    wait_limit_s: Mapped[int] = mapped_column(Integer, default=1200)
    opens_at: Mapped[time | None] = mapped_column(Time, nullable=True)
    closes_at: Mapped[time | None] = mapped_column(Time, nullable=True)
    daily_capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kiosk_order: Mapped[int] = mapped_column(Integer, default=0)
    #: Required materials, for the one-time notice of what is missing.
    checklist: Mapped[list] = mapped_column(JSON, default=list)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=30)
    slot_capacity: Mapped[int] = mapped_column(Integer, default=4)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Real-name tickets (anti-scalping): "off", "optional" or "required" resident ID number.
    real_name: Mapped[str] = mapped_column(String(8), default="off", server_default="off")
    #: Tickets one ID number may take of this service per business day (None: no limit).
    daily_limit_per_person: Mapped[int | None] = mapped_column(Integer, nullable=True)

    hall = relationship("Hall", back_populates="services")
    stages = relationship("ServiceStage", order_by="ServiceStage.position", cascade="all, delete-orphan")

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh

    def stage_at(self, position: int) -> "ServiceStage":
        return self.stages[position]


class ServiceStage(db.Model):
    """One step of a service's flow (accept → inspect → review → certificate)."""

    __tablename__ = "service_stages"
    __table_args__ = (UniqueConstraint("service_id", "position"), UniqueConstraint("service_id", "code"))

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(30))
    name_zh: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    #: Committed handling limit of this stage.
    limit_s: Mapped[int] = mapped_column(Integer, default=600)

    def name(self, lang: str) -> str:
        return self.name_en if lang == "en" and self.name_en else self.name_zh
