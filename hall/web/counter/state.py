"""What the counter screen shows, as one JSON-ready dict: the held ticket, the counter's line,
recent no-shows and the staff member's figures of the day."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hall import clock
from hall.clock import iso
from hall.extensions import db
from hall.models import Counter, CounterService, Feedback, Service, Stage, Staff, Ticket
from hall.queue.calls import counter_line
from hall.queue.rules import today
from hall.queue.stages import current_stage
from hall.queue.views import ticket_view

NEXT_SHOWN = 5
HANDLED_OUTCOMES = ("done", "incomplete", "rejected")


def _seconds(later: datetime | None, earlier: datetime | None) -> int | None:
    return None if later is None or earlier is None else max(0, round((later - earlier).total_seconds()))


def held_ticket(counter: Counter, lang: str) -> dict[str, Any] | None:
    """The ticket the counter has called or serves, with its stage times and the service checklist."""
    ticket = db.session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    if ticket is None:
        return None
    stage = current_stage(ticket)
    view = ticket_view(ticket)
    names = view["stage"]
    return {**view,
            "service_name": ticket.service.name(lang),
            "stage_name": names["name_en"] if lang == "en" else names["name_zh"],
            "stage_count": len(names["flow"]),
            "last_stage": ticket.stage_position + 1 >= len(names["flow"]),
            "stage_called_at": iso(stage.called_at), "stage_started_at": iso(stage.started_at),
            "waited_s": _seconds(stage.called_at, stage.queued_at),
            "checklist": list(ticket.service.checklist or [])}


def service_label(link: CounterService, lang: str) -> str:
    """"B 报检申报 (受理, 审核)": a served service with the stages this counter takes, if not all."""
    label = f"{link.service.prefix} {link.service.name(lang)}"
    if link.stages is None:
        return label
    names = [st.name(lang) for st in link.service.stages if st.code in link.stages]
    return f"{label} ({', '.join(names)})"


def _line_entry(ticket: Ticket, now: datetime, counter: Counter) -> dict[str, Any]:
    return {"number": ticket.number, "service": ticket.service.prefix, "stage": ticket.stage_code,
            "priority": ticket.priority, "waited_s": _seconds(now, ticket.queued_at),
            "transferred": ticket.target_counter_id == counter.id}


def counter_queue(counter: Counter, lang: str, now: datetime) -> dict[str, Any]:
    """Waiting counts and longest wait per service line, the next tickets in call order and the
    tickets transferred to this counter."""
    day = today(counter.hall, now)
    waiting = db.session.scalars(counter_line(counter, day)).all()
    lines = []
    for link in counter.services:
        mine = [t for t in waiting if t.service_id == link.service_id and t.target_counter_id is None]
        lines.append({"service": link.service.prefix, "label": service_label(link, lang),
                      "waiting": len(mine),
                      "longest_wait_s": max((_seconds(now, t.queued_at) for t in mine), default=0)})
    entries = [_line_entry(t, now, counter) for t in waiting]
    return {"lines": lines, "next": entries[:NEXT_SHOWN], "waiting": len(entries),
            "transferred": [e for e in entries if e["transferred"]]}


def recent_no_shows(counter: Counter, now: datetime) -> list[dict[str, Any]]:
    """No-shows of this counter still inside the hall's reinstate grace time, newest first."""
    since = now - timedelta(seconds=counter.hall.noshow_grace_s)
    rows = db.session.scalars(select(Ticket).where(
        Ticket.hall_id == counter.hall_id, Ticket.counter_id == counter.id, Ticket.status == "no_show",
        Ticket.closed_at >= since).order_by(Ticket.closed_at.desc()).limit(NEXT_SHOWN)).all()
    return [{"number": t.number, "closed_at": iso(t.closed_at)} for t in rows]


def staff_figures(staff: Staff, now: datetime) -> dict[str, Any]:
    """Today's stages the staff member finished, their average handling time and average rating."""
    day = today(staff.hall, now)
    handled = db.session.execute(select(Stage.started_at, Stage.finished_at).where(
        Stage.hall_id == staff.hall_id, Stage.business_day == day, Stage.staff_id == staff.id,
        Stage.outcome.in_(HANDLED_OUTCOMES), Stage.finished_at.is_not(None))).all()
    durations = [_seconds(finished, started) for started, finished in handled if started]
    count, average = db.session.execute(select(func.count(Feedback.id), func.avg(Feedback.rating))
                                        .join(Ticket, Ticket.id == Feedback.ticket_id)
                                        .where(Feedback.staff_id == staff.id, Ticket.business_day == day)).one()
    return {"served": len(handled),
            "avg_handling_s": round(sum(durations) / len(durations)) if durations else None,
            "ratings": count, "avg_rating": round(float(average), 2) if average is not None else None}


def counter_state(counter: Counter, staff: Staff, lang: str) -> dict[str, Any]:
    db.session.refresh(counter)
    now = clock.utcnow()
    return {"now": iso(now), "seq": counter.hall.event_seq,
            "counter": {"number": counter.number, "name": counter.name, "status": counter.status,
                        "staff": counter.staff.name if counter.staff else None},
            "ticket": held_ticket(counter, lang), "queue": counter_queue(counter, lang, now),
            "no_shows": recent_no_shows(counter, now), "today": staff_figures(staff, now)}


def transfer_targets(counter: Counter, lang: str) -> dict[str, Any]:
    """Services with their stages and the other counters, for the transfer form."""
    services = db.session.scalars(select(Service).where(Service.hall_id == counter.hall_id,
                                                        Service.active.is_(True))
                                  .order_by(Service.kiosk_order)).all()
    counters = db.session.scalars(select(Counter).where(Counter.hall_id == counter.hall_id,
                                                        Counter.active.is_(True), Counter.id != counter.id)
                                  .order_by(Counter.number)).all()
    return {"services": [{"prefix": s.prefix, "name": s.name(lang),
                          "stages": [{"code": st.code, "name": st.name(lang)} for st in s.stages]}
                         for s in services],
            "counters": [{"number": c.number, "name": c.name, "status": c.status} for c in counters]}
