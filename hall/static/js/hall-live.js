/* Live state of a hall over Socket.IO: snapshot on first connect, then events in sequence.
 *
 * Every event carries the hall's gap-free sequence number. A staff screen gets every event, so
 * a seq past the next one is a gap. A public screen gets no normal ticket's issue: each event it
 * gets carries `public_prev`, the seq of the hall's public event before it, so a `public_prev`
 * past the last seq applied is its gap (its waiting counts come as `hall_waiting` messages,
 * `onWaiting`, with the seq of the hall's last public event: a screen that has not applied it
 * missed it). When the screen may have missed
 * events (a gap in the sequence, a reconnect, or nothing heard for a few seconds while the
 * events may be lost between server processes), it asks for the `events` since the last
 * seq it applied: every call it missed comes back from the event log, oldest first, marked
 * `replayed` (and `recent` when still worth flashing and announcing), then the snapshot
 * they lead up to. A quiet hall answers "nothing new" with no snapshot. The server also says
 * `catch_up` when its link to the other server processes (Redis) is back.
 *
 * A snapshot can overtake the events it already contains (it is read after they were committed,
 * and answered before their broadcast reaches this socket). With `knownEvents` such an event is
 * still handed on, marked `known`: the state has it, but the screen has not shown or announced it
 * yet. Only an event already handed on, live or replayed, is dropped.
 * A snapshot older than the events already applied is ignored: the screen never goes back.
 *
 *   HallLive.connect({hall: "demo", ticket: token?, onSnapshot(s), onEvent(e), onTicketEvent(e), onStatus(online),
 *                     onWaiting(w)?, quietMs?, knownEvents?}) -> {socket, resync(), catchUp(), lastSeq()}
 */
(function (global) {
  "use strict";

  var QUIET_MS = 5000;  // ask what was missed after this long without a word from the server

  function connect(options) {
    var lastSeq = null;  // the state (snapshot and events) applied so far
    var handedOn = null; // every event up to this seq was handed on (or came before the page)
    var pending = null;  // events that arrive while a snapshot or catch-up is on its way
    var request = 0;     // the request asked last; an older answer is stale
    var quietMs = options.quietMs || QUIET_MS;
    var quietTimer = null;
    var socket = global.io({
      auth: {hall: options.hall, ticket: options.ticket || undefined},
      reconnectionDelay: 1000,
      reconnectionDelayMax: 15000,
      randomizationFactor: 0.5,
      transports: ["websocket", "polling"],
    });

    function status(online) { if (options.onStatus) options.onStatus(online); }

    function heard() {
      clearTimeout(quietTimer);
      // a little jitter, so that the screens of a hall do not all ask at the same moment
      quietTimer = setTimeout(function () { if (socket.connected) catchUp(false); else heard(); },
        quietMs * (1 + Math.random() * 0.3));
    }

    function handOn(event) {
      handedOn = Math.max(handedOn === null ? 0 : handedOn, event.seq);
      if (options.onEvent) options.onEvent(event);
    }

    /** Whether an event came after one this screen should have had and did not. */
    function missedBefore(event) {
      return event.public_prev === undefined ? event.seq > lastSeq + 1 : event.public_prev > lastSeq;
    }

    function apply(event) {
      if (handedOn !== null && event.seq <= handedOn) return;      // shown already, live or replayed
      if (lastSeq !== null && event.seq <= lastSeq) {               // overtaken by the snapshot
        if (options.knownEvents) handOn(Object.assign({}, event, {known: true}));
        return;
      }
      if (lastSeq !== null && missedBefore(event)) { catchUp(false); return; }
      lastSeq = event.seq;
      handOn(event);
    }

    /** Ask the server; `answer(reply)` runs unless a newer request or a disconnect came first. */
    function ask(name, body, answer) {
      if (pending !== null) return;
      pending = [];
      var asked = ++request;
      socket.emit(name, body, function (reply) {
        if (asked !== request) return;
        var queued = pending;
        pending = null;
        heard();
        if (reply && !reply.error) answer(reply);
        queued.forEach(apply);  // after a failed answer too: a gap among them asks again
      });
    }

    function takeSnapshot(snapshot) {
      if (lastSeq !== null && snapshot.seq < lastSeq) return;  // older than what the screen shows
      lastSeq = snapshot.seq;
      if (options.onSnapshot) options.onSnapshot(snapshot);
    }

    /** The whole state afresh, after the calls missed since the last applied seq, if any. */
    function resync() { catchUp(true); }

    /** Every call missed since the last applied seq, then the snapshot they lead up to
     * (`always`: the snapshot even when nothing happened). */
    function catchUp(always) {
      if (lastSeq === null) { ask("snapshot", {hall: options.hall}, takeSnapshot); return; }
      ask("events", {hall: options.hall, since: lastSeq, snapshot: always === true}, function (reply) {
        if (!reply.snapshot) return;  // nothing happened since
        reply.events.forEach(function (event) {
          if (event.seq > lastSeq) handOn(event);
        });
        takeSnapshot(reply.snapshot);
        // every call up to the snapshot was replayed; its other events are in the snapshot
        handedOn = Math.max(handedOn === null ? 0 : handedOn, reply.snapshot.seq);
      });
    }

    socket.on("connect", function () { status(true); catchUp(true); });
    socket.on("disconnect", function () {
      // an answer to a request asked before the drop never comes: ask again on reconnect
      pending = null;
      request += 1;
      status(false);
    });
    socket.on("connect_error", function () { status(false); });
    socket.on("hall_event", function (event) {
      heard();
      if (pending !== null) { pending.push(event); return; }
      apply(event);
    });
    socket.on("catch_up", function () {
      // the server's link to the other processes is back; spread the screens' requests over a second
      setTimeout(function () { catchUp(false); }, Math.random() * 1000);
    });
    socket.on("hall_waiting", function (message) {
      // a public screen's beacon: the hall's last public event, which it may have lost
      heard();
      if (pending === null && lastSeq !== null && message.public_seq > lastSeq) catchUp(false);
      if (options.onWaiting) options.onWaiting(message);
    });
    socket.on("ticket_event", function (event) {
      heard();
      if (options.onTicketEvent) options.onTicketEvent(event);
    });
    // this staff member was deactivated or given a new password: the page reloads into the sign-in page
    socket.on("session_ended", function () { global.location.reload(); });
    heard();
    return {
      socket: socket,
      resync: resync,
      catchUp: function () { catchUp(false); },
      lastSeq: function () { return lastSeq; },
    };
  }

  global.HallLive = {connect: connect};
})(window);
