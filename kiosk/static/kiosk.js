/* Touch kiosk: take a number, check in an appointment, priority numbers.
 * Real-name services ask for the visitor's ID number first (keypad, or an ID-card reader typing it + Enter).
 * One tap = one idempotency key: retries after a network blip reuse it, so the server
 * never issues two tickets for one tap. */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("k-config").textContent);
  const STRINGS = JSON.parse(document.getElementById("k-strings").textContent);
  const $ = (id) => document.getElementById(id);
  const RETRY_DELAYS_MS = [1000, 2000, 3000, 4000, 5000, 5000, 5000];
  const REQUEST_TIMEOUT_MS = 6000;
  const REFRESH_MS = 15000;
  const SCANNER_GAP_MS = 80;

  let lang = cfg.lang;
  let state = null;          // last answer of GET /kiosk
  let busy = false;          // a take/check-in is in flight: further taps are ignored
  let idleTimer = null;
  let confirmTimer = null;

  const device = (function rememberDevice() {
    const key = "hall.kiosk.device." + cfg.hall;
    const fromUrl = new URLSearchParams(location.search).get("device");
    try {
      if (fromUrl) localStorage.setItem(key, fromUrl);
      return fromUrl || localStorage.getItem(key) || "";
    } catch (e) {
      return fromUrl || "";
    }
  })();

  function t(key, vars) {
    let text = (STRINGS[lang] || {})[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace("%(" + name + ")s", value);
    return text;
  }

  function minutes(seconds) {
    return Math.max(1, Math.ceil(seconds / 60));
  }

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return "kiosk-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function request(method, path, body) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const headers = { "Accept": "application/json" };
    if (device) headers["X-Device-Token"] = device;
    if (body) headers["Content-Type"] = "application/json";
    try {
      const response = await fetch("/api/v1/halls/" + encodeURIComponent(cfg.hall) + path, {
        method, headers, body: body ? JSON.stringify(body) : undefined, signal: controller.signal,
        cache: "no-store",
      });
      const data = await response.json().catch(() => ({}));
      return { status: response.status, data };
    } finally {
      clearTimeout(timer);
    }
  }

  /* POST with retries on network errors and 5xx; the body (and its idempotency key) never changes. */
  async function submit(path, body) {
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await request("POST", path, body);
        if (answer.status < 500) return answer;
      } catch (e) { /* network down or timed out: retry */ }
      if (attempt >= RETRY_DELAYS_MS.length) return null;
      showWait(true);
      await sleep(RETRY_DELAYS_MS[attempt]);
    }
  }

  /* ---------- language ---------- */

  function applyLanguage() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.body.dataset.lang = lang;
    document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    $("k-lang").textContent = lang === "zh" ? "English" : "中文";
    $("k-clock").dataset.lang = lang;
    window.HallClock.tick();
    renderServices();
  }

  function setLanguage(next) {
    lang = next;
    applyLanguage();
  }

  /* ---------- start screen ---------- */

  function serviceNames(service) {
    const [main, other] = lang === "en" ? [service.name_en || service.name_zh, service.name_zh]
                                        : [service.name_zh, service.name_en];
    return { main, other };
  }

  function waitText(service) {
    if (!service.open) return t("closed_" + (service.closed_reason || "inactive"));
    if (!service.waiting) return t("no_wait");
    return aboutText(service);
  }

  /* "About 12 min (8–18)": the estimate and the range that holds about 8 waits in 10. */
  function aboutText(estimate) {
    const range = estimate.estimated_wait_range_s;
    if (!range) return t("wait_min", { minutes: minutes(estimate.estimated_wait_s) });
    return t("wait_range", { minutes: minutes(estimate.estimated_wait_s), low: Math.round(range[0] / 60),
                             high: minutes(range[1]) });
  }

  function serviceButton(service, onTap, compact) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "k-svc" + (service.open ? "" : " is-closed") + (compact ? " is-compact" : "");
    button.dataset.service = service.prefix;
    button.disabled = !service.open;
    const names = serviceNames(service);
    button.innerHTML =
      '<span class="k-svc-prefix"></span>' +
      '<span class="k-svc-names"><span class="k-svc-main"></span><span class="k-svc-other"></span></span>' +
      (compact ? "" : '<span class="k-svc-figures"><span class="k-svc-waiting"></span><span class="k-svc-wait"></span></span>');
    button.querySelector(".k-svc-prefix").textContent = service.prefix;
    button.querySelector(".k-svc-main").textContent = names.main;
    button.querySelector(".k-svc-other").textContent = names.other;
    if (!compact) {
      button.querySelector(".k-svc-waiting").textContent = service.open ? t("waiting") + " " + service.waiting : t("closed");
      button.querySelector(".k-svc-wait").textContent = waitText(service);
    }
    button.addEventListener("click", () => onTap(service));
    return button;
  }

  function renderServices() {
    if (!state) return;
    const list = $("k-services");
    list.replaceChildren(...state.services.map((s) => serviceButton(s, chooseService)));
    list.dataset.count = state.services.length;
    $("k-open-priority").hidden = state.priority === "off";
    $("k-unregistered").hidden = !(state.require_registered && !state.registered);
  }

  async function refresh() {
    try {
      const answer = await request("GET", "/kiosk");
      if (answer.status === 200) {
        state = answer.data;
        renderServices();
      }
    } catch (e) { /* keep showing the last state; the next refresh tries again */ }
  }

  /* ---------- taking a number ---------- */

  function chooseService(service) {
    if (service.real_name === "required" || service.real_name === "optional") return openIdentity(service);
    take(service.prefix, {});
  }

  async function take(prefix, extra) {
    await send("/kiosk/tickets", Object.assign({ service: prefix, idempotency_key: newKey() }, extra));
  }

  async function checkIn(code) {
    code = (code || "").trim();
    if (!code) return;
    await send("/kiosk/check-in", { code, idempotency_key: newKey() });
  }

  async function send(path, body) {
    if (busy) return;
    busy = true;
    document.body.classList.add("is-busy");
    try {
      const answer = await submit(path, body);
      showWait(false);
      if (answer === null) return showMessage(t("failed"));
      if (answer.status === 200 || answer.status === 201) return showConfirm(answer.data);
      showMessage(errorText(answer.data));
      if (answer.data.error === "service_closed") refresh();
    } finally {
      busy = false;
      document.body.classList.remove("is-busy");
    }
  }

  function errorText(error) {
    const code = error.error || "";
    if (code.startsWith("appointment_")) return t(code, error);
    if (code === "service_closed") return t("closed_" + (error.reason || "inactive"));
    if (["wrong_pin", "pin_required", "priority_off"].includes(code)) return t(code === "pin_required" ? "wrong_pin" : code);
    if (code === "forbidden") return t("not_registered");
    if (["invalid_id_number", "id_number_required", "daily_limit_reached"].includes(code)) return t(code, error);
    return t("failed") + (error.message ? " (" + error.message + ")" : "");
  }

  /* ---------- confirmation ---------- */

  function showConfirm(answer) {
    closePanels();
    const ticket = answer.ticket;
    const names = serviceNames({ name_zh: ticket.service_name_zh, name_en: ticket.service_name_en });
    $("k-c-service").textContent = names.main + (names.other ? " · " + names.other : "") +
      (ticket.priority === "appointment" ? " · " + t("appointment") : "");
    $("k-c-number").textContent = ticket.number;
    $("k-c-ahead").textContent = ticket.people_ahead;
    $("k-c-wait").textContent = ticket.estimated_wait_s ? aboutText(ticket) : t("no_wait");
    $("k-c-qr").innerHTML = answer.qr_svg;   // generated by the server from the ticket's status URL
    $("k-c-qr").dataset.url = answer.status_url;
    $("k-confirm").dataset.token = ticket.token;
    $("k-start").hidden = true;
    $("k-confirm").hidden = false;
    showPrint(answer.print);
    if (answer.print.status === "pending") followPrint(ticket.token);
  }

  function showPrint(print) {
    const failed = print.status === "failed";
    const line = $("k-c-print");
    line.dataset.status = print.status;
    line.textContent = t({ failed: "printer_down", pending: "printing", printed: "take_ticket" }[print.status] || "no_printer");
    $("k-confirm").classList.toggle("is-unprinted", failed);
    startCountdown(failed ? cfg.confirm_unprinted_s : cfg.confirm_s);
  }

  async function followPrint(token) {
    for (let i = 0; i < 10 && $("k-confirm").dataset.token === token; i++) {
      await sleep(1000);
      try {
        const answer = await request("GET", "/kiosk/tickets/" + encodeURIComponent(token) + "/print");
        if (answer.status === 200 && answer.data.status !== "pending") {
          if ($("k-confirm").dataset.token === token) showPrint(answer.data);
          return;
        }
      } catch (e) { /* ask again */ }
    }
  }

  function startCountdown(seconds) {
    clearInterval(confirmTimer);
    let left = seconds;
    $("k-countdown").textContent = "(" + left + ")";
    confirmTimer = setInterval(() => {
      left -= 1;
      $("k-countdown").textContent = "(" + left + ")";
      if (left <= 0) goStart();
    }, 1000);
  }

  function goStart() {
    clearInterval(confirmTimer);
    closePanels();
    $("k-confirm").hidden = true;
    $("k-confirm").dataset.token = "";
    $("k-start").hidden = false;
    refresh();
  }

  /* ---------- panels ---------- */

  function closePanels() {
    document.querySelectorAll(".k-panel:not(#k-wait)").forEach((p) => { p.hidden = true; });
    $("k-code").value = "";
    $("k-pin").value = "";
    $("k-id-number").value = "";
  }

  function showWait(on) {
    $("k-wait").hidden = !on;
    $("k-wait-detail").textContent = on ? t("retrying") : "";
  }

  function showMessage(text) {
    closePanels();
    $("k-message-text").textContent = text;
    $("k-message").hidden = false;
  }

  function keypad(container, keys, input) {
    for (const key of keys) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "k-key" + (key.length > 1 ? " k-key-wide" : "");
      button.dataset.key = key;
      button.textContent = key === "back" ? "⌫" : key === "clear" ? t("clear") : key;
      if (key === "clear") button.dataset.t = "clear";
      button.addEventListener("click", () => {
        if (key === "back") input.value = input.value.slice(0, -1);
        else if (key === "clear") input.value = "";
        else if (input.value.length < input.maxLength) input.value += key;
      });
      container.appendChild(button);
    }
  }

  function openCheckIn() {
    closePanels();
    $("k-checkin").hidden = false;
    $("k-code").focus();
  }

  function openIdentity(service) {
    closePanels();
    const names = serviceNames(service);
    $("k-id-service").textContent = service.prefix + " " + names.main;
    $("k-identity").dataset.service = service.prefix;
    const optional = service.real_name === "optional";
    $("k-id-hint").dataset.t = optional ? "id_hint_optional" : "id_hint";
    $("k-id-hint").textContent = t($("k-id-hint").dataset.t);
    $("k-id-skip").hidden = !optional;
    $("k-identity").hidden = false;
    $("k-id-number").focus();
  }

  function takeWithId() {
    const number = $("k-id-number").value.replace(/\s+/g, "").toUpperCase();
    if (number) take($("k-identity").dataset.service, { id_number: number });
  }

  function openPriority() {
    closePanels();
    const needsPin = state && state.priority === "pin";
    $("k-pin-area").hidden = !needsPin;
    const pick = $("k-priority-services");
    pick.replaceChildren(...(state ? state.services : []).map((s) => serviceButton(s, (svc) => {
      take(svc.prefix, needsPin ? { priority: "priority", pin: $("k-pin").value } : { priority: "priority" });
    }, true)));
    $("k-priority").hidden = false;
  }

  /* ---------- barcode scanner: fast keystrokes ending with Enter, wherever the focus is ---------- */

  let scanned = "";
  let lastKeyAt = 0;

  function onKey(event) {
    if (event.target === $("k-code")) {
      if (event.key === "Enter") { event.preventDefault(); checkIn($("k-code").value); }
      return;
    }
    if (event.target === $("k-id-number")) {
      if (event.key === "Enter") { event.preventDefault(); takeWithId(); }
      return;
    }
    const now = performance.now();
    if (now - lastKeyAt > SCANNER_GAP_MS * 5) scanned = "";
    lastKeyAt = now;
    if (event.key === "Enter") {
      if (scanned.length >= 3 && !$("k-identity").hidden) {   // an ID-card reader, the focus elsewhere
        event.preventDefault();
        $("k-id-number").value = scanned;
        takeWithId();
      } else if (scanned.length >= 3) { event.preventDefault(); checkIn(scanned); }
      scanned = "";
    } else if (event.key.length === 1) {
      scanned += event.key;
    }
  }

  /* ---------- idle reset ---------- */

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (busy) return touched();
      goStart();
      if (lang !== cfg.default_lang) setLanguage(cfg.default_lang);
    }, cfg.idle_reset_s * 1000);
  }


  /* ---------- wiring ---------- */

  $("k-lang").addEventListener("click", () => setLanguage(lang === "zh" ? "en" : "zh"));
  $("k-open-checkin").addEventListener("click", openCheckIn);
  $("k-open-priority").addEventListener("click", openPriority);
  $("k-checkin-go").addEventListener("click", () => checkIn($("k-code").value));
  $("k-done").addEventListener("click", goStart);
  $("k-id-go").addEventListener("click", takeWithId);
  $("k-id-skip").addEventListener("click", () => take($("k-identity").dataset.service, {}));
  document.querySelectorAll("[data-close]").forEach((b) => b.addEventListener("click", closePanels));
  keypad($("k-code-keys"), [..."1234567890QWERTYUIOPASDFGHJKLZXCVBNM", "back", "clear"], $("k-code"));
  keypad($("k-pin-keys"), [..."123456789", "clear", "0", "back"], $("k-pin"));
  keypad($("k-id-keys"), [..."123456789X0", "back", "clear"], $("k-id-number"));
  document.addEventListener("keydown", onKey);
  ["pointerdown", "keydown"].forEach((name) => document.addEventListener(name, touched, true));
  document.addEventListener("contextmenu", (e) => e.preventDefault());

  applyLanguage();
  refresh();
  setInterval(() => { if (!$("k-start").hidden && !busy) refresh(); }, REFRESH_MS);
  touched();
})();
