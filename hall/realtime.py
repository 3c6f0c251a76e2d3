"""Realtime push (DESIGN §5) over Flask-SocketIO.

Every committed queue action becomes one `hall_event` carrying the hall's sequence
number. Rooms: `hall:<slug>:public` (displays, kiosks, phones: no ticket tokens,
no staff names), `hall:<slug>:staff` (counter screens, monitor: full events) and
`ticket:<token>` (one visitor's phone). Staff screens get every event of their hall, so
a gap in the sequence means a lost event. Public screens get every event but a normal
ticket's issue (`for_public_screens`); each event they get carries `public_prev`, the
seq of the hall's public event before it, so for them a `public_prev` newer than the
last seq they applied means a lost event. Either way the client then asks for the
`events` it missed (or a `snapshot`, also on every (re)connect) and carries on from its
seq. The waiting counts that issues change reach public screens as a throttled
`hall_waiting` message (hall/realtime_waiting.py).
Several server processes share events through Redis (`[redis] url`).
"""
from __future__ import annotations

import logging
from typing import Any

from flask import Flask, request
from flask_login import current_user
from flask_socketio import join_room

from hall.extensions import socketio
from hall.greenlets import gevent_patched
from hall.queue.errors import NotFound
from hall.queue.lookup import hall_by_slug, ticket_by_token
from hall.queue.unit import subscribe
from hall.realtime_redis import message_queue_options
from hall.realtime_waiting import Turns, WaitingPush
from hall.replay import events_since, parse_since
from hall.snapshot import hall_snapshot
from hall.unavailable import survives_outage

log = logging.getLogger(__name__)
PRIVATE_TICKET_FIELDS = ("token", "id", "notice", "id_masked")


def public_room(slug: str) -> str:
    return f"hall:{slug}:public"


def staff_room(slug: str) -> str:
    return f"hall:{slug}:staff"


def staff_member_room(staff_id: int) -> str:
    return f"staff-member:{staff_id}"


def end_staff_connections(staff_id: int) -> None:
    """A staff member's sessions ended (deactivated, or a new password): their live connections
    end too, so no staff event reaches a screen left open. This process closes the connections it
    holds; the others' pages hear `session_ended` and reload into the sign-in page."""
    room = staff_member_room(staff_id)
    socketio.emit("session_ended", {}, to=room)
    for sid, _ in list(socketio.server.manager.get_participants("/", room)):
        socketio.server.disconnect(sid, namespace="/")


def ticket_room(token: str) -> str:
    return f"ticket:{token}"


def redact(event: dict[str, Any]) -> dict[str, Any]:
    """The event as the public may see it: no ticket tokens or notices, no staff names."""
    public = dict(event)  # only the two dicts it changes are copied: the rest is never modified
    if public.get("ticket"):
        public["ticket"] = {k: v for k, v in public["ticket"].items() if k not in PRIVATE_TICKET_FIELDS}
    if public.get("counter"):
        public["counter"] = {k: v for k, v in public["counter"].items() if k != "staff"}
    return public


def for_phone(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a visitor's own phone gets it: all of its ticket but the masked ID number."""
    ticket = event.get("ticket")
    if not ticket or "id_masked" not in ticket:
        return event
    return {**event, "ticket": {k: v for k, v in ticket.items() if k != "id_masked"}}


def push_event(event: dict[str, Any]) -> None:
    """Engine subscriber: send a committed event to the rooms that care."""
    slug = event["hall"]
    public = "public_prev" in event  # set by the engine on the events public screens get
    socketio.emit("hall_event", {k: v for k, v in event.items() if k != "public_prev"} if public else event,
                  to=staff_room(slug))
    if public:
        socketio.emit("hall_event", redact(event), to=public_room(slug))
    token = (event.get("ticket") or {}).get("token")
    if token and event["kind"] != "issued":  # a ticket just issued has a new token: no phone follows it yet
        socketio.emit("ticket_event", for_phone(event), to=ticket_room(token))
    let_fan_out_run = getattr(socketio.server.manager, "let_fan_out_run", None)
    if let_fan_out_run:
        let_fan_out_run()


def _is_staff_of(slug: str) -> bool:
    return bool(current_user and current_user.is_authenticated and current_user.hall.slug == slug)


@survives_outage(False)
def on_connect(auth: dict | None = None) -> bool:
    """Join the hall's rooms named in the auth payload: {"hall": slug, "ticket": token?}."""
    auth = auth if isinstance(auth, dict) else {}
    slug = auth.get("hall") or request.args.get("hall")
    if not isinstance(slug, str):
        return False
    try:
        hall_by_slug(slug)
    except NotFound:
        return False
    if _is_staff_of(slug):
        join_room(staff_room(slug))
        join_room(staff_member_room(current_user.id))
    else:
        join_room(public_room(slug))
    token = auth.get("ticket")
    if isinstance(token, str):
        try:
            ticket_by_token(token)
        except NotFound:
            return False
        join_room(ticket_room(token))
    return True


@survives_outage({"error": "database_unavailable"})
def on_snapshot(data: dict | None = None) -> dict[str, Any]:
    """Ack with the full state of the hall (public or staff view)."""
    slug = (data or {}).get("hall") if isinstance(data, dict) else None
    try:
        hall = hall_by_slug(slug or "")
    except NotFound:
        return {"error": "unknown hall"}
    return hall_snapshot(hall, public=not _is_staff_of(hall.slug))


@survives_outage({"error": "database_unavailable"})
def on_events(data: dict | None = None) -> dict[str, Any]:
    """Ack with the calls missed since {"since": seq} and, if anything happened (or "snapshot" is
    true), the snapshot."""
    data = data if isinstance(data, dict) else {}
    since = parse_since(data.get("since"))
    if since is None:
        return {"error": "since must be a sequence number"}
    try:
        hall = hall_by_slug(data.get("hall") or "")
    except NotFound:
        return {"error": "unknown hall"}
    return events_since(hall, since, public=not _is_staff_of(hall.slug), snapshot=data.get("snapshot") is True)


def init_catch_up() -> None:
    """The `events` request of screens that missed events (hall/replay.py)."""
    socketio.on_event("events", on_events)


#: Long-polling answers smaller than this go uncompressed: an answer of a few events (1–2 KB
#: each) is sent once per polling screen, and gzip cost the server more per poll than the bytes
#: it saved (a websocket frame is never compressed either); snapshots are larger and still are.
POLLING_COMPRESSION_BYTES = 16 * 1024


def init_realtime(app: Flask) -> None:
    # gevent in the server processes (hall.server); threads in tests and `flask run`
    async_mode = "gevent" if gevent_patched() else "threading"
    socketio.init_app(app, async_mode=async_mode, logger=False, engineio_logger=False,
                      compression_threshold=POLLING_COMPRESSION_BYTES,
                      **message_queue_options(app))
    socketio.on_event("connect", on_connect)
    socketio.on_event("snapshot", on_snapshot)
    subscribe(app, push_event)
    interval_s = float(app.config["HALL"]["display"].get("waiting_push_s", 1.0))
    redis_url = app.config["HALL"]["redis"]["url"] or None
    turns = Turns(redis_url, interval_s, socketio.server.manager.send_later) if redis_url else None
    waiting = WaitingPush(app, public_room, interval_s, turns)
    subscribe(app, waiting.note)
