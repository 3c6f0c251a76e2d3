"""Report figures over the API."""
from __future__ import annotations

from datetime import date

from flask import abort, jsonify, request

from hall.api import bp
from hall.auth import role_required
from hall.queue.lookup import hall_by_slug
from hall.queue.rules import today
from hall.reports.engine import DIMENSIONS, figures, labels, stage_rows
from hall.reports.params import filters_or_400
from hall.reports.summary import summary
from hall.api.openapi import ROUTES


def date_arg(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"{name} must be a date YYYY-MM-DD, not {raw!r}")


@bp.get("/halls/<hall>/stats/summary")
@role_required("supervisor")
def stats_summary(hall: str):
    record = hall_by_slug(hall)
    first = date_arg("from", today(record))
    last = date_arg("to", first)
    if last < first:
        abort(400, description="to is before from")
    if (last - first).days > 366:
        abort(400, description="ask for at most one year at a time")
    return jsonify({"hall": record.slug, **summary(record.id, first, last)})


@bp.get("/halls/<hall>/stats/report")
@role_required("supervisor")
def stats_report(hall: str):
    """Figures of a selection (?from=&to=&service=&counter=&staff=&hour=), optionally broken down (?by=)."""
    record = hall_by_slug(hall)
    filters = filters_or_400(record, request.args)
    by = request.args.get("by") or None
    if by is not None and by not in DIMENSIONS:
        abort(400, description=f"by must be one of {', '.join(DIMENSIONS)}")
    results = figures(filters, by)
    names = labels(record.id, by, results.keys(), "en") if by else {}
    rows = [{"key": key.isoformat() if isinstance(key, date) else key, "label": names.get(key), **values}
            for key, values in results.items()]
    return jsonify({"hall": record.slug, "from": filters.first.isoformat(), "to": filters.last.isoformat(),
                    "by": by, "rows": rows})


@bp.get("/halls/<hall>/stats/stages")
@role_required("supervisor")
def stats_stages(hall: str):
    """Handling time per service and stage against the committed limit."""
    record = hall_by_slug(hall)
    filters = filters_or_400(record, request.args)
    return jsonify({"hall": record.slug, "from": filters.first.isoformat(), "to": filters.last.isoformat(),
                    "rows": stage_rows(filters)})


ROUTES.extend([
    ("/halls/{hall}/stats/report", "get", "Figures of a selection (?from&to&service&counter&staff&hour), "
     "broken down by ?by=day|hour|service|counter|staff", None, "supervisor", ("200",)),
    ("/halls/{hall}/stats/stages", "get", "Handling time per service and stage against its limit", None,
     "supervisor", ("200",)),
])
