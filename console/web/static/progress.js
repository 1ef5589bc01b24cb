// Live progress for the run page: polls the run's JSON feed until the run is complete.
(function () {
  "use strict";
  var card = document.getElementById("run");
  if (!card || card.dataset.complete === "true") { return; }
  var url = card.dataset.progressUrl;
  var counters = ["done", "total", "created", "updated", "unchanged", "skipped", "failed"];
  var intervalMs = 1000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function render(p) {
    counters.forEach(function (name) { text(name, p[name]); });
    text("percent", p.percent + " %");
    text("elapsed", p.elapsed_seconds + " s elapsed");
    var bar = document.getElementById("bar");
    bar.value = p.percent;
    bar.textContent = p.percent + " %";
    var status = document.getElementById("run-status");
    status.textContent = p.status;
    status.className = "badge badge-" + p.status;
    var message = p.status === "enumerating" ? "Listing every product in the source…" : (p.error_message || "");
    if (p.complete && p.status === "finished") {
      message = p.failed > 0
        ? "Finished. " + p.failed + " product(s) failed: see the failures for this account."
        : "Finished. Every product is in sync.";
    }
    text("run-message", message);
    card.dataset.complete = p.complete ? "true" : "false";
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 401) {
          text("run-message", "Your session has ended. Log in again to keep watching this run.");
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (p) {
        if (p === null) { return; }
        render(p);
        if (!p.complete) { window.setTimeout(poll, intervalMs); }
      })
      .catch(function () {
        text("run-message", "Progress is temporarily unavailable; retrying…");
        window.setTimeout(poll, intervalMs * 3);
      });
  }

  window.setTimeout(poll, intervalMs);
}());
