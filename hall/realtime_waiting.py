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
Redis, and the hall's event seq (shared by all of them) tells what a read covers: counts read at seq S
show every event up to S. A process with events of a hall that no read is known to cover asks for the
turn (one script, `ASK`):
- the hall's last message carried their seq or a newer one (each sender records it with the message,
  in its publisher's round trip): nothing to do;
- the turn is free: it takes it. At the end of each interval it holds the turn, the holder gives it back
  or keeps it (one script, `GIVE_BACK`), and then, if an event newer than its last read is known, reads
  the counts and sends them. It keeps the turn while the hall stays busy (some process had events in the
  interval), so a busy hall's turn costs its holder one round trip an interval; the interval after the
  hall went quiet it gives it back, with nothing new to read;
- another process holds it: the asker's seq is recorded beside the turn in the same round trip, so the
  holder's next give-back, which comes after it, sees it and reads after it. The asker's events up to
  then are covered; it does not ask for its next ones until that give-back is due (the turn's time left
  tells when), and then learns in one ask whether the message covered them (nothing to do), or the turn
  is held (covered too: one round trip an interval, whatever the number of events), or free.
The order is Redis's and the seqs the database's, so it holds whatever the processes' clocks and however
late a greenlet runs. A turn left by a process that died (or that is slow past the turn's expiry) only
ever lets a second message through, never none: the turn expires and the next ask takes it. Against a
turn that outlives its holder's part in it, a process that found it held sends the counts itself if no
message covering those events is recorded `CHECK_AFTER` intervals later. So a lobby is never left with
stale counts for longer than a few intervals. With Redis away every process sends its own (as one
process does without Redis). Without Redis a process sends its own screens only, so with none of the
hall's public screens connected it reads nothing. With Redis, the turn is taken (and kept) only if some
process listens to the hall's public room (its channel, hall/realtime_redis.py: a process listens from
the moment one of its screens joins it, before that screen asks for its snapshot), in the same round
trip: with no public screen of the hall anywhere, nothing is read or sent, and a screen that connects
later gets the counts with its snapshot.

