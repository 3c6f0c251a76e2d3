"""Calls a screen missed, replayed from the event log (DESIGN §5).

A screen that lost its connection, or whose events were lost between server processes
(Redis away), knows the last sequence number it applied. The snapshot alone would give it
the latest few calls; here it gets every call and recall of the business day after that
number, in order, as the public room saw them (no tokens, no staff names), so each missed
number is still shown, and announced again when it is recent.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from hall import clock
from hall.extensions import db
from hall.models import Counter, Hall, Service, Ticket, TicketEvent
from hall.queue.rules import today
from hall.snapshot import hall_snapshot
from hall.validation import MAX_INT, ascii_int

CALL_KINDS = ("called", "recalled")
#: A day's replay never grows past this many calls (the newest are kept).
MAX_REPLAYED = 2000


def _day_start(hall: Hall):
    return clock.local_to_utc(today(hall), hall.reset_at, hall.timezone)


def missed_calls(hall: Hall, since: int, until: int) -> tuple[list[dict[str, Any]], bool]:
    """The hall's calls with `since` < seq <= `until` in today's business day, oldest first,
    and whether older ones were left out to stay within MAX_REPLAYED."""
    rows = db.session.execute(
        select(TicketEvent.seq, TicketEvent.kind, TicketEvent.at, Ticket.number, Service.prefix,
               Counter.number, Counter.zone, Counter.name)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id).join(Service, Service.id == Ticket.service_id)
        .join(Counter, Counter.id == TicketEvent.counter_id)
        .where(TicketEvent.hall_id == hall.id, TicketEvent.at >= _day_start(hall), TicketEvent.seq > since,
               TicketEvent.seq <= until, TicketEvent.kind.in_(CALL_KINDS))
        .order_by(TicketEvent.seq.desc()).limit(MAX_REPLAYED + 1)).all()
    recent_after = clock.utcnow() - timedelta(seconds=_announce_window_s())
    calls = [{"seq": seq, "hall": hall.slug, "kind": kind, "at": clock.iso(at), "replayed": True,
              "recent": at >= recent_after,
              "ticket": {"number": number, "service": prefix, "status": "called"},
              "counter": {"number": counter, "zone": zone, "name": name}}
             for seq, kind, at, number, prefix, counter, zone, name in rows[:MAX_REPLAYED]]
    calls.reverse()
    _add_announcements(calls)
    return calls, len(rows) > MAX_REPLAYED


def _announce_window_s() -> int:
    return int(current_app.config["HALL"]["display"].get("replay_announce_s", 120))


def _add_announcements(calls: list[dict[str, Any]]) -> None:
    """Recent calls carry their voice clips, as their `announce` message would have."""
    speaker = current_app.extensions.get("hall_speaker")
    if speaker is None:
        return
    for call in calls:
        if call["recent"]:
            call["keys"] = speaker.announcement(call)["keys"]


def events_since(hall: Hall, since: int, *, public: bool = True, snapshot: bool = False) -> dict[str, Any]:
    """What a screen at `since` needs to be current: the calls it missed and, when anything
    happened at all (or `snapshot` asks for it anyway), the snapshot they lead up to.

    A public screen gets only public events (`Hall.public_seq`): nothing happened for it while no
    public event came after `since`, whatever tickets were issued meanwhile (their counts come as
    `hall_waiting` messages). Screens of a quiet hall ask every few seconds: `hall` fresh from this
    request's lookup is then the only query."""
    if (since >= hall.public_seq if public else since == hall.event_seq) and since <= hall.event_seq and not snapshot:
        return {"seq": since, "since": since, "events": [], "truncated": False}
    state = hall_snapshot(hall, public=public)
    calls, truncated = missed_calls(hall, since, state["seq"]) if since < state["seq"] else ([], False)
    return {"seq": state["seq"], "since": since, "events": calls, "truncated": truncated, "snapshot": state}


def parse_since(value: Any) -> int | None:
    """A sequence number from a request (an int, or ASCII digits), or None if it is not one."""
    if isinstance(value, str):
        return ascii_int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        return None
    return value
