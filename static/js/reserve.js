// Reserve pages: keep the "time left" of every running clock current without reloading.
// The server renders the same text; this only moves it on each half minute. No inline scripts (CSP).
(function () {
  "use strict";

  function duration(ms) {
    var minutes = Math.max(0, Math.floor(ms / 60000));
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days >= 3) return days + " d " + hours + " h";
    hours += days * 24;
    return hours ? hours + " h " + mins + " min" : mins + " min";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (clock) {
      var due = Date.parse(clock.getAttribute("data-due"));
      var left = clock.querySelector(".time-left");
      if (isNaN(due) || !left) return;
      if (due < now) {
        left.textContent = "overdue by " + duration(now - due);
        clock.classList.add("clock-overdue");
      } else {
        left.textContent = duration(due - now) + " left";
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 30000);
  });
})();
