"""The waiting counts public screens show, pushed once an interval per hall, whichever process acted (DESIGN §5).

Public screens get no event for a normal ticket's issue (`hall.queue.unit.for_public_screens`), yet
the lobby shows how many wait for each service. So after events of a hall, one `hall_waiting` message
goes to the hall's public room with the counts as they are then (the snapshot's `services` list and
the hall's `seq` they were read at), at most about one per `[display] waiting_push_s` per hall: a busy
kiosk costs each screen one small message an interval, not one delivery per ticket, and no display
reads a whole snapshot for it. The counts are whole, not changes, so a message lost (Redis away) is
put right by the next one. Every public screen gets it: it also names the hall's last public event, so
in a busy hall a screen learns it lost one (Redis away) within a second or two, and is not left to ask
on its own after a quiet spell (hall/static/js/hall-live.js).

One message per hall and interval across processes (`[redis] url`): the processes take turns through
Redis. A process with a new event of a hall takes the hall's turn (`SET … NX PX`) unless it already
holds it; the holder waits the interval, gives the turn back (`DEL`) and only then reads the counts and
sends them to every process's screens. A process that finds the turn taken sends nothing: the holder
has not given it back yet, so its read comes after that event's commit (which came before the attempt)
and its counts include it. This order is Redis's own, so it holds whatever the processes' clocks and
however late a greenlet runs; a turn left by a process that died (or that is slow past the turn's
expiry) only ever lets a second message through, never none. Against the holder dying before it
sends, a process that lost its turn looks, `CHECK_AFTER` intervals after its last lost turn, at the
seq the hall's last message carried (kept in Redis by each sender): if it is older than its events,
it sends the counts itself. So a lobby is never left with stale counts for longer than a few intervals.
With Redis away every process sends its own (as one process does without Redis). Without Redis a
process sends its own screens only, so with none of the hall's public screens connected it reads
nothing. With Redis, the turn is taken only if some process listens to the hall's public room (its
channel, hall/realtime_redis.py: a process listens from the moment one of its screens joins it, before
that screen asks for its snapshot), in the same round trip: with no public screen of the hall anywhere,
nothing is read or sent, and a screen that connects later gets the counts with its snapshot.

Other ways were weighed: "the process whose event came last sends" starves while two processes keep
acting (each sees the other's event as the last), and one sending process per hall needs leases and
failover. A turn costs one round trip (the take) per event of a process that does not hold it, next to
the `PUBLISH` each event costs already; a sent message two: the take and the give-back, which must be
answered before the read (the order above). The record of what was sent needs no answer: it goes with
the message's own `PUBLISH`, in the process's publisher's round trip (hall/realtime_redis.py `send_later`).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import redis
from flask import Flask

from hall.extensions import db, socketio
from hall.queue.lookup import hall_by_slug
from hall.realtime_redis import CONNECT_TIMEOUT_S
from hall.snapshot import waiting_by_service

log = logging.getLogger(__name__)

#: A turn expires after this many intervals if its holder never gives it back (it died): only a second
#: message can come of an expiry, so it need not be longer than a busy process's delay.
TURN_EXPIRES = 3
#: A process whose turn was taken checks this many intervals after its last lost turn that a message
#: newer than its events was sent.
CHECK_AFTER = 2
#: How long Redis keeps the seq of a hall's last message (a later check with none sends its own).
SENT_KEPT_S = 3600
#: The turn (KEYS[1], expiring after ARGV[2] ms) if any process listens to the channel ARGV[1]: 1 taken,
#: 0 held by another process, -1 nobody listens.
TAKE_IF_LISTENED = """
if redis.call('PUBSUB', 'NUMSUB', ARGV[1])[2] == 0 then return -1 end
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""


def waiting_message(slug: str) -> dict[str, Any]:
    """The hall's waiting counts now, with the seq they are at least as new as, and the seq of the
    hall's last public event (`public_seq`): a screen that has not applied that one missed it."""
    hall = hall_by_slug(slug)
    return {"hall": slug, "seq": hall.event_seq, "public_seq": hall.public_seq, "services": waiting_by_service(hall)}


class Turns:
    """The halls' turns to send their waiting counts, shared by the server processes through Redis."""

    def __init__(self, url: str, interval_s: float, send_later: Callable[..., Any]) -> None:
        """`send_later`: queues a Redis command whose answer nobody waits for (the message queue's publisher)."""
        # a Redis that does not answer within the message queue's own limit is away: this process sends its own
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                          socket_timeout=CONNECT_TIMEOUT_S)
        self.expires_ms = max(1, int(interval_s * TURN_EXPIRES * 1000))
        self.take_if_listened = self.redis.register_script(TAKE_IF_LISTENED)
        self.send_later = send_later

    @staticmethod
    def turn_key(slug: str) -> str:
        return f"hall:{slug}:waiting:turn"

    @staticmethod
    def sent_key(slug: str) -> str:
        return f"hall:{slug}:waiting:sent"

    def take(self, slug: str, channel: str) -> bool | None:
        """Take the hall's turn; False when another process holds it, None when no process listens to
        `channel` (the hall's public room's: nothing to send). Redis away: this process sends."""
        try:
            taken = self.take_if_listened(keys=[self.turn_key(slug)], args=[channel, self.expires_ms])
        except redis.RedisError:
            return True
        return None if taken < 0 else bool(taken)

    def give_back(self, slug: str) -> None:
        """Before reading: any event from now on takes a turn of its own."""
        try:
            self.redis.delete(self.turn_key(slug))
        except redis.RedisError:
            pass  # the turn expires

    def sent(self, slug: str, seq: int) -> None:
        """Record the seq the hall's message carried, with the message (lost with it while Redis is away: a
        process that lost a turn then sends its own)."""
        self.send_later("SET", self.sent_key(slug), seq, "EX", SENT_KEPT_S)

    def last_sent(self, slug: str) -> int:
        """The seq the hall's last message carried (0 when unknown)."""
        try:
            return int(self.redis.get(self.sent_key(slug)) or 0)
        except (redis.RedisError, ValueError):
            return 0


