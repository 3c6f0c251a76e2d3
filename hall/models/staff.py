from __future__ import annotations

import hashlib
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hall.clock import utcnow
from hall.extensions import db

ROLES = ("staff", "supervisor", "admin")
_hasher = PasswordHasher()


class Staff(UserMixin, db.Model):
    """A person who logs in: counter staff, supervisor or admin."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id"), index=True)
    login: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="staff")
    #: Supervision card (一卡): post and photo shown on the counter-top screen.
    position: Mapped[str] = mapped_column(String(120), default="")
    photo_url: Mapped[str] = mapped_column(String(500), default="")
    staff_no: Mapped[str] = mapped_column(String(40), default="")
    language: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    hall = relationship("Hall")

    def set_password(self, password: str) -> None:
        """A new password also revokes the staff member's API tokens; their signed-in sessions end
        with it because the session carries a stamp of the password (see `get_id`)."""
        self.password_hash = _hasher.hash(password)
        if self.id is not None:
            db.session.execute(update(ApiToken).where(ApiToken.staff_id == self.id).values(revoked=True))

    @property
    def session_stamp(self) -> str:
        """Changes with the password: a session signed in before a password change no longer matches."""
        return hashlib.sha256(self.password_hash.encode()).hexdigest()[:16]

    def get_id(self) -> str:
        """What the session cookie remembers: the id and the password stamp."""
        return f"{self.id}:{self.session_stamp}"

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except VerificationError:
            return False

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive staff
        return self.active

    def has_role(self, role: str) -> bool:
        """Roles are ranked: an admin may do what a supervisor may, and so on."""
        return ROLES.index(self.role) >= ROLES.index(role)


class ApiToken(db.Model):
    """Bearer token of a staff member for the API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffSession(db.Model):
    """A stretch of time a staff member is at a counter (for utilisation)."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
