/* Live monitor: renders /api/v1/halls/<hall>/monitor and reloads it on every hall event.
 * Elapsed times tick on the page's clock, corrected by the server's `now`. */
(function () {
  "use strict";
  var root = document.querySelector(".monitor");
  var hall = root.dataset.hall, lang = root.dataset.lang, T = JSON.parse(document.getElementById("monitor-text").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var api = "/api/v1/halls/" + encodeURIComponent(hall);
  var state = null, reloadTimer = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function name(row) { return lang === "en" && row.name_en ? row.name_en : row.name_zh; }
  function serverNow() { return window.HallClock.now().getTime(); }
  function since(iso) { return iso ? Math.max(0, (serverNow() - Date.parse(iso)) / 1000) : null; }
  function mmss(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    seconds = Math.round(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }
  function localTime(iso) {
    return window.HallClock.format(new Date(Date.parse(iso)), document.getElementById("clock"));
  }
  /* A cell whose elapsed time ticks; over its limit it turns red. */
  function elapsedCell(iso, limit) {
    var td = el("td", {"class": "num elapsed"});
    if (iso) { td.dataset.since = iso; if (limit) td.dataset.limit = limit; }
    return td;
  }

  function post(path, payload) {
    return fetch(api + path, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(payload || {})}).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error(data.message || r.statusText);
        return data;
      });
    });
  }

  function renderServices() {
    var body = document.querySelector("#services tbody");
    body.replaceChildren.apply(body, state.services.map(function (s) {
      return el("tr", {"data-service": s.service}, [
        el("th", {text: s.service + " " + name(s)}),
        el("td", {"class": "num", text: String(s.waiting)}),
        elapsedCell(s.oldest_queued_at, s.wait_limit_s),
        el("td", {"class": "num", text: mmss(s.wait_limit_s)}),
        el("td", {"class": "num", text: s.estimate_s === null ? "—" : mmss(s.estimate_s)})]);
    }));
  }

  function counterActions(c) {
    var box = el("td", {"class": "actions"});
    if (c.status !== "open") box.appendChild(el("button", {"class": "button small", "data-do": "open", text: T.do_open}));
    if (c.status === "open") box.appendChild(el("button", {"class": "button small", "data-do": "pause", text: T.do_pause}));
    box.appendChild(el("button", {"class": "button small", "data-do": "services", text: T.do_services}));
    return box;
  }

  function renderCounters() {
    var body = document.querySelector("#counters tbody");
    body.replaceChildren.apply(body, state.counters.map(function (c) {
      var t = c.ticket;
      var row = el("tr", {"data-counter": c.number, "class": "status-" + c.status}, [
        el("th", {text: c.name || String(c.number)}),
        el("td", {}, [el("span", {"class": "pill " + c.status, text: T[c.status] || c.status})]),
        el("td", {text: c.staff || "—"}),
        el("td", {"class": "ticket", text: t ? t.number + " · " + (T[t.status] || t.status) : "—"}),
        el("td", {text: t ? (lang === "en" && t.stage_name_en ? t.stage_name_en : t.stage_name_zh) : "—"}),
        t ? elapsedCell(t.since, t.limit_s) : el("td", {"class": "num", text: "—"}),
        el("td", {"class": "num", text: t && t.limit_s ? mmss(t.limit_s) : "—"}),
        el("td", {text: c.services.map(function (l) {
          return l.service + (l.stages ? "(" + l.stages.join("/") + ")" : "");
        }).join(" › ")}),
        counterActions(c)]);
      return row;
    }));
  }

  function alarmText(a) {
    var d = a.data || {};
    var parts = [T[a.kind] || a.kind];
    if (d.number) parts.push(d.number);
    if (d.counter) parts.push(T.counter + " " + d.counter);
    if (d.device) parts.push(d.device);
    if (d.case) parts.push("#" + d.case + " · " + (d.status === "open" ? d.contact_due : d.rectify_due));
    if (d.limit_s) parts.push("> " + mmss(d.limit_s));
    return parts.join(" · ");
  }

  function renderAlarms() {
    var list = document.getElementById("alarms");
    list.replaceChildren.apply(list, state.alarms.map(function (a) {
      var item = el("li", {"class": "alarm" + (a.acknowledged_at ? " acknowledged" : "") + (a.cleared_at ? " cleared" : ""),
                           "data-alarm": a.id, "data-kind": a.kind}, [
        el("time", {datetime: a.raised_at, text: localTime(a.raised_at)}),
        el("span", {"class": "what", text: alarmText(a)})]);
      if (a.cleared_at) item.appendChild(el("span", {"class": "tag", text: T.cleared}));
      if (a.acknowledged_at) item.appendChild(el("span", {"class": "tag", text: T.acknowledged}));
      else item.appendChild(el("button", {"class": "button small primary", "data-ack": a.id, text: T.acknowledge}));
      return item;
    }));
    var open = state.alarms.filter(function (a) { return !a.acknowledged_at; }).length;
    document.getElementById("alarm-count").textContent = String(open);
    document.getElementById("alarm-count").dataset.open = open ? "true" : "false";
    document.getElementById("no-alarms").hidden = state.alarms.length > 0;
  }

  function tick() {
    document.querySelectorAll(".elapsed[data-since]").forEach(function (td) {
      var seconds = since(td.dataset.since);
      td.textContent = mmss(seconds);
      td.classList.toggle("over", !!td.dataset.limit && seconds > Number(td.dataset.limit));
    });
  }

  function render(data) {
    state = data;
    window.HallClock.correct(data.now);
    renderServices(); renderCounters(); renderAlarms(); renderZones(); tick();
    root.dataset.seq = data.seq;
  }

  function renderZones() {
    var list = document.getElementById("zones");
    list.replaceChildren.apply(list, state.zones.map(function (z) {
      var box = el("input", {type: "checkbox", "data-zone": z.zone});
      box.checked = z.silent;
      return el("li", {}, [el("label", {}, [box, document.createTextNode(" " + z.zone + " · " + T.silent)])]);
    }));
  }

  function load() {
    return fetch(api + "/monitor", {credentials: "same-origin"}).then(function (r) {
      if (r.status === 401 || r.status === 403) { window.location.reload(); return null; }
      return r.json();
    }).then(function (data) { if (data) render(data); });
  }
  function scheduleLoad() {
    if (reloadTimer) return;
    reloadTimer = setTimeout(function () { reloadTimer = null; load(); }, 250);
  }

  document.getElementById("alarms").addEventListener("click", function (e) {
    var id = e.target.dataset.ack;
    if (!id) return;
    e.target.disabled = true;
    post("/alarms/" + id + "/acknowledge").then(load, function (err) { alert(err.message); load(); });
  });

  var dialog = document.getElementById("services-dialog");
  function openServicesDialog(counter) {
    var current = {};
    counter.services.forEach(function (l, i) { current[l.service] = {rank: i + 1, stages: l.stages}; });
    document.getElementById("services-counter").textContent = counter.name || counter.number;
    document.getElementById("services-error").textContent = "";
    var box = document.getElementById("services-choices");
    box.replaceChildren.apply(box, state.all_services.map(function (s) {
      var link = current[s.service];
      var row = el("fieldset", {"class": "service-choice", "data-service": s.service}, [
        el("legend", {}, [el("label", {"class": "check"}, [
          el("input", {type: "checkbox", name: "serve"}), document.createTextNode(" " + s.service + " " + name(s))])]),
        el("label", {"class": "inline-label"}, [document.createTextNode(T.priority + " "),
          el("input", {type: "number", name: "rank", min: "1", max: "20", value: link ? link.rank : 9})])]);
      row.querySelector("[name=serve]").checked = !!link;
      s.stages.forEach(function (code) {
        var cb = el("input", {type: "checkbox", name: "stage", value: code});
        cb.checked = !!(link && link.stages && link.stages.indexOf(code) >= 0);
        row.appendChild(el("label", {"class": "check"}, [cb, document.createTextNode(" " + code)]));
      });
      return row;
    }));
    dialog.dataset.counter = counter.number;
    dialog.showModal();
  }
  document.getElementById("services-save").addEventListener("click", function (e) {
    e.preventDefault();
    var chosen = Array.prototype.filter.call(dialog.querySelectorAll(".service-choice"), function (row) {
      return row.querySelector("[name=serve]").checked;
    }).map(function (row) {
      var stages = Array.prototype.filter.call(row.querySelectorAll("[name=stage]"), function (cb) { return cb.checked; })
        .map(function (cb) { return cb.value; });
      return {service: row.dataset.service, stages: stages.length ? stages : null,
              rank: Number(row.querySelector("[name=rank]").value) || 99};
    }).sort(function (a, b) { return a.rank - b.rank; });
    post("/monitor/counters/" + dialog.dataset.counter + "/services",
         {services: chosen.map(function (c) { return {service: c.service, stages: c.stages}; })})
      .then(function () { dialog.close(); load(); },
            function (err) { document.getElementById("services-error").textContent = err.message; });
  });

  document.getElementById("counters").addEventListener("click", function (e) {
    var action = e.target.dataset.do;
    if (!action) return;
    var number = Number(e.target.closest("tr").dataset.counter);
    if (action === "services") {
      openServicesDialog(state.counters.filter(function (c) { return c.number === number; })[0]);
      return;
    }
    e.target.disabled = true;
    post("/monitor/counters/" + number + "/" + action).then(load, function (err) { alert(err.message); load(); });
  });

  document.getElementById("zones").addEventListener("change", function (e) {
    var zone = e.target.dataset.zone;
    if (!zone) return;
    post("/zones/" + encodeURIComponent(zone) + "/silent", {silent: e.target.checked})
      .then(load, function (err) { alert(err.message); load(); });
  });

  document.getElementById("notice-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var form = e.target, message = document.getElementById("notice-message");
    post("/notices", {text_zh: form.text_zh.value, text_en: form.text_en.value}).then(function () {
      form.reset(); message.className = "form-message ok"; message.textContent = T.sent;
    }, function (err) { message.className = "form-message error"; message.textContent = err.message; });
  });

  HallLive.connect({
    hall: hall,
    onSnapshot: function () { load(); },
    onEvent: scheduleLoad,
    onStatus: function (online) {
      var badge = document.getElementById("live-status");
      badge.dataset.online = online ? "true" : "false";
      badge.textContent = online ? T.online : T.offline;
    },
  });
  load();
  setInterval(tick, 1000);
  setInterval(load, 30000);
})();
