// The live event stream (/ws/events/, protocol: notes/ws-protocol.md), for any page that carries
// an element with data-live-path (and data-live-after: the newest event id when it was rendered).
//
// It keeps the id of the last event it saw and resumes after it on every (re)connect, so the
// server replays whatever happened meanwhile: nothing is missed, nothing is seen twice. It
// reconnects by itself with exponential backoff, shows its state in that element, and tells
// the page on `document`:
//   portal:event  detail = the event ({id, kind, created_at, subject_type, subject_id, actor, payload})
//   portal:live   detail = {state: "live" | "reconnecting" | "signed-out"}
//                 (plus resync: true when the resume point was refused and events may be missing)
(function () {
  "use strict";
  var status = document.querySelector("[data-live-path]");
  if (!status || !("WebSocket" in window)) return;

  var LABELS = {
    connecting: "Connecting…",
    live: "Live",
    reconnecting: "Reconnecting…",
    "signed-out": "Signed out: reload the page to log in again"
  };
  var PING_EVERY = 25000;   // ask the server for a pong this often…
  var PONG_WITHIN = 10000;  // …and give up on a connection that stays silent this long after
  var FIRST_DELAY = 500;
  var MAX_DELAY = 30000;

  var last = parseInt(status.getAttribute("data-live-after"), 10);
  if (isNaN(last) || last < 0) last = null;  // null: start from the newest event
  var state = "connecting";
  var socket = null;
  var attempts = 0;
  var retryTimer = null;
  var pingTimer = null;
  var silenceTimer = null;
  var resync = false;

  function setState(next) {
    if (state === next && !(next === "live" && resync)) return;
    state = next;
    status.setAttribute("data-state", next);
    status.textContent = LABELS[next];
    var detail = {state: next};
    if (next === "live" && resync) {
      detail.resync = true;
      resync = false;
    }
    document.dispatchEvent(new CustomEvent("portal:live", {detail: detail}));
  }

  function streamUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    var url = scheme + "//" + window.location.host + status.getAttribute("data-live-path");
    // In an exercise the page follows the exercise's own stream (data-live-exercise), never live work's.
    var exercise = status.getAttribute("data-live-exercise");
    var query = [];
    if (last !== null) { query.push("after=" + last); }
    if (exercise) { query.push("exercise=" + encodeURIComponent(exercise)); }
    return query.length ? url + "?" + query.join("&") : url;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (socket) return;
    try {
      socket = new WebSocket(streamUrl());
    } catch (error) {
      socket = null;
      retry();
      return;
    }
    socket.onopen = heartbeat;
    socket.onmessage = onMessage;
    socket.onclose = onClose;  // an error is always followed by a close
  }

  function heartbeat() {
    clearTimeout(silenceTimer);
    clearTimeout(pingTimer);
    pingTimer = setTimeout(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({type: "ping"}));
      silenceTimer = setTimeout(dropSilent, PONG_WITHIN);
    }, PING_EVERY);
  }

  function dropSilent() {
    // A half-open connection may never fire "close": stop listening to it and start again.
    var dead = socket;
    if (!dead) return;
    dead.onopen = dead.onmessage = dead.onclose = null;
    dead.close();
    onClose({code: 1006});
  }

  function onMessage(message) {
    heartbeat();  // any frame proves the connection is alive
    var data;
    try {
      data = JSON.parse(message.data);
    } catch (error) {
      return;
    }
    if (data.type === "event" && data.event && typeof data.event.id === "number") {
      if (last !== null && data.event.id <= last) return;  // at most once, even across reconnects
      advance(data.event.id);
      document.dispatchEvent(new CustomEvent("portal:event", {detail: data.event}));
    } else if (data.type === "caught_up") {
      if (typeof data.after === "number") advance(data.after);
      attempts = 0;
      setState("live");
    }
    // "pong" only keeps the heartbeat going; "error" is followed by the close that says what to do.
  }

  function advance(id) {
    if (last === null || id > last) {
      last = id;
      status.setAttribute("data-last-event", String(id));
    }
  }

  function onClose(event) {
    clearTimeout(pingTimer);
    clearTimeout(silenceTimer);
    socket = null;
    if (event.code === 4401 || event.code === 4403) {  // the session ended or may not read events
      setState("signed-out");
      return;
    }
    if (event.code === 4400) {  // the resume point was refused: start from now, and say the page must reload its data
      last = null;
      resync = true;
    }
    setState("reconnecting");
    retry(event.code === 4408 ? 0 : null);  // too slow a reader: catch up from the log at once
  }

  function retry(delay) {
    if (retryTimer) return;
    if (delay == null) {
      var ceiling = Math.min(MAX_DELAY, FIRST_DELAY * Math.pow(2, attempts));
      delay = ceiling / 2 + Math.random() * ceiling / 2;  // jitter: not every page of the network at once
    }
    attempts += 1;
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () {
    if (state === "reconnecting" && !socket) connect();
  });
  status.setAttribute("data-state", state);
  status.textContent = LABELS[state];
  connect();
})();
