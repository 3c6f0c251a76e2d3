"""Headline figures of a hall over a range of business days."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select

from hall.extensions import db
from hall.models import Service, ServiceStage, Stage, Ticket
from hall.reports.stats import describe


def summary(hall_id: int, first: date, last: date) -> dict[str, Any]:
    in_range = (Ticket.hall_id == hall_id, Ticket.business_day >= first, Ticket.business_day <= last)
    counts = dict(db.session.execute(select(Ticket.status, func.count()).where(*in_range)
                                     .group_by(Ticket.status)).all())
    stage_rows = db.session.execute(
        select(Stage.ticket_id, Stage.service_id, Stage.code, Stage.queued_at, Stage.called_at, Stage.started_at,
               Stage.finished_at, Ticket.status, Ticket.service_id)
        .join(Ticket, Ticket.id == Stage.ticket_id).where(*in_range).order_by(Stage.ticket_id, Stage.id)).all()
    wait_limits = dict(db.session.execute(select(Service.id, Service.wait_limit_s)
                                          .where(Service.hall_id == hall_id)).all())
    stage_limits = {(sid, code): limit for sid, code, limit in db.session.execute(
        select(ServiceStage.service_id, ServiceStage.code, ServiceStage.limit_s))}

    first_wait: dict[int, float] = {}
    handling: dict[str, list[float]] = defaultdict(list)
    within: dict[int, bool] = {}
    for ticket_id, service_id, code, queued, called, started, finished, status, ticket_service in stage_rows:
        if ticket_id not in first_wait and called is not None:
            wait = (called - queued).total_seconds()
            first_wait[ticket_id] = wait
            within[ticket_id] = wait <= wait_limits.get(ticket_service, float("inf"))
        if started is not None and finished is not None:
            seconds = (finished - started).total_seconds()
            handling[code].append(seconds)
            if seconds > stage_limits.get((service_id, code), float("inf")):
                within[ticket_id] = False
        if status == "done":
            within.setdefault(ticket_id, False)
    served_ids = {tid for tid, _s, _c, *_rest, status, _ts in stage_rows if status == "done"}
    served_within = sum(1 for tid in served_ids if within.get(tid))
    served = counts.get("done", 0)
    return {
        "from": first.isoformat(), "to": last.isoformat(),
        "issued": sum(counts.values()), "served": served, "no_show": counts.get("no_show", 0),
        "cancelled": counts.get("cancelled", 0), "not_served": counts.get("not_served", 0),
        "waiting": sum(counts.get(s, 0) for s in ("waiting", "called", "serving")),
        "wait_s": describe(list(first_wait.values())),
        "handling_s": {code: describe(values) for code, values in sorted(handling.items())},
        "served_within_target_pct": round(100 * served_within / served, 1) if served else None,
    }
