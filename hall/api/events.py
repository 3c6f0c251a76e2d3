"""Calls a screen missed since a sequence number, over plain HTTP (the Socket.IO `events` request
answers the same): GET /api/v1/halls/<hall>/events?since=<seq>."""
from __future__ import annotations

from flask import abort, jsonify, request

from hall.api import bp
from hall.queue.lookup import hall_by_slug
from hall.replay import events_since, parse_since


@bp.get("/halls/<hall>/events")
def missed_events(hall: str):
    """Every call and recall of the business day after `since`, oldest first, as the public room
    sees them, with the public snapshot they lead up to (none when nothing happened since)."""
    since = parse_since(request.args.get("since", ""))
    if since is None:
        abort(400, description="since must be a sequence number (0 or more)")
    return jsonify(events_since(hall_by_slug(hall), since, public=True))
