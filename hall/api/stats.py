"""Report figures over the API."""
from __future__ import annotations

from datetime import date

from flask import abort, jsonify, request

from hall.api import bp
from hall.auth import role_required
from hall.queue.lookup import hall_by_slug
from hall.queue.rules import today
from hall.reports.summary import summary


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
