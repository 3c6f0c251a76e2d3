"""好差评 figures of a period: ratings per level, and the complaint cases opened by bad ratings.

Definitions (also in the monthly report):
- cases of a period are the cases opened on its days (hall time);
- contacted / rectified in time: the step was recorded on or before its last working day;
- overdue: a step not recorded by its last working day, as of `as_of` (the period's end, or today if
  earlier); cases closed as mistaken ratings after review (申诉复核) are never overdue;
- 回访率 (contact rate) = contacted ÷ opened; 整改率 (rectification rate) = rectified ÷ opened, in %.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from hall import clock
from hall.extensions import db
from hall.models import ComplaintCase, Feedback, Hall, Ticket
from hall.queue.booking import local_today
from hall.ratings import ASPECTS
from hall.reports.engine import Filters, figures, labels

COMPLAINT_LABELS = {"opened": _l("Complaint cases opened"), "contacted": _l("Visitors contacted (return visits)"),
                    "contacted_in_time": _l("Contacted in time"), "rectified": _l("Rectified"),
                    "rectified_in_time": _l("Rectified in time"), "overdue": _l("Overdue"),
                    "mistaken": _l("Closed as mistaken ratings"), "contact_rate_pct": _l("Contact rate (回访率, %)"),
                    "rectify_rate_pct": _l("Rectification rate (整改率, %)")}


def _period_ratings(hall_id: int, first: date, last: date, *columns: Any) -> Select:
    """Ratings of visits of the period's business days."""
    return (select(*columns).join(Ticket, Ticket.id == Feedback.ticket_id)
            .where(Feedback.hall_id == hall_id, Ticket.business_day >= first, Ticket.business_day <= last))


def rating_levels(hall_id: int, first: date, last: date) -> dict[int, int]:
    """How many visits of the period's business days were rated at each level, 5 to 1."""
    counts = dict(db.session.execute(
        _period_ratings(hall_id, first, last, Feedback.rating, func.count()).group_by(Feedback.rating)).all())
    return {level: counts.get(level, 0) for level in (5, 4, 3, 2, 1)}


def aspect_averages(hall_id: int, first: date, last: date) -> dict[str, dict[str, Any]]:
    """Per sub-rating (ASPECTS): how many visitors gave it and its average (None when nobody did)."""
    columns = [getattr(Feedback, code) for code in ASPECTS]
    sums = db.session.execute(_period_ratings(
        hall_id, first, last, *(f(c) for c in columns for f in (func.count, func.sum)))).one()
    return {code: {"count": sums[2 * i], "average": round(sums[2 * i + 1] / sums[2 * i], 2) if sums[2 * i] else None}
            for i, code in enumerate(ASPECTS)}


def _local_day(hall: Hall, moment: datetime | None) -> date | None:
    return None if moment is None else clock.to_local(moment, hall.timezone).date()


def _late(done: date | None, due: date, as_of: date) -> bool:
    """A step done after its last working day, or still not done once that day has passed."""
    return done > due if done is not None else as_of > due


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def ranking(hall_id: int, first: date, last: date, by: str, lang: str) -> list[dict[str, Any]]:
    """Counters or staff by satisfaction over the period (rated ones only), best first."""
    results = {key: f["satisfaction"] for key, f in figures(Filters(hall_id, first, last), by=by).items()
               if key is not None and f["satisfaction"]["count"]}
    names = labels(hall_id, by, results.keys(), lang)
    rows = [{"name": names.get(key, "—"), "ratings": s["count"], "average": s["average"],
             "satisfied_pct": s["satisfied_pct"]} for key, s in results.items()]
    return sorted(rows, key=lambda r: (-r["satisfied_pct"], -r["average"], r["name"]))


def complaint_figures(hall: Hall, first: date, last: date, now: datetime | None = None) -> dict[str, Any]:
    """Opened, contacted (in time), rectified (in time), overdue, mistaken, 回访率 and 整改率 of a period."""
    start = clock.local_to_utc(first, time(0), hall.timezone)
    end = clock.local_to_utc(last + timedelta(days=1), time(0), hall.timezone)
    cases = db.session.scalars(select(ComplaintCase).where(
        ComplaintCase.hall_id == hall.id, ComplaintCase.opened_at >= start, ComplaintCase.opened_at < end)).all()
    as_of = min(last, local_today(hall, now))
    counts = dict.fromkeys(("opened", "contacted", "contacted_in_time", "rectified", "rectified_in_time",
                             "overdue", "mistaken"), 0)
    for case in cases:
        contacted, rectified = _local_day(hall, case.contacted_at), _local_day(hall, case.rectified_at)
        mistaken = case.close_reason == "mistaken"
        counts["opened"] += 1
        counts["mistaken"] += mistaken
        counts["contacted"] += contacted is not None
        counts["contacted_in_time"] += contacted is not None and contacted <= case.contact_due
        counts["rectified"] += rectified is not None
        counts["rectified_in_time"] += rectified is not None and rectified <= case.rectify_due
        counts["overdue"] += not mistaken and (_late(contacted, case.contact_due, as_of) or
                                                _late(rectified, case.rectify_due, as_of))
    return {**counts, "contact_rate_pct": _pct(counts["contacted"], counts["opened"]),
            "rectify_rate_pct": _pct(counts["rectified"], counts["opened"])}
