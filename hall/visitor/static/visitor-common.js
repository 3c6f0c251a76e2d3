/* Shared by the visitor pages: JSON calls to the API with the CSRF token of the page. */
(function (global) {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');

  function api(method, url, data) {
    var options = {method: method, headers: {"Accept": "application/json"}, credentials: "same-origin"};
    if (meta) options.headers["X-CSRFToken"] = meta.content;
    if (data !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(data);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return {ok: response.ok, status: response.status, body: body};
      });
    });
  }

  global.VisitorApi = {call: api};
})(window);