Other ways were weighed: "the process whose event came last sends" starves while two processes keep
acting (each sees the other's event as the last), and one sending process per hall needs leases and
failover. Asking at every event of a process that does not hold the turn cost a round trip per event;
asking again only after the holder's give-back, without the seqs, sent a second message for events the
holder's read had already covered.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import redis
from flask import Flask

from hall.extensions import db, socketio
from hall.queue.lookup import hall_by_slug
from hall.realtime_redis import CONNECT_TIMEOUT_S
from hall.snapshot import waiting_by_service

log = logging.getLogger(__name__)

#: A turn expires this many intervals after it was taken or kept if its holder does not give it back (it died): only
#: a second message can come of an expiry, so it need not be longer than a busy process's delay.
TURN_EXPIRES = 3
#: A process that found the turn held sends the counts itself if, this many intervals later, no message that
#: covers its events is recorded (the holder took no part in the turns: a stale turn that does not expire soon).
CHECK_AFTER = 2
#: A process that found the turn held asks again this many intervals after the holder's give-back is due (the
#: holder's read and its record done by then).
ASK_AGAIN_AFTER = 0.1
#: How many intervals Redis keeps the seq of a hall's last message: long enough for every process awaiting it,
#: short enough that a hall whose seq went back (its database restored) is not taken as shown for long.
SENT_KEPT = 10

#: What asking for a hall's turn answers (`Turns.ask`).
NOBODY, HELD, TAKEN, SHOWN = -1, 0, 1, 2
#: What giving it back answers (`Turns.give_back`): not the holder's any more (it expired), given back with nothing
#: new to read, kept (read now, and give it back again an interval on), given back (read now, a last time).
LOST, DONE, KEEP, LAST = -1, 0, 1, 2

#: KEYS: the turn, the seq the hall's last message carried, the newest seq a process found the turn held for.
#: ARGV: the hall's public room's channel, the turn's expiry (ms), the asker's seq, its token, whether that seq is
#: news (1: an event of it that no read is known to cover).
#: Answers {NOBODY, 0, 0} when no process listens to the channel, {SHOWN, sent, 0} when the last message
#: carried the seq or a newer one, {TAKEN, sent, 0}, or {HELD, sent, the turn's time left in ms}: the holder's
#: next give-back keeps the turn if the seq is newer than what it read.
ASK = """
if redis.call('PUBSUB', 'NUMSUB', ARGV[1])[2] == 0 then return {-1, 0, 0} end
local sent = tonumber(redis.call('GET', KEYS[2]) or '0')
local seq = tonumber(ARGV[3])
if sent >= seq then return {2, sent, 0} end
if redis.call('SET', KEYS[1], ARGV[4], 'NX', 'PX', ARGV[2]) then return {1, sent, 0} end
if ARGV[5] == '1' and tonumber(redis.call('GET', KEYS[3]) or '0') < seq then
  redis.call('SET', KEYS[3], seq, 'PX', ARGV[2])
end
return {0, sent, redis.call('PTTL', KEYS[1])}
"""
#: KEYS as ASK's. ARGV: the holder's token, the seq it last read the counts at (0: none yet), its own last seq,
#: whether it had events in the interval just over (1), the turn's expiry (ms), the hall's public room's channel.
#: Answers LOST, DONE (nobody listens, or no event newer than the last read is known), KEEP (some process had
#: events in the interval: more are likely), or LAST.
GIVE_BACK = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local asked = tonumber(redis.call('GET', KEYS[3]) or '0')
redis.call('DEL', KEYS[3])
if redis.call('PUBSUB', 'NUMSUB', ARGV[6])[2] == 0 or math.max(asked, tonumber(ARGV[3])) <= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  return 0
end
if asked > 0 or ARGV[4] == '1' then
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
redis.call('DEL', KEYS[1])
return 2
"""


def waiting_message(slug: str) -> dict[str, Any]:
    """The hall's waiting counts now, with the seq they are at least as new as, and the seq of the
    hall's last public event (`public_seq`): a screen that has not applied that one missed it."""
    hall = hall_by_slug(slug)
    return {"hall": slug, "seq": hall.event_seq, "public_seq": hall.public_seq, "services": waiting_by_service(hall)}


class Answer(NamedTuple):
    """What asking for a hall's turn answered."""

    turn: int  # NOBODY, HELD, TAKEN or SHOWN
    sent: int  # the seq the hall's last message carried (0: unknown)
    left_ms: int  # HELD: how long the turn has before it expires (-1: it never does)


class Turns:
    """The halls' turns to send their waiting counts, shared by the server processes through Redis."""

    def __init__(self, url: str, interval_s: float, send_later: Callable[..., Any]) -> None:
        """`send_later`: queues a Redis command whose answer nobody waits for (the message queue's publisher)."""
        # a Redis that does not answer within the message queue's own limit is away: this process sends its own
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                          socket_timeout=CONNECT_TIMEOUT_S)
        self.expires_ms = max(1, int(interval_s * TURN_EXPIRES * 1000))
        self.sent_kept_ms = max(1, int(interval_s * SENT_KEPT * 1000))
        self.token = uuid.uuid4().hex  # this process's, as the holder of a turn
        self.ask_script = self.redis.register_script(ASK)
        self.give_back_script = self.redis.register_script(GIVE_BACK)
        self.send_later = send_later

    @staticmethod
    def keys(slug: str) -> list[str]:
        """The hall's turn, the seq its last message carried, the newest seq a process found the turn held for."""
        return [f"hall:{slug}:waiting:{name}" for name in ("turn", "sent", "asked")]

    def ask(self, slug: str, channel: str, seq: int, news: bool) -> Answer:
        """Take the hall's turn for this process's events up to `seq` (`news`: some of them no read is known to
        cover yet; else only whether a message covering them went out). Redis away: this process sends."""
        try:
            turn, sent, left_ms = self.ask_script(keys=self.keys(slug),
                                                  args=[channel, self.expires_ms, seq, self.token, int(news)])
        except redis.RedisError:
            return Answer(TAKEN, 0, 0)
        return Answer(turn, sent, left_ms)

    def give_back(self, slug: str, channel: str, read: int, noted: int, busy: bool) -> int:
        """At the end of an interval holding the turn, the counts last read at seq `read` (0: none yet), this
        process's last event at `noted` (`busy`: it had events in the interval): LOST, DONE, KEEP or LAST.
        Redis away: this process sends its own (the turn expires)."""
        try:
            return self.give_back_script(keys=self.keys(slug),
                                         args=[self.token, read, noted, int(busy), self.expires_ms, channel])
        except redis.RedisError:
            return LAST if noted > read else DONE

    def sent(self, slug: str, seq: int) -> None:
        """Record the seq the hall's message carried, with the message (lost with it while Redis is away)."""
        self.send_later("SET", self.keys(slug)[1], seq, "PX", self.sent_kept_ms)


