"""Satisfaction ratings: one per ticket and channel, linked to the staff and counter that served it."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hall import clock
from hall.extensions import db
from hall.models import Counter, Feedback, Hall, Stage, Ticket
from hall.queue.errors import Conflict
from hall.complaints.cases import open_case_for
from hall.ratings import ASPECTS, COMPLAINTS, LEVELS, PRAISE, REASONS, SATISFIED_FROM  # noqa: F401  (REASONS: re-exported)

CHANNELS = ("pad", "phone")


class AlreadyRated(Conflict):
    code = "already_rated"


class NotRateable(Conflict):
    code = "not_rateable"


def choices() -> dict[str, Any]:
    """Ratings and reason chips as the pages show them (labels in the request's language)."""
    return {"ratings": [{"value": v, "label": str(label)} for v, label in LEVELS.items()],
            "aspects": [{"code": c, "label": str(label)} for c, label in ASPECTS.items()],
            "praise": [{"code": c, "label": str(label)} for c, label in PRAISE.items()],
            "complaints": [{"code": c, "label": str(label)} for c, label in COMPLAINTS.items()]}


def last_finished_stage(ticket: Ticket, counter: Counter | None = None) -> Stage | None:
    """The latest finished stage of a ticket, optionally only one finished at a given counter."""
    query = select(Stage).where(Stage.ticket_id == ticket.id, Stage.finished_at.is_not(None))
    if counter is not None:
        query = query.where(Stage.counter_id == counter.id)
    return db.session.scalar(query.order_by(Stage.finished_at.desc(), Stage.id.desc()).limit(1))


def has_rated(ticket: Ticket) -> bool:
    """Whether the visit was rated, on the pad or the phone (一次一评: one rating per visit)."""
    return db.session.scalar(select(Feedback.id).where(Feedback.ticket_id == ticket.id)) is not None


def phone_stage(ticket: Ticket) -> Stage:
    """The stage a phone rating is about: the last one of a finished ticket."""
    stage = last_finished_stage(ticket) if ticket.status == "done" else None
    if stage is None:
        raise NotRateable("a ticket can be rated once it is done")
    return stage


def pad_stage(ticket: Ticket, counter: Counter, window_s: int, now: datetime | None = None) -> Stage:
    """The stage a rating pad rating is about: the ticket's latest stage finished at its counter, recently."""
    stage = last_finished_stage(ticket, counter)
    now = now or clock.utcnow()
    if stage is None or now - stage.finished_at > timedelta(seconds=window_s):
        raise NotRateable(f"{ticket.number} has not just finished at counter {counter.number}")
    return stage


def rate(ticket: Ticket, stage: Stage, channel: str, rating: int, reasons: list[str], comment: str = "",
         aspects: dict[str, int | None] | None = None) -> Feedback:
    """Store a rating (with optional sub-ratings of ASPECTS); a second one of the same visit, on either
    channel, is refused (unique constraint). A bad rating opens a complaint case in the same transaction."""
    try:
        feedback = add_rating(ticket, stage, channel, rating, reasons, comment, aspects)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise AlreadyRated(f"{ticket.number} has already been rated") from None
    return feedback


def add_rating(ticket: Ticket, stage: Stage, channel: str, rating: int, reasons: list[str], comment: str = "",
               aspects: dict[str, int | None] | None = None) -> Feedback:
    """`rate` in the caller's transaction, left open (a simulated day commits its ratings with its actions)."""
    feedback = Feedback(hall_id=ticket.hall_id, ticket_id=ticket.id, channel=channel, rating=rating,
                        reasons=reasons, comment=comment, staff_id=stage.staff_id, counter_id=stage.counter_id,
                        created_at=clock.utcnow(), **{k: v for k, v in (aspects or {}).items() if k in ASPECTS})
    db.session.add(feedback)
    db.session.flush()  # the visit's one rating: a second one fails here (the unique constraint)
    open_case_for(feedback, db.session.get(Hall, ticket.hall_id))
    return feedback


def feedback_view(feedback: Feedback) -> dict[str, Any]:
    return {"rating": feedback.rating, "satisfied": feedback.rating >= SATISFIED_FROM, "reasons": feedback.reasons,
            "channel": feedback.channel, "created_at": clock.iso(feedback.created_at)}


def satisfaction(hall_id: int, first: date, last: date) -> dict[str, Any]:
    """Ratings of tickets of a range of business days: count, average and % satisfied (ratings ≥ 3)."""
    ratings = db.session.scalars(select(Feedback.rating).join(Ticket, Ticket.id == Feedback.ticket_id).where(
        Feedback.hall_id == hall_id, Ticket.business_day >= first, Ticket.business_day <= last)).all()
    satisfied = sum(1 for r in ratings if r >= SATISFIED_FROM)
    return {"count": len(ratings), "average": round(sum(ratings) / len(ratings), 2) if ratings else None,
            "satisfied_pct": round(100 * satisfied / len(ratings), 1) if ratings else None}
