"""The monitor page; its data and actions are JSON under /api/v1 (hall/api/supervision.py)."""
from __future__ import annotations

from flask import render_template

from hall.auth import role_required
from hall.monitor import bp
from hall.queue.lookup import hall_by_slug


@bp.get("/monitor/<hall>")
@role_required("supervisor")
def monitor(hall: str):
    return render_template("monitor/monitor.html", hall=hall_by_slug(hall))
