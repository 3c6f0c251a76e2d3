/* Counter rating pad: idle until a stage finishes at this counter, then ask for a rating; time out to idle. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("pad-data").textContent);
  var screens = ["idle", "ask", "reasons", "thanks"];
  var number = null, timer = null;
  var $ = function (id) { return document.getElementById(id); };

  function show(name, seconds) {
    screens.forEach(function (s) { $(s).hidden = s !== name; });
    clearTimeout(timer);
    if (seconds) timer = setTimeout(onTimeout, seconds * 1000);
  }

  function onTimeout() {
    // Chosen a rating but no reasons: the rating still counts. Nothing chosen: back to idle.
    if (!$("reasons").hidden) form.send(); else idle();
  }

  function idle() { number = null; $("rating-error").textContent = ""; form.reset(); show("idle"); }

  var form = RatingForm.attach({
    onChosen: function () { show("reasons", data.timeout_s); },
    send: function (rating, reasons, aspects) {
      var url = "/api/v1/halls/" + encodeURIComponent(data.hall) + "/counters/" + data.counter + "/feedback";
      return fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-Device-Token": data.device},
                         body: JSON.stringify(Object.assign({number: number, rating: rating, reasons: reasons}, aspects))})
        .then(function (response) { return response.json().then(function (body) { return [response, body]; }); })
        .then(function (answer) {
          var ok = answer[0].ok || answer[1].error === "already_rated";
          $("rating-error").textContent = answer[0].ok ? "" : (data.texts[answer[1].error] || answer[1].message);
          if (ok) { show("thanks", 4); } else { show("ask", data.timeout_s); }
        }, function () { $("rating-error").textContent = data.texts.network; });
    },
  });

  function onEvent(event) {
    var here = event.counter && event.counter.number === data.counter;
    if (here && (event.kind === "finished" || event.kind === "stage_finished") && event.ticket) {
      number = event.ticket.number;
      $("ask-number").textContent = number;
      $("rating-error").textContent = "";
      form.reset();
      show("ask", data.timeout_s);
    }
  }

  // the live handle is kept on the page, as the lobby display does (`hallDisplay.live`)
  window.hallPad = {live: HallLive.connect({
    hall: data.hall, onEvent: onEvent,
    onStatus: function (online) { $("offline").className = online ? "offline" : "offline show"; },
  })};
  idle();
})();
