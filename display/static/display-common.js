/* Shared by the display pages: config, live connection with offline marker, heartbeat,
 * server clock for HallClock (hall/static/js/hall-clock.js), counter labels, bounded lists.
 *
 *   HallDisplay.start({onSnapshot(s), onEvent(e), onAnnounce(a), onWaiting(w)?, needsSnapshot(e)?})
 *     -> {config, live, calls}
 *
 * onEvent gets every event once, in order; one marked `known` came after a snapshot that has it
 * (hall/static/js/hall-live.js): it is news to the screen, but its lists and counts have it already.
 * A display draws what its events carry; it reads a fresh snapshot only after an event that changes
 * something else it shows (`needsSnapshot`, and notices or a new business day on every display):
 * a busy hall does not make every display read the whole hall after every event. Waiting counts
 * come as `hall_waiting` messages (onWaiting).
 */
(function (global) {
  "use strict";

  var HEARTBEAT_MS = 60000;
  var RESYNC_DEBOUNCE_MS = 1500;
  var CALL_LOG = 500;  // calls kept for the operator's console (hallDisplay.calls)
  var SNAPSHOT_KINDS = {notice: true, day_closed: true};  // what no display draws from the event itself
  var config = JSON.parse(document.getElementById("display-config").textContent);

  function text(value) { return value === null || value === undefined ? "" : String(value); }

  function counterLabel(number, lang) {
    var strings = lang ? config.strings_by_lang[lang] || config.strings : config.strings;
    return strings.counter.replace("{n}", text(number));
  }

  /** A list that never grows past `limit` items (a display stays on for days). */
  function bounded(list, limit) {
    if (list.length > limit) list.splice(limit, list.length - limit);
    return list;
  }

  function inZone(zone) { return !config.zone || !zone || zone === config.zone; }

  function heartbeat() {
    var sentAt = Date.now();
    fetch(config.heartbeat_url, {cache: "no-store"}).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.now) global.HallClock.correct(body.now, sentAt);
    }).catch(function () { /* offline: the socket status shows it */ });
  }

  function showOffline(offline) {
    var marker = document.getElementById("offline");
    if (marker) marker.hidden = !offline;
    document.body.classList.toggle("is-offline", offline);
  }

  function start(handlers) {
    var resyncTimer = null;
    var calls = [];  // oldest first
    var live = global.HallLive.connect({
      hall: config.hall,
      knownEvents: true,  // every call is shown and announced, even one a snapshot overtook
      onSnapshot: handlers.onSnapshot,
      onWaiting: handlers.onWaiting,
      onEvent: function (event) {
        if (event.kind === "called" || event.kind === "recalled") remember(event);
        if (handlers.onEvent) handlers.onEvent(event);
        // replayed calls come with their snapshot; a `known` event is in the snapshot already
        if (event.replayed || event.known) return;
        if (SNAPSHOT_KINDS[event.kind] || (handlers.needsSnapshot && handlers.needsSnapshot(event))) scheduleResync();
      },
      onStatus: function (online) { showOffline(!online); },
    });
    /** The calls this screen was given, live or replayed after it missed them (bounded). */
    function remember(event) {
      calls.push({seq: event.seq, number: event.ticket && event.ticket.number,
                  counter: event.counter && event.counter.number, replayed: !!event.replayed});
      if (calls.length > CALL_LOG) calls.shift();
    }
    /** What the events do not carry comes from a fresh snapshot, at most every 1.5 s. */
    function scheduleResync() {
      if (resyncTimer) return;
      resyncTimer = setTimeout(function () { resyncTimer = null; live.resync(); }, RESYNC_DEBOUNCE_MS);
    }
    if (handlers.onAnnounce) {
      live.socket.on("announce", function (message) {
        if (inZone(message.zone)) handlers.onAnnounce(message);
      });
    }
    heartbeat();
    setInterval(heartbeat, HEARTBEAT_MS);
    var api = {config: config, live: live, calls: calls};
    global.hallDisplay = api;  // for the operator's console and the browser tests
    return api;
  }

  global.HallDisplay = {
    config: config, start: start, counterLabel: counterLabel, bounded: bounded, inZone: inZone,
    text: text,
  };
})(window);
