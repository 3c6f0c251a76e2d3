"""A profile fitted from a hall's history (`--fit-from YYYY-MM-DD..YYYY-MM-DD`), read from the report facts."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from datetime import date, time

from sqlalchemy import func, select

from hall.extensions import db
from hall.models import Feedback, Hall, ReportStage, ReportTicket, Service, Ticket, TicketEvent
from hall.reports.rollup import roll_up
from hall.sim.profile import Handling, Profile, ProfileError, Schedule, ServiceProfile


def parse_period(text: str) -> tuple[date, date]:
    try:
        first, last = (date.fromisoformat(part) for part in text.split(".."))
    except ValueError:
        raise ProfileError(f"{text!r} is not a period YYYY-MM-DD..YYYY-MM-DD") from None
    if last < first:
        raise ProfileError(f"{text!r} ends before it starts")
    return first, last


def _lognormal(seconds: list[int]) -> Handling:
    logs = [math.log(max(1, s)) for s in seconds]
    return Handling(round(math.exp(statistics.fmean(logs)), 1),
                    round(statistics.pstdev(logs), 3) if len(logs) > 1 else 0.5)


def fit_profile(hall: Hall, first: date, last: date) -> Profile:
    """Arrivals per service and hour (mean over the days with tickets), lognormal handling per stage,
    and the shares of priority, appointment, no-show, transfer and rated tickets."""
    roll_up(hall.id, first, last)
    T, S = ReportTicket, ReportStage
    in_period = (T.hall_id == hall.id, T.day >= first, T.day <= last)
    days = db.session.scalar(select(func.count(func.distinct(T.day))).where(*in_period)) or 0
    if not days:
        raise ProfileError(f"hall {hall.slug} has no tickets from {first} to {last}")
    prefixes = dict(db.session.execute(select(Service.id, Service.prefix).where(Service.hall_id == hall.id)).all())
    arrivals: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for service_id, hour, n in db.session.execute(
            select(T.service_id, T.hour, func.count()).where(*in_period).group_by(T.service_id, T.hour)):
        arrivals[prefixes[service_id]][hour] += n
    opens = min(h for hours in arrivals.values() for h in hours)
    closes = max(h for hours in arrivals.values() for h in hours)
    handling: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for service_id, code, seconds in db.session.execute(select(S.service_id, S.code, S.handling_s).where(
            S.hall_id == hall.id, S.day >= first, S.day <= last)):
        handling[prefixes[service_id]][code].append(seconds)
    services = {prefix: ServiceProfile(tuple(round(hours.get(h, 0) / days, 2) for h in range(opens, closes + 1)),
                                       {code: _lognormal(s) for code, s in handling[prefix].items()})
                for prefix, hours in arrivals.items()}
    issued = sum(sum(hours.values()) for hours in arrivals.values())
    tickets = (Ticket.hall_id == hall.id, Ticket.business_day >= first, Ticket.business_day <= last)
    by_priority = dict(db.session.execute(select(Ticket.priority, func.count()).where(*tickets)
                                          .group_by(Ticket.priority)).all())
    no_shows = db.session.scalar(select(func.count()).where(*tickets, Ticket.status == "no_show")) or 0
    served = db.session.scalar(select(func.count()).where(*tickets, Ticket.status == "done")) or 0
    transfers = db.session.scalar(select(func.count()).select_from(TicketEvent).join(
        Ticket, Ticket.id == TicketEvent.ticket_id).where(*tickets, TicketEvent.kind == "transferred")) or 0
    ratings = db.session.scalar(select(func.count()).select_from(Feedback).join(
        Ticket, Ticket.id == Feedback.ticket_id).where(*tickets)) or 0
    return Profile(
        name=f"{hall.slug} {first}..{last}", opens=time(opens), services=services,
        schedule=Schedule(opens=hall.opens_at, closes=hall.closes_at),
        priority_share=(by_priority.get("priority", 0) + by_priority.get("vip", 0)) / issued,
        appointment_share=by_priority.get("appointment", 0) / issued, no_show=no_shows / issued,
        transfer=min(1.0, transfers / issued), rating_share=min(1.0, ratings / served) if served else 0.0)
