"""Complaint cases (差评整改): a bad rating is followed by the hall's supervisor to closure.

open → contacted (回访, the visitor is called back) → rectified (整改) → closed, each step with a note
and its time. Deadlines count working days of the hall's booking calendar from the day the case
opened: contact within [complaint_contact_days], rectify within [complaint_rectify_days]. A case may
also be closed as a mistaken rating after review (申诉复核); it is kept, with the reason.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from hall import clock
from hall.extensions import db
from hall.models import ComplaintCase, Feedback, Hall, Staff
from hall.queue.booking import local_today, working_days_after
from hall.queue.errors import Conflict, NotFound, QueueError
from hall.ratings import BAD_UPTO

#: The state a step leaves from, and the state it reaches.
STEPS = {"contact": ("open", "contacted"), "rectify": ("contacted", "rectified")}
OPEN_STATES = ("open", "contacted", "rectified")


class CaseStateConflict(Conflict):
    code = "case_state"


def supervisor_of(hall_id: int) -> Staff | None:
    """Who a new case is assigned to: the hall's first active supervisor (else an administrator)."""
    return db.session.scalar(select(Staff).where(Staff.hall_id == hall_id, Staff.active.is_(True),
                                                 Staff.role.in_(("supervisor", "admin")))
                             .order_by(Staff.role.desc(), Staff.id).limit(1))


def deadlines(hall: Hall, opened_at: datetime) -> tuple[date, date]:
    day = local_today(hall, opened_at)
    return (working_days_after(hall, day, hall.complaint_contact_days),
            working_days_after(hall, day, hall.complaint_rectify_days))


def open_case_for(feedback: Feedback, hall: Hall) -> ComplaintCase | None:
    """In the rating's transaction: a bad rating (不满意, 非常不满意) opens a case; others open none."""
    if feedback.rating > BAD_UPTO:
        return None
    contact_due, rectify_due = deadlines(hall, feedback.created_at)
    supervisor = supervisor_of(hall.id)
    case = ComplaintCase(hall_id=hall.id, feedback=feedback, ticket_id=feedback.ticket_id,
                         counter_id=feedback.counter_id, staff_id=feedback.staff_id,
                         supervisor_id=supervisor.id if supervisor else None, status="open",
                         opened_at=feedback.created_at, contact_due=contact_due, rectify_due=rectify_due,
                         history=[{"status": "open", "at": clock.iso(feedback.created_at), "by": None,
                                   "note": ""}])
    db.session.add(case)
    return case


def case_of(hall_id: int, case_id: int) -> ComplaintCase:
    case = db.session.get(ComplaintCase, case_id)
    if case is None or case.hall_id != hall_id:
        raise NotFound(f"unknown complaint case {case_id}")
    return case


def _record(case: ComplaintCase, status: str, note: str, staff: Staff, now: datetime) -> None:
    case.status = status
    case.history = [*case.history, {"status": status, "at": clock.iso(now), "by": staff.name, "note": note}]


def _note(note: str) -> str:
    note = note.strip()
    if not note:
        raise QueueError("write a note of what was done")
    return note


def advance(case: ComplaintCase, step: str, note: str, staff: Staff) -> ComplaintCase:
    """Record the return visit ("contact") or the rectification ("rectify") with its note."""
    before, after = STEPS[step]
    note = _note(note)
    if case.status != before:
        raise CaseStateConflict(f"case {case.id} is {case.status}: {step} needs a case that is {before}",
                                case_status=case.status)
    now = clock.utcnow()
    setattr(case, "contacted_at" if step == "contact" else "rectified_at", now)
    _record(case, after, note, staff, now)
    db.session.commit()
    return case


def close(case: ComplaintCase, note: str, staff: Staff, reason: str = "resolved") -> ComplaintCase:
    """Close a rectified case, or any open one as a mistaken rating after review (申诉复核)."""
    note = _note(note)
    if case.status == "closed":
        raise CaseStateConflict(f"case {case.id} is already closed", case_status=case.status)
    if reason == "resolved" and case.status != "rectified":
        raise CaseStateConflict(f"case {case.id} is {case.status}: close it once rectified, or as mistaken",
                                case_status=case.status)
    now = clock.utcnow()
    case.closed_at, case.close_reason = now, reason
    _record(case, "closed", note, staff, now)
    db.session.commit()
    return case


def settle_past_cases(hall: Hall, before: datetime) -> int:
    """Follow up, as a diligent supervisor would have, the open cases of a simulated past: the visitor
    contacted the same day, the cause rectified the next, the case closed (a demo hall's history)."""
    cases = db.session.scalars(select(ComplaintCase).where(ComplaintCase.hall_id == hall.id,
                                                           ComplaintCase.status == "open",
                                                           ComplaintCase.opened_at < before)).all()
    for case in cases:
        steps = [("contacted", timedelta(hours=2)), ("rectified", timedelta(days=1)), ("closed", timedelta(days=2))]
        moments = [min(case.opened_at + after, before) for _, after in steps]
        case.history = [*case.history, *({"status": status, "at": clock.iso(at), "by": None, "note": "—"}
                                         for (status, _), at in zip(steps, moments))]
        case.contacted_at, case.rectified_at, case.closed_at = moments
        case.status, case.close_reason = "closed", "resolved"
    db.session.commit()
    return len(cases)


def is_overdue(case: ComplaintCase, today: date) -> bool:
    """Still waiting for a step whose last working day has passed."""
    return (case.status == "open" and today > case.contact_due) or \
        (case.status in ("open", "contacted") and today > case.rectify_due)


def overdue_cases(hall: Hall, now: datetime | None = None) -> list[ComplaintCase]:
    today = local_today(hall, now)
    candidates = db.session.scalars(select(ComplaintCase).where(
        ComplaintCase.hall_id == hall.id, ComplaintCase.status.in_(("open", "contacted")),
        or_(ComplaintCase.contact_due < today, ComplaintCase.rectify_due < today))).all()
    return [case for case in candidates if is_overdue(case, today)]


def list_cases(hall_id: int, status: str | None = None) -> list[ComplaintCase]:
    query = select(ComplaintCase).where(ComplaintCase.hall_id == hall_id)
    if status:
        query = query.where(ComplaintCase.status == status)
    return db.session.scalars(query.order_by(ComplaintCase.opened_at.desc(), ComplaintCase.id.desc())).all()


def case_view(case: ComplaintCase, hall: Hall) -> dict[str, Any]:
    feedback = case.feedback
    return {
        "id": case.id, "status": case.status, "rating": feedback.rating, "reasons": feedback.reasons,
        "comment": feedback.comment, "channel": feedback.channel,
        "sub_ratings": {k: getattr(feedback, k) for k in ("efficiency", "competence", "attitude")},
        "ticket": case.ticket.number, "business_day": case.ticket.business_day.isoformat(),
        "service": case.ticket.service.prefix,
        "counter": case.counter.number if case.counter else None,
        "staff": case.staff.name if case.staff else None,
        "supervisor": case.supervisor.name if case.supervisor else None,
        "opened_at": clock.iso(case.opened_at), "contact_due": case.contact_due.isoformat(),
        "rectify_due": case.rectify_due.isoformat(), "contacted_at": clock.iso(case.contacted_at),
        "rectified_at": clock.iso(case.rectified_at), "closed_at": clock.iso(case.closed_at),
        "close_reason": case.close_reason, "overdue": is_overdue(case, local_today(hall)),
        "history": case.history,
    }
