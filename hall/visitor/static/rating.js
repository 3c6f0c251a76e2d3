/* The 1–5 rating with optional reason chips, shared by the phone page and the counter rating pad.
 *
 *   RatingForm.attach({onChosen(rating), send(rating, reasons) -> Promise})
 */
(function (global) {
  "use strict";

  function attach(options) {
    var chosen = null;
    var buttons = document.querySelectorAll("#rating-buttons [data-rating]");
    var groups = document.querySelectorAll(".chips[data-kind]");
    var sendButton = document.getElementById("rating-send");

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

    function reset() {
      chosen = null;
      sendButton.disabled = false;
      Array.prototype.forEach.call(buttons, function (b) { b.setAttribute("aria-pressed", "false"); });
    }

    function send() {
      if (chosen === null || sendButton.disabled) return Promise.resolve();
      sendButton.disabled = true;
      return options.send(chosen, reasons()).then(function () { sendButton.disabled = false; },
                                                  function () { sendButton.disabled = false; });
    }

    Array.prototype.forEach.call(buttons, function (button) {
      button.addEventListener("click", function () {
        chosen = Number(button.dataset.rating);
        Array.prototype.forEach.call(buttons, function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        showReasons(chosen);
        if (options.onChosen) options.onChosen(chosen);
      });
    });
    sendButton.addEventListener("click", send);
    return {send: send, reset: reset};
  }

  global.RatingForm = {attach: attach};
})(window);
