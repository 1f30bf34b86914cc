// The opening hall, live: one WebSocket per page (/ws/hall/<section>/?after=<last seq>), frames of
// events applied to the rows by their data attributes, reconnect with the last seq after a drop.
(function () {
  "use strict";
  var hall = document.getElementById("hall");
  if (!hall) { return; }
  var section = hall.dataset.section;
  var lastSeq = parseInt(hall.dataset.lastSeq || "0", 10);
  var labels = JSON.parse(document.getElementById("hall-labels").textContent);
  var connection = document.getElementById("hall-connection");
  var delay = 500;

  function label(code) { return labels[code] || code; }
  function text(el, value) { if (el) { el.textContent = value == null ? "" : String(value); } }

  function setConnection(state) {
    connection.dataset.state = state;
    text(connection, label(state === "open" ? "live" : "reconnecting"));
  }

  function applySession(session) {
    if (!session) { return; }
    var status = document.getElementById("hall-status");
    status.dataset.status = session.status;
    text(status, label(session.status));
    var end = document.getElementById("window-end");
    end.dataset.end = session.window_end || "";
    text(end, session.window_end || "—");
    text(document.getElementById("failure-reason"), session.failure_reason || "");
    if (session.coefficient) { text(document.getElementById("coefficient"), "K = " + session.coefficient); }
  }

  function rowFor(bid) {
    var body = document.getElementById("bidder-rows");
    var row = body.querySelector('tr[data-bidder="' + bid.uscc + '"]');
    if (!row) {
      row = document.createElement("tr");
      row.setAttribute("data-testid", "bidder-row");
      row.dataset.bidder = bid.uscc;
      row.dataset.bid = bid.bid_id;
      var name = document.createElement("td");
      text(name, bid.bidder + " " + bid.uscc);
      var status = document.createElement("td");
      status.className = "status";
      var reason = document.createElement("td");
      reason.className = "reason";
      row.append(name, status, reason);
      body.appendChild(row);
    }
    return row;
  }

  function applyBid(bid) {
    if (!bid || !bid.uscc) { return; }
    var row = rowFor(bid);
    if (bid.status) {
      row.dataset.status = bid.status;
      text(row.querySelector(".status"), label(bid.status));
    }
    text(row.querySelector(".reason"), [bid.classification || "", bid.reason_zh || ""].join(" ").trim());
    var own = document.getElementById("own-status");
    if (own && own.dataset.bidder === bid.uscc && bid.status) { text(own, label(bid.status)); }
  }

  function applyTable(rows) {
    var table = document.getElementById("opening-table");
    var body = table.querySelector("tbody");
    body.textContent = "";
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.dataset.bidder = r.uscc;
      var pm = r.project_manager ? r.project_manager.name : "—";
      [r.bidder, r.price || "—", r.duration_days || "—", r.quality || "—", pm, r.bond_reference || "—",
        label(r.status) + " " + (r.classification || "")].forEach(function (value, i) {
        var td = document.createElement("td");
        if (i === 1) { td.className = "mono"; }
        text(td, value);
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    table.hidden = false;
    var waiting = document.getElementById("table-waiting");
    if (waiting) { waiting.hidden = true; }
  }

  function applyObjection(o) {
    var list = document.getElementById("objection-list");
    var item = list.querySelector('li[data-objection="' + o.id + '"]');
    if (!item) {
      item = document.createElement("li");
      item.dataset.objection = o.id;
      var who = document.createElement("strong");
      text(who, o.bidder);
      var body = document.createElement("span");
      body.className = "text";
      text(body, o.text);
      var answer = document.createElement("div");
      answer.className = "answer";
      item.append(who, ": ", body, answer);
      var template = document.getElementById("answer-template");
      if (template && !o.answer) {
        var form = template.content.firstElementChild.cloneNode(true);
        form.querySelector('input[name="objection"]').value = o.id;
        item.appendChild(form);
      }
      list.appendChild(item);
    }
    item.dataset.status = o.status;
    if (o.answer) {
      text(item.querySelector(".answer"), label("answer") + ": " + o.answer);
      var open = item.querySelector("form");
      if (open) { open.remove(); }
    }
  }

  function objectionWindow(open, end) {
    var box = document.getElementById("objections");
    box.dataset.window = open ? "open" : "closed";
    text(document.getElementById("objection-window"),
      open ? label("objections_open") + " " + end : label("objections_closed"));
    var form = document.getElementById("raise-objection-form");
    if (form) { form.hidden = !open; }
  }

  function apply(event) {
    var p = event.payload || {};
    applySession(p.session);
    if (p.bid) { applyBid(p.bid); }
    (p.bids || []).forEach(applyBid);
    (p.bidders || []).forEach(applyBid);
    if (event.kind === "signed_in") { applyBid({uscc: p.uscc, bidder: p.bidder}); }
    if (event.kind === "read_out") { applyTable(p.table || []); }
    if (event.kind === "postponed") { text(document.getElementById("opening-at"), p.opening_at); }
    if (event.kind === "objections_opened") { objectionWindow(true, p.end); }
    if (event.kind === "objections_closed") { objectionWindow(false); }
    if (p.objection) { applyObjection(p.objection); }
  }

  function tick() {
    var end = document.getElementById("window-end").dataset.end;
    var status = document.getElementById("hall-status").dataset.status;
    var out = document.getElementById("countdown");
    if (!end || status !== "decrypting") { text(out, ""); return; }
    var left = Math.max(0, Math.floor((Date.parse(end) - Date.now()) / 1000));
    var m = Math.floor(left / 60), s = left % 60;
    text(out, m + ":" + (s < 10 ? "0" : "") + s);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/hall/" + section + "/?after=" + lastSeq);
    socket.onopen = function () { delay = 500; setConnection("open"); };
    // Each frame is an array of events in seq order (the replay, then a batch per delivery).
    socket.onmessage = function (message) {
      var events = JSON.parse(message.data);
      (Array.isArray(events) ? events : [events]).forEach(function (event) {
        if (event.seq <= lastSeq) { return; }
        lastSeq = event.seq;
        apply(event);
      });
      hall.dataset.lastSeq = String(lastSeq);
    };
    socket.onclose = function (closed) {
      if (closed.code === 4403) { setConnection("refused"); return; }
      setConnection("reconnecting");
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }

  connect();
  tick();
  window.setInterval(tick, 1000);
}());