@dataclass(slots=True)
class _HallState:
    """One hall's waiting counts in this process: its events, and what is known to show them."""

    noted: int = 0  # seq of this process's last event of the hall
    covered: int = 0  # events up to this seq need nothing more here: a message shows them or a holder's read will
    busy: bool = False  # a task works for the hall's events (asks, holds the turn, or waits to ask again)
    #: (seq, when) of each turn found held for events (a holder's read will cover them), until a message covering
    #: them is seen recorded
    awaited: deque[tuple[int, float]] = field(default_factory=deque)


class WaitingPush:
    """Sends a hall's public room its waiting counts `interval_s` after events, once per interval
    whichever process made them (`turns`; None: this process alone)."""

    def __init__(self, app: Flask, room: Callable[[str], str], interval_s: float, turns: Turns | None = None) -> None:
        self.app, self.room, self.interval_s, self.turns = app, room, interval_s, turns
        self.halls: dict[str, _HallState] = {}
        self.lock = threading.Lock()
        #: The Socket.IO server this app's screens connect to (`_replaced`).
        self.server = socketio.server

    def note(self, event: dict[str, Any]) -> None:
        """An event of the hall committed: its counts may have moved."""
        slug = event["hall"]
        with self.lock:
            hall = self.halls.setdefault(slug, _HallState())
            hall.noted = max(hall.noted, event["seq"])
            if hall.busy:
                return
            hall.busy = True
        socketio.start_background_task(self._work, slug, hall)

    def _work(self, slug: str, hall: _HallState) -> None:
        """Until every event of the hall here is shown, or a holder's read of it is assured and seen sent."""
        while True:
            with self.lock:
                seq, news = hall.noted, hall.noted > hall.covered
                if (not news and not hall.awaited) or self._replaced():
                    hall.busy = False
                    return
            answer = self._ask(slug, seq, news)
            if answer.turn == TAKEN:
                self._hold(slug, hall)
            elif answer.turn == NOBODY:  # no public screen of the hall anywhere: nothing to send this interval
                self._covered(hall, seq)
                socketio.sleep(self.interval_s)  # (still busy: the events meanwhile ask once, after it)
            elif answer.turn == SHOWN:
                self._covered(hall, answer.sent)
            else:
                self._held(slug, hall, answer, seq if news else None)

    def _ask(self, slug: str, seq: int, news: bool) -> Answer:
        if self.turns is None:  # this process alone sends its own screens the counts, if the hall has any here
            return Answer(TAKEN if self._screens_here(slug) else NOBODY, 0, 0)
        return self.turns.ask(slug, self._channel(slug), seq, news)

    def _hold(self, slug: str, hall: _HallState) -> None:
        """This process holds the hall's turn: at the end of each interval it gives the turn back or keeps it (while
        the hall stays busy), then reads the counts and sends them if an event newer than its last read is known
        (its own, or one another process found the turn held for). Reading after that order is taken in Redis,
        the read covers every event whose asker found the turn held before it. The give-backs come an interval
        apart, however long the reads take, when the turn's time left tells the other processes they do."""
        read, due = 0, time.monotonic() + self.interval_s
        while True:
            with self.lock:
                before = hall.noted
            socketio.sleep(max(due - time.monotonic(), 0.0))
            with self.lock:
                noted = hall.noted
            if self._replaced():
                return
            turn = self._give_back(slug, read, noted, noted > before)
            due = time.monotonic() + self.interval_s
            if turn in (KEEP, LAST):
                sent = self._send(slug)
                if sent is not None:
                    self._covered(hall, sent)
                    read = sent
            if turn != KEEP:
                return

    def _give_back(self, slug: str, read: int, noted: int, busy: bool) -> int:
        if self.turns is None:  # this process alone: as Redis would answer with no other process
            return DONE if noted <= read else KEEP if busy else LAST
        return self.turns.give_back(slug, self._channel(slug), read, noted, busy)

    def _held(self, slug: str, hall: _HallState, answer: Answer, asked: int | None) -> None:
        """Another process holds the turn: its read after its next give-back covers this process's events up to
        `asked` (None: no news asked for). Ask again once that give-back is due; send the counts here if the
        holder's message for events awaited CHECK_AFTER intervals is still not recorded."""
        now = time.monotonic()
        self._covered(hall, answer.sent)
        with self.lock:
            if asked is not None:
                hall.covered = max(hall.covered, asked)
                hall.awaited.append((asked, now))
            overdue = bool(hall.awaited) and hall.awaited[0][1] + CHECK_AFTER * self.interval_s <= now
        if overdue:
            log.info("waiting counts of %s: the turn's holder sent none, this process does", slug)
            read = self._send(slug)
            if read is not None:
                self._covered(hall, read)
        socketio.sleep(self._ask_again_in(answer.left_ms))

    def _ask_again_in(self, left_ms: int) -> float:
        """Seconds until a held turn's give-back is due (it then has TURN_EXPIRES - 1 intervals left) and its
        read recorded, or as long again as it is already late; no later than the check that its holder sent."""
        left_s = left_ms / 1000 if left_ms >= 0 else math.inf
        due_s = left_s - (TURN_EXPIRES - 1) * self.interval_s
        after_s = ASK_AGAIN_AFTER * self.interval_s
        wait_s = due_s + after_s if due_s > 0 else max(-due_s, after_s)
        return min(wait_s, (CHECK_AFTER + ASK_AGAIN_AFTER) * self.interval_s)

    def _covered(self, hall: _HallState, seq: int) -> None:
        """The counts read at `seq` went out: they show every event up to it."""
        with self.lock:
            hall.covered = max(hall.covered, seq)
            while hall.awaited and hall.awaited[0][0] <= seq:
                hall.awaited.popleft()

    def _replaced(self) -> bool:
        """Whether the app was made again in this process (tests, a reloaded app) and serves a new Socket.IO
        server: its screens are the new app's, whose own push sends their counts; this one's work ends (it would
        otherwise read its hall for them, again and again if its database is gone)."""
        return socketio.server is not self.server

    def _channel(self, slug: str) -> str:
        """The Redis channel the hall's public room's events go on (hall/realtime_redis.py)."""
        return socketio.server.manager.channel_of(self.room(slug))

    def _screens_here(self, slug: str) -> bool:
        """Whether a screen in the hall's public room is connected to this process (one that connects
        later gets a snapshot, counts included)."""
        return bool(socketio.server.manager.rooms.get("/", {}).get(self.room(slug)))

    def _send(self, slug: str) -> int | None:
        """Read the hall's counts and send them to its public room, every process's screens; the seq they were read
        at (None: the database away, the next interval's read puts it right)."""
        with self.app.app_context():
            try:
                message = waiting_message(slug)
            except Exception as error:
                log.warning("waiting counts of %s not sent: %s", slug, error)
                return None
            finally:
                db.session.remove()
        socketio.emit("hall_waiting", message, to=self.room(slug))
        if self.turns is not None:
            self.turns.sent(slug, message["seq"])
        return message["seq"]
