/* Phone ticket page: live status, people ahead, wait, "your turn", stage progress, notice, cancel, rating. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("ticket-data").textContent);
  var texts = data.texts;
  var view = data.ticket;
  var rated = data.rated;
  var apiUrl = "/api/v1/tickets/" + encodeURIComponent(data.token);
  var refreshTimer = null;
  var $ = function (id) { return document.getElementById(id); };

  function stageName(stage) { return (data.lang === "en" && stage.name_en) || stage.name_zh; }

  function alertVisitor() {
    if (navigator.vibrate) { try { navigator.vibrate([400, 150, 400, 150, 400]); } catch (e) { /* not allowed */ } }
    try {
      var Context = window.AudioContext || window.webkitAudioContext;
      var audio = new Context();
      [0, 0.35].forEach(function (start, i) {
        var tone = audio.createOscillator(), gain = audio.createGain();
        tone.frequency.value = i ? 660 : 880;
        gain.gain.setValueAtTime(0.25, audio.currentTime + start);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + start + 0.3);
        tone.connect(gain); gain.connect(audio.destination);
        tone.start(audio.currentTime + start); tone.stop(audio.currentTime + start + 0.3);
      });
    } catch (e) { /* no sound before the visitor touched the page */ }
  }

  function renderSteps() {
    var steps = $("steps");
    steps.innerHTML = "";
    var closed = view.status === "done";
    var finished = closed && view.outcome === "done";
    var expected = {};
    (view.stages_expected || []).forEach(function (s) { expected[s.code] = s.expected_end_local; });
    view.stage.flow.forEach(function (stage, i) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = stageName(stage);
      item.appendChild(name);
      if (view.status === "waiting" && expected[stage.code] && view.stage.flow.length > 1) {
        var when = document.createElement("small");
        when.className = "expected";
        when.textContent = " · " + texts.stage_expected.replace("{time}", expected[stage.code]);
        item.appendChild(when);
      }
      if (finished || i < view.stage.position) item.className = "done";
      else if (i === view.stage.position) item.className = closed ? "stopped" : "current";
      steps.appendChild(item);
    });
    $("progress").hidden = view.stage.flow.length < 2 && !closed;
    $("stage-now").textContent = finished ? texts.finished : closed ? texts["outcome_" + view.outcome]
      : texts.stage_now.replace("{stage}", stageName(view.stage));
  }

  function renderNotice() {
    var notice = view.notice;
    $("notice").hidden = !notice;
    if (!notice) return;
    var list = $("notice-items");
    list.innerHTML = "";
    (notice.items || []).forEach(function (item) {
      var li = document.createElement("li"); li.textContent = item; list.appendChild(li);
    });
    $("notice-note").textContent = notice.note || "";
  }

  /* Offered while the line is still long enough for a "your turn is near" text to be useful. */
  function renderNotify(waiting) {
    var chosen = view.notify;
    $("notify").hidden = !data.notifyEnabled || !waiting || (!chosen && view.people_ahead <= data.nearAhead);
    $("notify-form").hidden = !!chosen;
    $("notify-set").hidden = !chosen;
    $("notify-text").textContent = chosen ? texts.notify_set.replace("{phone}", chosen.phone) : "";
  }

  function notifyCall(method, body) {
    $("notify-error").textContent = "";
    return VisitorApi.call(method, apiUrl + "/notify", body).then(function (answer) {
      if (answer.ok) { view = Object.assign({}, view, {notify: answer.body ? answer.body.notify || null : null}); render(); return; }
      var error = answer.body.error === "invalid" ? "notify_invalid" : answer.body.error;
      $("notify-error").textContent = texts[error] || answer.body.message;
    }, function () { $("notify-error").textContent = texts.network; });
  }

  function render() {
    var status = $("status");
    var outcome = view.status === "done" && view.outcome !== "done" ? view.outcome : null;
    status.textContent = texts[outcome || view.status] || view.status;
    status.className = "status " + (outcome || view.status);
    var waiting = view.status === "waiting";
    $("figures").hidden = !waiting;
    $("ahead").textContent = view.people_ahead;
    $("wait").textContent = Math.round((view.estimated_wait_s || 0) / 60);
    var range = view.estimated_wait_range_s;
    $("wait-about").hidden = !waiting || !range;
    $("wait-about").textContent = range ? texts.wait_about.replace("{minutes}", Math.max(1, Math.ceil(
      (view.estimated_wait_s || 0) / 60))).replace("{low}", Math.round(range[0] / 60))
      .replace("{high}", Math.max(1, Math.ceil(range[1] / 60))) : "";
    var turn = $("turn");
    var atCounter = view.status === "called" || view.status === "serving";
    turn.className = atCounter ? "turn show" : "turn";
    turn.textContent = atCounter ? (view.status === "called" ? texts.turn : texts.serving_at)
      .replace("{counter}", view.counter) : "";
    renderSteps();
    renderNotice();
    renderNotify(waiting);
    $("cancel").hidden = !waiting;
    $("rating").hidden = view.status !== "done" || rated;
    $("rated").hidden = !rated;
  }

  function refresh() {
    return VisitorApi.call("GET", apiUrl).then(function (answer) {
      if (answer.ok) { view = answer.body; render(); }
    });
  }

  function refreshSoon() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 300);
  }

  function onTicketEvent(event) {
    var before = view.status;
    if (event.ticket) { view = Object.assign({}, view, event.ticket); render(); }
    if ((event.kind === "called" && before !== "called") || event.kind === "recalled") alertVisitor();
    refreshSoon();
  }

  function onHallEvent(event) {
    // Only events of my service can move my line (or counters opening and closing).
    if (!event.ticket || event.ticket.service === view.service) refreshSoon();
  }

  $("cancel").addEventListener("click", function () {
    if (!window.confirm(texts.confirm_cancel)) return;
    VisitorApi.call("POST", apiUrl + "/cancel").then(function (answer) {
      if (answer.ok) { view = answer.body; render(); } else { $("cancel-error").textContent = answer.body.message; }
    }, function () { $("cancel-error").textContent = texts.network; });
  });

  $("notify-form").addEventListener("submit", function (event) {
    event.preventDefault();
    notifyCall("POST", {phone: $("notify-phone").value.trim()});
  });
  $("notify-stop").addEventListener("click", function () { notifyCall("DELETE"); });

  RatingForm.attach({
    onChosen: function () { $("rating-reasons").hidden = false; },
    send: function (rating, reasons, aspects) {
      var body = Object.assign({rating: rating, reasons: reasons}, aspects);
      return VisitorApi.call("POST", apiUrl + "/feedback", body).then(function (answer) {
        if (answer.ok || answer.body.error === "already_rated") { rated = true; render(); }
        $("rating-error").textContent = answer.ok ? "" : (texts[answer.body.error] || answer.body.message);
      }, function () { $("rating-error").textContent = texts.network; });
    },
  });

  render();
  HallLive.connect({
    hall: data.hall, ticket: data.token,
    onSnapshot: refreshSoon, onEvent: onHallEvent, onTicketEvent: onTicketEvent,
    onStatus: function (online) { $("offline").className = online ? "offline" : "offline show"; },
  });
})();
