/* The statistics page while a refresh is queued or running: every 5 seconds it asks
   /government/statistics/refresh.json (same origin, the session cookie) how it is going, puts the answer
   in the status line (textContent only), and reloads the page once the refresh has finished, so the new
   figures show. A failed poll is tried again at the next tick. No dependencies. */
(function () {
  "use strict";

  var line = document.getElementById("refresh-status");
  if (!line || !window.fetch) {
    return;
  }
  var url = line.getAttribute("data-status-url");
  var PERIOD_MS = 5000;

  function reload() {
    var here = new URL(window.location.href);
    here.searchParams.delete("refresh"); // the "refresh requested" notice has done its work
    window.location.replace(here.toString());
  }

  function poll() {
    window
      .fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        if (status.state === "idle") {
          reload();
          return;
        }
        line.textContent = status.text;
        window.setTimeout(poll, PERIOD_MS);
      })
      .catch(function () {
        window.setTimeout(poll, PERIOD_MS);
      });
  }

  window.setTimeout(poll, PERIOD_MS);
})();
