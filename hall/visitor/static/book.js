/* Booking page: slots of the chosen service and day, then the booking itself. */
(function () {
  "use strict";
  var form = document.getElementById("booking");
  var slots = document.getElementById("slots");
  var error = document.getElementById("error");
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var hall = form.dataset.hall;
  var asked = 0;

  function chosen(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : null;
  }

  function message(text) { slots.innerHTML = ""; var p = document.createElement("p"); p.className = "muted";
                           p.textContent = text; slots.appendChild(p); }

  function slotChip(slot) {
    var label = document.createElement("label");
    label.className = "chip";
    var input = document.createElement("input");
    input.type = "radio"; input.name = "slot"; input.value = slot.at;
    input.disabled = slot.past || slot.free === 0;
    var span = document.createElement("span");
    span.textContent = slot.at;
    var small = document.createElement("small");
    small.textContent = slot.free === 0 ? texts.full : texts.left.replace("{n}", slot.free);
    span.appendChild(small);
    label.appendChild(input); label.appendChild(span);
    return label;
  }

  function loadSlots() {
    var service = chosen("service"), day = chosen("day");
    if (!service || !day) return;
    var ticket = ++asked;
    var url = "/api/v1/halls/" + encodeURIComponent(hall) + "/appointments/slots?service=" +
              encodeURIComponent(service) + "&day=" + day;
    VisitorApi.call("GET", url).then(function (answer) {
      if (ticket !== asked) return;  // a newer choice is on its way
      slots.dataset.shows = service + " " + day;
      if (!answer.ok) { message(answer.body.message || texts.network); return; }
      var open = answer.body.slots.filter(function (s) { return !s.past; });
      if (answer.body.closed || !open.length) { message(texts.no_slots); return; }
      slots.innerHTML = "";
      open.forEach(function (slot) { slots.appendChild(slotChip(slot)); });
    }, function () { message(texts.network); });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "service" || event.target.name === "day") loadSlots();
    error.textContent = "";
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    if (!chosen("slot")) { error.textContent = texts.choose_slot; return; }
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    VisitorApi.call("POST", "/api/v1/halls/" + encodeURIComponent(hall) + "/appointments", {
      service: chosen("service"), day: chosen("day"), slot: chosen("slot"),
      name: form.elements.name.value.trim(), phone: form.elements.phone.value.trim(),
      id_number: form.elements.id_number.value.replace(/\s+/g, "").toUpperCase() || null,
    }).then(function (answer) {
      if (answer.ok) { window.location.href = answer.body.page_url; return; }
      button.disabled = false;
      error.textContent = texts[answer.body.error] || answer.body.message || texts.network;
      if (answer.body.error === "slot_full" || answer.body.error === "past_slot") loadSlots();
    }, function () { button.disabled = false; error.textContent = texts.network; });
  });

  var firstOpen = form.querySelector('input[name="day"]:not(:disabled)');
  if (firstOpen) { firstOpen.checked = true; loadSlots(); }
})();
