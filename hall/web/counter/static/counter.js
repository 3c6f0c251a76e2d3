/* Counter screen: actions through the REST API (session cookie + X-CSRFToken), state from the
 * counter's /state endpoint, refreshed on every live hall event and after every reconnect.
 * One action at a time: a second click while one is on its way is ignored, and whatever the
 * server answers (including another counter having been faster) is what the screen shows. */
(function () {
  "use strict";

  var cfg = JSON.parse(document.getElementById("counter-config").textContent);
  var T = JSON.parse(document.getElementById("counter-text").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var state = cfg.state;
  var busy = false;
  var lost = null;       // why this screen no longer controls its counter
  var refreshTimer = null;
  var begun = 0;         // actions begun: a live refresh begun before the latest one is stale
  var missed = false;    // a live refresh was held back while an action ran
  var $ = function (id) { return document.getElementById(id); };

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    seconds = Math.max(0, Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    return h ? h + ":" + mm : mm;
  }

  function serverNow() { return window.HallClock.now().getTime(); }

  function since(iso) { return iso ? (serverNow() - Date.parse(iso)) / 1000 : null; }

  /* ---------- messages ---------- */

  function show(text, kind, link) {
    var box = $("message");
    box.textContent = text;
    box.className = "message " + (kind || "");
    if (link) {
      var a = document.createElement("a");
      a.href = link.href; a.target = "_blank"; a.rel = "noopener"; a.textContent = link.text; a.id = "notice-link";
      box.appendChild(document.createTextNode(" "));
      box.appendChild(a);
    }
  }

  function describe(kind, ticket) {
    var number = ticket ? ticket.number : "";
    if (kind === "finished" && ticket.outcome === "incomplete") kind = "finished_incomplete";
    var stage = ticket && ticket.stage ? (document.documentElement.lang === "en" ? ticket.stage.name_en
                                                                                : ticket.stage.name_zh) : "";
    return fill(T[kind] || kind, {number: number, stage: stage});
  }

  /* The engine's refusals, said in the staff member's language (the English text otherwise). */
  var REFUSALS = [
    [/^(\S+) was already (\w+) at counter (\d+)$/, "err_already_at", ["number", "status", "counter"]],
    [/^(\S+) was already (\w+)$/, "err_already", ["number", "status"]],
    [/^(\S+) is already (\w+) at counter (\d+);/, "err_holding", ["number", "status", "counter"]],
    [/^counter (\d+) has no current ticket$/, "err_no_ticket", ["counter"]],
    [/^(\S+) is (\w+), not /, "err_state", ["number", "status"]],
    [/^counter (\d+) is (\w+); open it first$/, "err_counter_state", ["counter", "status"]],
    [/^no ticket '(.+)' today$/, "err_unknown_ticket", ["number"]],
    [/^(\S+) missed its call more than (\d+) minutes ago$/, "err_grace", ["number", "minutes"]],
    [/^counter (\d+) is open for another staff member$/, "err_other_staff", ["counter"]],
  ];

  function explain(message) {
    for (var i = 0; i < REFUSALS.length; i++) {
      var match = String(message).match(REFUSALS[i][0]);
      if (!match) continue;
      var values = {};
      REFUSALS[i][2].forEach(function (name, j) {
        values[name] = name === "status" ? (T["st_" + match[j + 1]] || match[j + 1]) : match[j + 1];
      });
      return fill(T[REFUSALS[i][1]], values);
    }
    return message;
  }

  /* ---------- talking to the server ---------- */

  var leaving = false;

  function expired() {
    // The screen's own URL sends a signed-out browser to the sign-in page and back here after.
    // From then on the screen sends nothing: a request answered after the sign-in page would
    // bring back the session cookie of the redirect (its "please sign in" message, no CSRF token).
    if (leaving) return;
    leaving = true;
    window.location.assign(cfg.screenUrl);
  }

  function post(path, body) {
    if (leaving) return new Promise(function () {});
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      if (response.status === 204) return {status: 204, data: null};
      return response.json().then(function (data) { return {status: response.status, data: data}; },
                                  function () { return {status: response.status, data: {}}; });
    });
  }

  /* One action at a time. Until it is done the screen shows no other state: the buttons come back
     and the message shows in the same render as the state the action led to, so a key pressed the
     moment the screen changes is not lost on a button still disabled. */
  function act(path, body, onDone) {
    if (busy) return Promise.resolve();
    busy = true;
    begun += 1;
    render();
    return post(path, body).then(function (result) {
      if (result.status === 401) { expired(); return; }
      function settle() {
        busy = false;
        if (result.status >= 400) {
          show(fill(T.refused, {message: explain((result.data && result.data.message) || result.status)}), "error");
        } else {
          onDone(result);
        }
      }
      return refresh(settle).then(function () {
        if (busy) { settle(); render(); }
        catchUp();
      });
    }, function () {
      busy = false;
      show(T.offline, "error");
      render();
      catchUp();
    });
  }

  /* Live changes held back while an action ran. */
  function catchUp() {
    if (!missed) return;
    missed = false;
    scheduleRefresh();
  }

  function counterAction(name, body, onDone) {
    return act(cfg.api + "/counters/" + cfg.number + "/" + name, body, onDone);
  }

  /* Fetches the counter's state; beforeRender runs once the new state is in, before it is drawn.
     A live refresh answered while an action runs, or begun before it, is stale: the action's own
     refresh (and a catch-up after it) brings the newer state. */
  function refresh(beforeRender) {
    if (leaving) return Promise.resolve();
    var asOf = begun;
    return fetch(cfg.stateUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 401) { expired(); return; }
        if (!beforeRender && (busy || asOf !== begun)) { missed = missed || busy; return; }
        if (response.status === 409) {   // taken over, or left from another window
          return response.json().then(function (data) { lost = data.message; render(); });
        }
        if (!response.ok) return;
        return response.json().then(function (data) { receive(data, beforeRender); });
      }, function () { /* offline: the live connection's status shows it; retried on reconnect */ });
  }

  function receive(data, beforeRender) {
    state = data;
    window.HallClock.correct(state.now);
    if (beforeRender) beforeRender();
    render();
  }

  function scheduleRefresh() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () { refreshTimer = null; refresh(); }, 120);
  }

  /* ---------- rendering ---------- */

  function chip(entry) {
    var span = document.createElement("span");
    span.className = "chip" + (entry.transferred ? " transferred" : "") + (entry.priority !== "normal" ? " priority" : "");
    span.textContent = entry.number;
    span.title = entry.stage + " · " + duration(entry.waited_s);
    return span;
  }

  function fillList(element, entries, make) {
    element.textContent = "";
    if (!entries.length) { element.textContent = T.none; return; }
    entries.forEach(function (entry) { element.appendChild(make(entry)); });
  }

  function renderTicket() {
    var t = state.ticket, box = $("current");
    box.className = "current " + (t ? t.status : (state.counter.status === "open" ? "idle" : "paused"));
    $("ticket-number").textContent = t ? t.number : "—";
    $("ticket-service").textContent = t ? t.service_name + (t.status === "called" ? " · " + T.ticket_called
                                                                                   : " · " + T.ticket_serving) : "";
    $("ticket-stage").textContent = t ? fill(T.stage_of, {position: t.stage.position + 1, count: t.stage_count,
                                                          name: t.stage_name}) : "";
    $("ticket-waited").textContent = t ? fill(T.waited, {time: duration(t.waited_s)})
                                       : (state.counter.status === "open" ? T.idle : T.paused_idle);
    $("ticket-identity").hidden = !(t && t.id_masked);
    $("ticket-identity").textContent = t && t.id_masked ? fill(T.id_check, {masked: t.id_masked}) : "";
    $("finish-label").textContent = t && !t.last_stage ? T.finish_stage : T.finish;
    renderTimer();
  }

  function renderTimer() {
    var t = state.ticket, timer = $("timer");
    if (!t) { timer.hidden = true; return; }
    timer.hidden = false;
    var serving = t.status === "serving" && t.stage_started_at;
    var elapsed = since(serving ? t.stage_started_at : t.stage_called_at) || 0;
    var limit = t.stage.limit_s;
    $("timer-label").textContent = serving ? T.handling : T.since_call;
    $("timer-value").textContent = duration(elapsed) + (serving && limit ? " / " + duration(limit) : "");
    var ratio = serving && limit ? elapsed / limit : 0;
    timer.className = "timer" + (!serving ? " waiting" : ratio > 1 ? " over" : ratio >= 0.8 ? " near" : " ok");
    $("timer-fill").style.width = Math.min(100, ratio * 100) + "%";
  }

  function renderQueue() {
    var q = state.queue;
    $("queue-total").textContent = fill(T.total, {count: q.waiting});
    var table = $("queue-lines");
    table.textContent = "";
    q.lines.forEach(function (line) {
      var row = table.insertRow();
      row.dataset.service = line.service;
      row.insertCell().textContent = line.label;
      var count = row.insertCell();
      count.className = "count";
      count.textContent = line.waiting;
      row.insertCell().textContent = line.waiting ? fill(T.longest, {time: duration(line.longest_wait_s)}) : "";
    });
    fillList($("queue-next"), q.next, chip);
    fillList($("queue-transferred"), q.transferred, chip);
    fillList($("no-shows"), state.no_shows, function (entry) {
      var button = document.createElement("button");
      button.className = "chip reinstate";
      button.dataset.number = entry.number;
      button.textContent = entry.number + " · " + T.reinstate;
      button.addEventListener("click", function () { reinstate(entry.number); });
      return button;
    });
  }

  function renderFigures() {
    var f = state.today;
    $("fig-served").textContent = f.served;
    $("fig-handling").textContent = duration(f.avg_handling_s);
    $("fig-rating").textContent = f.avg_rating === null ? "—" : f.avg_rating.toFixed(1) + " (" + f.ratings + ")";
  }

  function render() {
    var c = state.counter, t = state.ticket;
    var open = c.status === "open", called = t && t.status === "called", held = !!t;
    $("counter-status").textContent = T["status_" + c.status] || c.status;
    $("counter-status").className = "badge " + c.status;
    renderTicket();
    renderQueue();
    renderFigures();
    var enabled = {
      "btn-call-next": open && !held, "btn-call-number": open && !held, "btn-recall": called,
      "btn-start": called, "btn-finish": held, "btn-no-show": called, "btn-transfer": held,
      "btn-incomplete": held, "btn-pause": c.status !== "closed",
    };
    Object.keys(enabled).forEach(function (id) { $(id).disabled = busy || !!lost || !enabled[id]; });
    if (lost) show(lost, "error");
    $("btn-pause").textContent = open ? T.pause : T.resume;
    document.body.classList.toggle("busy", busy);
  }

  /* ---------- actions ---------- */

  function reinstate(number) {
    act(cfg.api + "/tickets/" + encodeURIComponent(number) + "/reinstate", {}, function (result) {
      show(describe("reinstated", result.data), "ok");
    });
  }

  function ticketDone(result) {
    if (result.status === 204) { show(T.nobody, "info"); return; }
    var ticket = result.data;
    var link = ticket.event === "finished" && ticket.outcome === "incomplete"
      ? {href: cfg.noticeUrl.replace("NUMBER", encodeURIComponent(ticket.number)), text: T.print_notice} : null;
    show(describe(ticket.event, ticket), "ok", link);
  }

  function counterDone(result) { show(T[result.data.event] || "", "ok"); }

  var actions = {
    "btn-call-next": function () { counterAction("call-next", {}, ticketDone); },
    "btn-recall": function () { counterAction("recall", {}, ticketDone); },
    "btn-start": function () { counterAction("start", {}, ticketDone); },
    "btn-finish": function () { counterAction("finish", {outcome: "done"}, ticketDone); },
    "btn-no-show": function () { counterAction("no-show", {}, ticketDone); },
    "btn-pause": function () {
      counterAction(state.counter.status === "open" ? "pause" : "open", {}, counterDone);
    },
    "btn-transfer": openTransfer,
    "btn-incomplete": openIncomplete,
  };

  Object.keys(actions).forEach(function (id) {
    $(id).addEventListener("click", function (event) { event.preventDefault(); actions[id](); });
  });

  $("call-number").addEventListener("submit", function (event) {
    event.preventDefault();
    var number = $("call-number-input").value.trim().toUpperCase();
    if (!number) { $("call-number-input").focus(); return; }
    counterAction("call", {number: number}, function (result) {
      $("call-number-input").value = "";
      ticketDone(result);
    });
  });

  /* ---------- transfer ---------- */

  function option(select, value, text) {
    var o = document.createElement("option");
    o.value = value; o.textContent = text;
    select.appendChild(o);
  }

  function fillStages() {
    var prefix = $("transfer-service").value || state.ticket.service;
    var service = cfg.targets.services.filter(function (s) { return s.prefix === prefix; })[0];
    var select = $("transfer-stage");
    select.textContent = "";
    option(select, "", T.same_stage);
    (service ? service.stages : []).forEach(function (st) { option(select, st.code, st.name); });
  }

  function openTransfer() {
    var service = $("transfer-service"), counter = $("transfer-counter");
    service.textContent = ""; counter.textContent = "";
    option(service, "", T.same_service);
    cfg.targets.services.forEach(function (s) { option(service, s.prefix, s.prefix + " " + s.name); });
    option(counter, "", T.any_counter);
    cfg.targets.counters.forEach(function (c) {
      option(counter, String(c.number), c.number + " " + c.name + " (" + (T["status_" + c.status] || c.status) + ")");
    });
    fillStages();
    $("transfer-note").value = "";
    $("transfer-keep").checked = true;
    $("transfer-error").textContent = "";
    openDialog("transfer-dialog");
  }

  $("transfer-service").addEventListener("change", fillStages);

  $("transfer-submit").addEventListener("click", function (event) {
    event.preventDefault();
    var body = {keep_place: $("transfer-keep").checked, note: $("transfer-note").value.trim()};
    if ($("transfer-service").value) body.service = $("transfer-service").value;
    if ($("transfer-stage").value) body.stage = $("transfer-stage").value;
    if ($("transfer-counter").value) body.counter = parseInt($("transfer-counter").value, 10);
    if (!body.service && !body.stage && !body.counter) { $("transfer-error").textContent = T.pick_target; return; }
    $("transfer-dialog").close();
    counterAction("transfer", body, ticketDone);
  });

  /* ---------- incomplete materials ---------- */

  function openIncomplete() {
    var box = $("incomplete-items");
    box.textContent = "";
    state.ticket.checklist.forEach(function (item) {
      var label = document.createElement("label");
      label.className = "check";
      var input = document.createElement("input");
      input.type = "checkbox"; input.value = item;
      label.appendChild(input);
      label.appendChild(document.createTextNode(" " + item));
      box.appendChild(label);
    });
    $("incomplete-note").value = "";
    $("incomplete-error").textContent = "";
    openDialog("incomplete-dialog");
  }

  $("incomplete-submit").addEventListener("click", function (event) {
    event.preventDefault();
    var items = Array.prototype.map.call(document.querySelectorAll("#incomplete-items input:checked"),
                                         function (input) { return input.value; });
    var note = $("incomplete-note").value.trim();
    if (!items.length && !note) { $("incomplete-error").textContent = T.pick_missing; return; }
    $("incomplete-dialog").close();
    counterAction("finish", {outcome: "incomplete", missing: {items: items, note: note}}, ticketDone);
  });

  function openDialog(id) {
    var dialog = $(id);
    dialog.querySelectorAll(".dialog-number").forEach(function (el) { el.textContent = state.ticket.number; });
    dialog.showModal();
  }

  /* ---------- keyboard ---------- */

  var KEYS = {"F1": "btn-call-next", " ": "btn-call-next", "F2": "btn-recall", "F3": "btn-finish",
              "F4": "btn-no-show"};

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    var id = KEYS[event.key];
    if (!id || event.ctrlKey || event.altKey || event.metaKey || document.querySelector("dialog[open]")) return;
    if (event.key === " " && typing(event.target)) return;
    event.preventDefault();     // F1 help, Space scrolling or pressing the focused button
    if (!event.repeat) $(id).click();
  });

  document.addEventListener("keyup", function (event) {
    if (event.key === " " && !typing(event.target)) event.preventDefault();
  });

  /* ---------- live ---------- */

  setInterval(renderTimer, 1000);
  setInterval(scheduleRefresh, cfg.heartbeatMs);   // also the screen's sign of life: a silent screen releases its counter

  var live = HallLive.connect({
    hall: cfg.hall,
    onSnapshot: scheduleRefresh,
    onEvent: scheduleRefresh,
    onStatus: function (online) {
      $("live-status").className = "live " + (online ? "online" : "offline");
    },
  });
  receive(state);
  window.counterScreen = {live: live, refresh: refresh};
})();
