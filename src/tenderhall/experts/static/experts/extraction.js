// An extraction request, live: one WebSocket per page (/ws/extraction/<id>/?have=<version>), each
// push replaces the page's live fragment with what this user may see (rendered by the server for
// this user's role), reconnect with the last version after a drop (nothing is resent, or logged,
// when nothing changed meanwhile).
(function () {
  "use strict";
  var root = document.getElementById("extraction-live");
  if (!root || !window.WebSocket) { return; }
  var labels = JSON.parse(document.getElementById("extraction-labels").textContent);
  var connection = document.getElementById("extraction-connection");
  var decide = document.getElementById("extraction-decide");
  var delay = 500;

  function setConnection(state) {
    connection.dataset.state = state;
    connection.textContent = labels[state] || state;
  }

  function apply(message) {
    root.innerHTML = message.html;
    root.dataset.version = message.version;
    if (decide && message.data) {
      decide.hidden = !(message.data.status === "complete" || message.data.status === "evaluating");
    }
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + window.location.host + "/ws/extraction/" + root.dataset.request + "/?have=" +
      encodeURIComponent(root.dataset.version || "") + "&lang=" + encodeURIComponent(root.dataset.lang || "");
    var socket = new WebSocket(url);
    socket.onopen = function () { delay = 500; setConnection("live"); };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.kind === "state") { apply(message); }
    };
    socket.onclose = function (closed) {
      if (closed.code === 4403) { setConnection("refused"); return; }
      setConnection("reconnecting");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  connect();
}());
