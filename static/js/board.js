// The crisis board: when live.js reports an event, fetch fresh copies of the parts of the
// board it touches, in one request; each comes back marked hx-swap-oob and htmx swaps it in
// by its id. A burst of events (an escalation brings a dozen) becomes one request, and a
// board never has two requests in flight. The page's filters go along with every request.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) return;
  if (window.htmx) {
    // The CSP forbids inline styles, and the browser may leave an empty style attribute on
    // form fields: htmx must not copy one over while it settles a swap (a CSP violation).
    window.htmx.config.attributesToSettle = ["class", "width", "height"];
  }

  var ALL = ["alerts", "levels", "map", "charts", "stream"];
  var QUIET = 120;     // ms without a new event before fetching…
  var MAX_WAIT = 400;  // …but never later than this after the first one
  var RETRY = 1500;    // after a failed fetch (server restarting, database busy)
  var pending = {};
  var timer = null;
  var firstAt = 0;
  var inFlight = false;
  var failed = false;

  function partsFor(kind) {
    if (kind.indexOf("incident.") === 0) return ALL;
    if (kind.indexOf("alert.") === 0) return ["alerts", "levels", "stream"];
    if (kind.indexOf("level_proposal.") === 0) return ["alerts"];
    if (kind === "timeline.added" || kind.indexOf("deadline.") === 0 || kind.indexOf("report.") === 0) {
      return ["levels", "stream"];
    }
    return ["stream"];
  }

  function fetchParts() {
    timer = null;
    var names = ALL.filter(function (name) { return pending[name]; });
    if (!names.length || inFlight || !window.htmx) return;
    pending = {};
    inFlight = true;
    failed = false;
    var query = names.map(function (name) { return "part=" + encodeURIComponent(name); }).join("&");
    // The page's filters (?impact=red…), so a refreshed part shows the same incidents as the page.
    var filter = board.getAttribute("data-board-filter");
    if (filter) query += "&" + filter;
    var done = function () {
      inFlight = false;
      if (failed) {
        names.forEach(function (name) { pending[name] = true; });
        timer = setTimeout(fetchParts, RETRY);
      } else if (Object.keys(pending).length) {
        fetchParts();  // events that came in meanwhile
      }
    };
    window.htmx.ajax("GET", board.getAttribute("data-board") + "?" + query, {source: board, swap: "none"})
      .then(done, function () { failed = true; done(); });
  }

  function schedule(names) {
    names.forEach(function (name) { pending[name] = true; });
    if (inFlight) return;  // fetched when the request under way is done
    var now = Date.now();
    if (timer) {
      clearTimeout(timer);
    } else {
      firstAt = now;
    }
    timer = setTimeout(fetchParts, Math.max(0, Math.min(QUIET, firstAt + MAX_WAIT - now)));
  }

  document.addEventListener("portal:event", function (event) {
    schedule(partsFor(String(event.detail && event.detail.kind || "")));
  });
  document.addEventListener("portal:live", function (event) {
    if (event.detail && event.detail.resync) schedule(ALL);
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var fromForm = event.detail.elt && event.detail.elt.tagName === "FORM";
    // A session that ended answers with the login page: never paste that into the board.
    if (xhr.responseURL && xhr.responseURL.indexOf("/accounts/") !== -1) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      var status = document.getElementById("live-status");
      if (status) {
        status.setAttribute("data-state", "signed-out");
        status.textContent = "Signed out: reload the page to log in again";
      }
    } else if (fromForm && xhr.status === 400) {
      // A refused form comes back with its error message on it: show it.
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    } else if (!fromForm && xhr.status >= 400) {
      // A failed refresh keeps the parts as they are and tries again shortly.
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      failed = true;
    }
  });
})();
