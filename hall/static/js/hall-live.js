/* Live state of a hall over Socket.IO: snapshot on (re)connect, then events in sequence.
 * A gap in the sequence means a lost event: ask for a fresh snapshot.
 *
 *   HallLive.connect({hall: "demo", ticket: token?, onSnapshot(s), onEvent(e), onTicketEvent(e), onStatus(online)})
 */
(function (global) {
  "use strict";

  function connect(options) {
    var lastSeq = null;
    var pending = null;  // events that arrive while a snapshot is on its way
    var request = 0;     // the snapshot asked for last; an older answer is stale
    var socket = global.io({
      auth: {hall: options.hall, ticket: options.ticket || undefined},
      reconnectionDelay: 1000,
      reconnectionDelayMax: 15000,
      randomizationFactor: 0.5,
      transports: ["websocket", "polling"],
    });

    function status(online) { if (options.onStatus) options.onStatus(online); }

    function apply(event) {
      if (lastSeq !== null && event.seq <= lastSeq) return;        // already in the snapshot
      if (lastSeq !== null && event.seq > lastSeq + 1) { resync(); return; }
      lastSeq = event.seq;
      if (options.onEvent) options.onEvent(event);
    }

    function resync() {
      if (pending !== null) return;
      pending = [];
      var asked = ++request;
      socket.emit("snapshot", {hall: options.hall}, function (snapshot) {
        if (asked !== request) return;
        var queued = pending;
        pending = null;
        if (!snapshot || snapshot.error) return;
        lastSeq = snapshot.seq;
        if (options.onSnapshot) options.onSnapshot(snapshot);
        queued.forEach(apply);
      });
    }

    socket.on("connect", function () { status(true); resync(); });
    socket.on("disconnect", function () {
      // an answer to a snapshot asked before the drop never comes: ask again on reconnect
      pending = null;
      request += 1;
      status(false);
    });
    socket.on("connect_error", function () { status(false); });
    socket.on("hall_event", function (event) {
      if (pending !== null) { pending.push(event); return; }
      apply(event);
    });
    socket.on("ticket_event", function (event) { if (options.onTicketEvent) options.onTicketEvent(event); });
    // this staff member was deactivated or given a new password: the page reloads into the sign-in page
    socket.on("session_ended", function () { global.location.reload(); });
    return {
      socket: socket,
      resync: resync,
      lastSeq: function () { return lastSeq; },
    };
  }

  global.HallLive = {connect: connect};
})(window);