@dataclass(slots=True)
class _HallState:
    """One hall's waiting counts in this process: what its events asked for and what is under way."""

    noted: int = 0  # seq of this process's last event of the hall
    lost: int = 0  # seq up to which another process's turn covers this process's events
    lost_at: float = 0.0  # when this process last found the turn taken (monotonic)
    taking: bool = False  # a turn is being asked for
    holding: bool = False  # this process holds the turn and has not read yet: its events are covered
    checking: bool = False  # a check that the turn's holder sent is due


class WaitingPush:
    """Sends a hall's public room its waiting counts `interval_s` after events, once per interval
    whichever process made them (`turns`; None: this process alone)."""

    def __init__(self, app: Flask, room: Callable[[str], str], interval_s: float, turns: Turns | None = None) -> None:
        self.app, self.room, self.interval_s, self.turns = app, room, interval_s, turns
        self.halls: dict[str, _HallState] = {}
        self.lock = threading.Lock()

    def note(self, event: dict[str, Any]) -> None:
        """An event of the hall committed: its counts may have moved."""
        slug = event["hall"]
        with self.lock:
            hall = self.halls.setdefault(slug, _HallState())
            hall.noted = max(hall.noted, event["seq"])
            if hall.taking or hall.holding:
                return
            hall.taking = True
        socketio.start_background_task(self._take_turn, slug, hall)

    def _take_turn(self, slug: str, hall: _HallState) -> None:
        while True:
            with self.lock:
                asked = hall.noted  # events up to here committed before the attempt
            taken = True if self.turns is None else self.turns.take(slug, self._channel(slug))
            if taken is None:  # no public screen of the hall on any process: nothing to send this interval
                socketio.sleep(self.interval_s)  # (still `taking`: the events meanwhile ask once, after it)
                with self.lock:
                    hall.taking = hall.noted != asked
                    if not hall.taking:
                        return
                continue
            if taken:
                with self.lock:
                    hall.taking, hall.holding = False, True
                self._send_later(slug, hall)
                return
            with self.lock:
                hall.lost, hall.lost_at = max(hall.lost, asked), time.monotonic()
                start_check, hall.checking = not hall.checking, True
                hall.taking = hall.noted != asked  # newer events ask again
                again = hall.taking
            if start_check:
                socketio.start_background_task(self._check, slug, hall)
            if not again:
                return

    def _send_later(self, slug: str, hall: _HallState) -> None:
        socketio.sleep(self.interval_s)
        with self.lock:  # an event from now on asks for a message of its own: none is missed
            hall.holding = False
        if self.turns is not None:
            self.turns.give_back(slug)
        self._send(slug)

    def _channel(self, slug: str) -> str:
        """The Redis channel the hall's public room's events go on (hall/realtime_redis.py)."""
        return socketio.server.manager.channel_of(self.room(slug))

    def _screens_here(self, slug: str) -> bool:
        """Whether a screen in the hall's public room is connected to this process (one that connects
        later gets a snapshot, counts included)."""
        return bool(socketio.server.manager.rooms.get("/", {}).get(self.room(slug)))

    def _check(self, slug: str, hall: _HallState) -> None:
        """The holder of a turn this process lost sent a message newer than its events, or this process does."""
        while True:
            with self.lock:
                due_in = hall.lost_at + CHECK_AFTER * self.interval_s - time.monotonic()
                lost = hall.lost
            if due_in > 0:
                socketio.sleep(due_in)
                continue
            if self.turns.last_sent(slug) < lost:
                log.info("waiting counts of %s: the turn's holder sent none, this process does", slug)
                self._send(slug)
            with self.lock:
                if hall.lost == lost:
                    hall.checking = False
                    return

    def _send(self, slug: str) -> None:
        if self.turns is None and not self._screens_here(slug):
            return  # this process alone sends its own screens the counts: none of the hall's is here
        with self.app.app_context():
            try:
                message = waiting_message(slug)
            except Exception as error:  # the database away: the next event's message puts it right
                log.warning("waiting counts of %s not sent: %s", slug, error)
                return
            finally:
                db.session.remove()
        socketio.emit("hall_waiting", message, to=self.room(slug))
        if self.turns is not None:
            self.turns.sent(slug, message["seq"])
