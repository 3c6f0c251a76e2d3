/* Counter-top window screen: the number served here, paused/closed states, the supervision card. */
(function () {
  "use strict";

  var D = window.HallDisplay;
  var config = D.config;
  var strings = config.strings;
  var services = {};
  var SHOWN_AT_ONCE = {called: true, recalled: true, started: true};

  function renderCard(card) {
    var staff = card.staff;
    document.getElementById("card").classList.toggle("anonymous", !staff);
    document.getElementById("card-name").textContent = staff ? staff.name : "—";
    document.getElementById("card-position").textContent = staff && staff.position ? staff.position : "—";
    document.getElementById("card-staff-no").textContent = staff && staff.staff_no ? staff.staff_no : "—";
    document.getElementById("card-phone").textContent = card.complaint_phone || "—";
    var photo = document.getElementById("card-photo");
    photo.style.backgroundImage = staff && staff.photo_url ? "url(" + JSON.stringify(staff.photo_url) + ")" : "";
    photo.textContent = staff && !staff.photo_url ? staff.name.slice(0, 1) : "";
  }

  function refreshCard() {
    fetch(config.card_url, {cache: "no-store"}).then(function (r) { return r.ok ? r.json() : null; })
      .then(function (card) { if (card) renderCard(card); }).catch(function () {});
  }

  function renderCounter(counter) {
    document.body.classList.remove("status-open", "status-paused", "status-closed");
    document.body.classList.add("status-" + counter.status);
    var label = document.getElementById("window-label");
    var number = document.getElementById("window-number");
    var ticket = counter.ticket;
    if (counter.status !== "open") {
      label.textContent = counter.status === "paused" ? strings.paused : strings.closed;
      number.textContent = "";
    } else if (ticket) {
      label.textContent = ticket.status === "serving" ? strings.serving : strings.called;
      number.textContent = ticket.number;
    } else {
      label.textContent = strings.idle;
      number.textContent = "";
    }
    document.getElementById("window-services").textContent = counter.services.map(function (prefix) {
      var s = services[prefix];
      return s ? prefix + " " + (config.lang === "en" ? s.name_en || s.name_zh : s.name_zh) : prefix;
    }).join(" · ");
  }

  var lastStatus = config.card.status;
  renderCard(config.card);
  D.start({
    onSnapshot: function (snapshot) {
      snapshot.services.forEach(function (s) { services[s.service] = s; });
      var counter = snapshot.counters.filter(function (c) { return c.number === config.counter; })[0];
      if (!counter) return;
      renderCounter(counter);
      if (counter.status !== lastStatus) { lastStatus = counter.status; refreshCard(); }
    },
    onEvent: function (event) {
      // a replayed (missed) call is followed by the snapshot, which has the counter's state; a `known`
      // event came after a snapshot that has it (drawing it again could show an older state)
      if (!event.counter || event.counter.number !== config.counter || event.replayed || event.known) return;
      if (/^counter_/.test(event.kind)) refreshCard();
      if (SHOWN_AT_ONCE[event.kind]) {  // the rest follows with the next snapshot
        renderCounter(Object.assign({}, event.counter, {ticket: {number: event.ticket.number, status: event.ticket.status}}));
      }
    },
    // another counter's events change nothing here; this counter's others come with a snapshot
    needsSnapshot: function (event) {
      return !!event.counter && event.counter.number === config.counter && !SHOWN_AT_ONCE[event.kind];
    },
  });
})();
