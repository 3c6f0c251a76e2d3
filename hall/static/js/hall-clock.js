/* Hall time on every screen: the server's clock (corrected for the browser's own) in the hall's
 * time zone, whatever the zone or the clock of the PC showing the page.
 *
 *   <span data-hall-clock data-hall="demo" data-timezone="Asia/Shanghai" data-lang="zh"
 *         data-format="time|time-seconds|date"></span>   ticks once a second
 *   HallClock.now()                 server-corrected Date
 *   HallClock.correct(iso, sentAt)  a server `now` (sentAt: Date.now() when asked) from any poll
 *   HallClock.format(date, el)      the text an element of that format shows
 */
(function (global) {
  "use strict";

  var SYNC_MS = 5 * 60 * 1000;
  var FORMATS = {
    "time": {hour: "2-digit", minute: "2-digit", hour12: false},
    "time-seconds": {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false},
    "date": {year: "numeric", month: "long", day: "numeric", weekday: "long"},
  };
  var offsetMs = 0;   // server time − browser time

  function now() { return new Date(Date.now() + offsetMs); }

  /** Take the server's time, sent in answer to a request made at `sentAt` (half the round trip ago). */
  function correct(serverIso, sentAt) {
    var server = Date.parse(serverIso);
    if (isNaN(server)) return;
    offsetMs = sentAt === undefined ? server - Date.now() : server - (sentAt + Date.now()) / 2;
  }

  function format(date, el) {
    var style = FORMATS[el.dataset.format] || FORMATS.time;
    var locale = el.dataset.lang === "en" ? "en-GB" : "zh-CN";
    var options = Object.assign({timeZone: el.dataset.timezone || undefined}, style);
    return style === FORMATS.date ? date.toLocaleDateString(locale, options) : date.toLocaleTimeString(locale, options);
  }

  function tick() {
    var date = now();
    document.querySelectorAll("[data-hall-clock]").forEach(function (el) {
      var text = format(date, el);
      if (el.textContent !== text) el.textContent = text;
    });
  }

  function sync(hall) {
    var sentAt = Date.now();
    fetch("/api/v1/halls/" + encodeURIComponent(hall) + "/clock", {cache: "no-store"}).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (body) { correct(body.now, sentAt); tick(); }
    }).catch(function () { /* offline: keep the last correction */ });
  }

  function start() {
    var first = document.querySelector("[data-hall-clock][data-hall]");
    if (!document.querySelector("[data-hall-clock]")) return;
    tick();
    setInterval(tick, 1000);
    if (first) {
      sync(first.dataset.hall);
      setInterval(function () { sync(first.dataset.hall); }, SYNC_MS);
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  global.HallClock = {now: now, correct: correct, format: format, tick: tick};
})(window);
