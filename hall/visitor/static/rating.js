/* The 1–5 rating with optional reason chips, shared by the phone page and the counter rating pad.
 *
 *   RatingForm.attach({onChosen(rating), send(rating, reasons, aspects) -> Promise})
 *
 * `aspects` holds only the sub-ratings the visitor gave, e.g. {efficiency: 4}: skipping them sends none.
 */
(function (global) {
  "use strict";

  function attach(options) {
    var chosen = null;
    var buttons = document.querySelectorAll("#rating-buttons [data-rating]");
    var groups = document.querySelectorAll(".chips[data-kind]");
    var sendButton = document.getElementById("rating-send");
    var aspectRows = document.querySelectorAll("#rating-aspects [data-aspect]");

    function showReasons(rating) {
      var kind = rating >= 4 ? "praise" : "complaints";
      Array.prototype.forEach.call(groups, function (group) {
        group.hidden = group.dataset.kind !== kind;
        Array.prototype.forEach.call(group.querySelectorAll("input"), function (i) { i.checked = false; });
      });
    }

    function reasons() {
      var picked = document.querySelectorAll(".chips[data-kind]:not([hidden]) input:checked");
      return Array.prototype.map.call(picked, function (input) { return input.value; });
    }

    function aspects() {
      var given = {};
      Array.prototype.forEach.call(aspectRows, function (row) {
        var pressed = row.querySelector("button[aria-pressed=true]");
        if (pressed) given[row.dataset.aspect] = Number(pressed.dataset.value);
      });
      return given;
    }

    function press(group, button) {
      Array.prototype.forEach.call(group, function (b) { b.setAttribute("aria-pressed", String(b === button)); });
    }

    function reset() {
      chosen = null;
      sendButton.disabled = false;
      press(buttons, null);
      Array.prototype.forEach.call(aspectRows, function (row) { press(row.querySelectorAll("button"), null); });
    }

    function send() {
      if (chosen === null || sendButton.disabled) return Promise.resolve();
      sendButton.disabled = true;
      return options.send(chosen, reasons(), aspects()).then(function () { sendButton.disabled = false; },
                                                  function () { sendButton.disabled = false; });
    }

    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        chosen = Number(button.dataset.rating);
        press(buttons, button);
        showReasons(chosen);
        if (options.onChosen) options.onChosen(chosen);
      });
    });
    Array.prototype.forEach.call(aspectRows, function (row) {
      var levels = row.querySelectorAll("button");
      Array.prototype.forEach.call(levels, function (button) {
        button.addEventListener("click", function () {  // a second tap on the chosen level clears the row
          press(levels, button.getAttribute("aria-pressed") === "true" ? null : button);
        });
      });
    });
    sendButton.addEventListener("click", send);
    return {send: send, reset: reset};
  }

  global.RatingForm = {attach: attach};
})(window);
