/* Lobby TV: current call (flashing when new), recent calls, waiting per service, notices, voice.
 * Where the hall shows names, a call carries the visitor's masked name (张*三); a silent zone's calls
 * get the chime and no voice. */
(function () {
  "use strict";

  var D = window.HallDisplay;
  var config = D.config;
  var strings = config.strings;
  var CALL_KINDS = {called: true, recalled: true};
  var recent = [];     // newest first, at most config.recent_calls
  var notices = [];
  var noticeIndex = -1;
  var flashTimer = null;
  var silentZones = [];
  var countsSeq = -1;  // the seq the waiting counts shown are from

  var player = new window.AnnouncePlayer({
    chimeUrl: config.chime_url,
    audioUrl: function (key) { return config.audio_url.replace("KEY", key); },
    onBlocked: function () { document.getElementById("sound-overlay").hidden = false; },
  });
  document.getElementById("sound-enable").addEventListener("click", function () {
    document.getElementById("sound-overlay").hidden = true;
    player.unlock();
  });

  function el(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function showCurrent(call, flash) {
    var box = document.getElementById("current");
    document.getElementById("current-number").textContent = call ? call.number : "—";
    var name = document.getElementById("current-name");
    name.textContent = call && call.visitor_masked ? call.visitor_masked : "";
    name.hidden = !name.textContent;
    document.getElementById("current-counter").textContent = call ? D.counterLabel(call.counter) : strings.no_calls;
    box.classList.toggle("idle", !call);
    if (!flash) return;
    box.classList.remove("flash");
    void box.offsetWidth;  // restart the animation for a repeated call
    box.classList.add("flash");
    clearTimeout(flashTimer);
    flashTimer = setTimeout(function () { box.classList.remove("flash"); }, config.flash_s * 1000);
  }

  function renderRecent() {
    var list = document.getElementById("recent");
    list.textContent = "";
    if (!recent.length) list.appendChild(el("li", "empty", strings.no_calls));
    recent.forEach(function (call) {
      var row = el("li");
      row.appendChild(el("span", "number", call.number));
      if (call.visitor_masked) row.appendChild(el("span", "name", call.visitor_masked));
      row.appendChild(el("span", "to", D.counterLabel(call.counter)));
      list.appendChild(row);
    });
  }

  /** Waiting per service, from a snapshot or a `hall_waiting` message, unless older than those shown. */
  function renderWaiting(services, seq) {
    if (seq < countsSeq) return;
    countsSeq = seq;
    var list = document.getElementById("waiting");
    list.textContent = "";
    services.forEach(function (service) {
      var row = el("li");
      row.appendChild(el("span", "prefix", service.service));
      var count = el("span", "count", String(service.waiting));
      count.appendChild(el("span", "unit", strings.people));
      row.appendChild(count);
      row.appendChild(el("span", "name", config.lang === "en" ? service.name_en || service.name_zh : service.name_zh));
      list.appendChild(row);
    });
  }

  function showNextNotice() {
    var area = document.getElementById("notices");
    area.textContent = "";
    if (!notices.length) return;
    noticeIndex = (noticeIndex + 1) % notices.length;
    var notice = notices[noticeIndex];
    var box = el("div", "notice");
    if (notice.image_url) {
      var image = el("img");
      image.src = notice.image_url;
      image.alt = notice.text_zh || notice.text_en || "";
      box.appendChild(image);
    }
    var main = config.lang === "en" ? notice.text_en || notice.text_zh : notice.text_zh || notice.text_en;
    var other = config.lang === "en" ? notice.text_zh : notice.text_en;
    if (main) box.appendChild(el("p", "", main));
    if (other && other !== main) box.appendChild(el("p", "other", other));
    area.appendChild(box);
  }

  function onSnapshot(snapshot) {
    silentZones = snapshot.hall.silent_zones || [];
    recent = D.bounded(snapshot.recent_calls.filter(function (c) { return D.inZone(c.zone); }), config.recent_calls);
    renderRecent();
    if (!document.getElementById("current").classList.contains("flash")) showCurrent(recent[0], false);
    renderWaiting(snapshot.services, snapshot.seq);
    var fresh = snapshot.notices.filter(function (n) { return D.inZone(n.zone); });
    if (JSON.stringify(fresh) !== JSON.stringify(notices)) {
      notices = fresh;
      noticeIndex = -1;
      showNextNotice();
    }
  }

  function onEvent(event) {
    if (event.kind === "zone_silence") { silentZones = event.silent_zones; return; }
    if (!CALL_KINDS[event.kind] || !event.ticket || !event.counter || !D.inZone(event.counter.zone)) return;
    var call = {number: event.ticket.number, counter: event.counter.number, kind: event.kind, at: event.at,
                visitor_masked: event.ticket.visitor_masked};
    if (!event.known) {  // a call the snapshot overtook is in its recent calls already
      recent.unshift(call);
      D.bounded(recent, config.recent_calls);
      renderRecent();
    }
    if (event.replayed && !event.recent) return;  // a missed call of long ago: listed, not called again
    showCurrent(call, true);
    if (event.keys) player.setKeys(event.seq, event.keys);  // a replayed call brings its clips along
    player.enqueue(event.seq, silentZones.indexOf(event.counter.zone) >= 0);
  }

  setInterval(showNextNotice, config.notice_s * 1000);
  renderRecent();
  showCurrent(null, false);
  var display = D.start({
    onSnapshot: onSnapshot, onEvent: onEvent,
    onWaiting: function (message) { renderWaiting(message.services, message.seq); },
    onAnnounce: function (message) { player.setKeys(message.seq, message.keys); },
  });
  display.player = player;
  player.probe();
})();
