/* Cancel an appointment by its code: the visitor's own page or a row of the staff's day list. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("#cancel, button.cancel");
    if (!button || !window.confirm(button.dataset.confirm)) return;
    var code = button.closest("[data-code]").dataset.code;
    button.disabled = true;
    VisitorApi.call("DELETE", "/api/v1/appointments/" + encodeURIComponent(code)).then(function (answer) {
      if (answer.ok) { window.location.reload(); return; }
      var error = document.getElementById("error");
      if (error) error.textContent = answer.body.message || answer.status;
      else window.alert(answer.body.message || answer.status);
      button.disabled = false;
    });
  });
})();
