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

  // Same wording as the server's `duration` filter (console.output.duration).
  function duration(seconds) {
    seconds = Math.floor(seconds);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    if (seconds < 60) { return seconds + "s"; }
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) { return m + "m " + two(s) + "s"; }
    var h = Math.floor(m / 60);
    if (h < 48) { return h + "h " + two(m % 60) + "m"; }
    return Math.floor(h / 24) + "d " + (h % 24) + "h";
  }

  function render(p) {
    counters.forEach(function (name) { text(name, p[name]); });
    text("percent", p.percent + " %");
    text("elapsed", duration(p.elapsed_seconds) + " elapsed");
    var bar = document.getElementById("bar");
    bar.value = p.percent;
    bar.textContent = p.percent + " %";
    var status = document.getElementById("run-status");
    status.textContent = p.status;
    status.className = "badge badge-" + p.status;
    text("run-message", p.message);
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
