// Live updates for the vcguard dashboard, without reloading the page.
// Pages read fine without it: they then refresh themselves (<noscript>).
// - The page listens to GET /live/events (server-sent events): a "live"
//   event carries the page's snapshot whenever it changed; an "end" event
//   says the session ended (then the page reloads, which shows the login
//   form) or that the stream's time is up (the browser reconnects).
//   Where EventSource is missing or the stream is refused, the page polls
//   GET /live.json instead.
// - Elements with data-live="NAME" show a counter (total, online, stale,
//   compliance, compliant, shown).
// - A table with data-live-devices is rebuilt from the snapshot's device
//   list (the page's own filter, order and page: the query string); with
//   data-bulk its rows keep their selection boxes, ticked as they were.
// - Elements with data-live-region and an id are made like the same
//   element of a fresh copy of the page (the overview's breakdowns, the
//   device page), changing only what differs.
// - Tables the server did not label for phones get the labels of their
//   header, so that they stack into cards at phone width.
// Nothing is written as HTML: text goes through textContent, and fresh page
// parts come from DOMParser, which runs no scripts.
(function () {
  "use strict";
  var POLL = 3000;

  function setText(name, value) {
    document.querySelectorAll('[data-live="' + name + '"]').forEach(function (el) {
      el.textContent = String(value);
    });
  }

  function node(tag, cls, text) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function ago(iso) {
    var t = Date.parse(iso);
    if (!t || t <= 0 || iso.indexOf("0001-") === 0) return "never";
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + "s ago";
    var m = Math.floor(s / 60);
    if (m < 60) return m + "m" + (s % 60) + "s ago";
    var h = Math.floor(m / 60);
    return h + "h" + (m % 60) + "m ago";
  }

  function statusCell(d) {
    if (d.revoked) return node("span", "revoked", "revoked");
    if (d.online) return node("span", "online", "online");
    if (d.stale) return node("span", "offline stale", "stale");
    return node("span", "offline", "offline");
  }

  function cell(tr, label, text) {
    var td = node("td", "", text);
    td.dataset.label = label;
    tr.appendChild(td);
    return td;
  }

  function deviceRow(d, bulk, checked) {
    var tr = node("tr", d.flagged ? "flagged" : "");
    tr.dataset.device = d.id;
    if (bulk) {
      var pick = node("td", "pick");
      var box = node("input");
      box.type = "checkbox";
      box.name = "id";
      box.value = d.id;
      box.checked = checked;
      box.setAttribute("aria-label", "Select " + d.hostname);
      pick.appendChild(box);
      tr.appendChild(pick);
    }
    var td = cell(tr, "Device");
    var a = node("a", "", d.hostname);
    a.href = "/devices/" + encodeURIComponent(d.id);
    td.appendChild(a);
    cell(tr, "OS", d.os + " " + d.os_version);
    cell(tr, "Group", d.group);
    cell(tr, "Status").appendChild(statusCell(d));
    cell(tr, "Last seen", ago(d.last_seen)).title = d.last_seen;
    cell(tr, "Policy", d.policy_version ? "v" + d.policy_version : "none");
    td = cell(tr, "Apps");
    var running = d.running || [];
    running.forEach(function (app) {
      var span = node("span", "app", app.name + " ");
      span.dataset.app = app.app_id;
      span.appendChild(node("span", "verdict verdict-" + app.verdict, app.verdict));
      td.appendChild(span);
      td.appendChild(document.createTextNode(" "));
    });
    if (!running.length) td.appendChild(node("span", "none", "none"));
    if (d.running_apps > running.length) td.appendChild(node("span", "more", "(" + d.running_apps + " instances)"));
    return tr;
  }

  function showDevices(live) {
    Object.keys(live.counters).forEach(function (k) { setText(k, live.counters[k]); });
    if (live.shown !== undefined) setText("shown", live.shown);
    if (!live.devices) return;
    document.querySelectorAll("table[data-live-devices]").forEach(function (table) {
      var bulk = table.hasAttribute("data-bulk");
      var ticked = {};
      table.querySelectorAll('tbody input[name="id"]:checked').forEach(function (b) { ticked[b.value] = true; });
      var rows = live.devices.map(function (d) { return deviceRow(d, bulk, !!ticked[d.id]); });
      var tbody = table.querySelector("tbody");
      tbody.replaceChildren.apply(tbody, rows);
    });
  }

  // The session ended or the server answered oddly: reload, which shows
  // the login page if that is where the session went.
  function gone(resp) {
    return resp.redirected || !resp.ok;
  }

  // morph makes the element a like b, changing only what differs: the
  // elements that stay keep their identity (focus, selection, a script's
  // hold on them); only what changed is replaced.
  function morph(a, b) {
    if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName) {
      a.replaceWith(document.importNode(b, true));
      return;
    }
    if (a.nodeType === Node.TEXT_NODE || a.nodeType === Node.COMMENT_NODE) {
      if (a.nodeValue !== b.nodeValue) a.nodeValue = b.nodeValue;
      return;
    }
    if (a.nodeType !== Node.ELEMENT_NODE) return;
    Array.prototype.slice.call(a.attributes).forEach(function (at) {
      if (!b.hasAttribute(at.name)) a.removeAttribute(at.name);
    });
    Array.prototype.forEach.call(b.attributes, function (at) {
      if (a.getAttribute(at.name) !== at.value) a.setAttribute(at.name, at.value);
    });
    var ac = Array.prototype.slice.call(a.childNodes);
    var bc = Array.prototype.slice.call(b.childNodes);
    bc.forEach(function (child, i) {
      if (i < ac.length) morph(ac[i], child); else a.appendChild(document.importNode(child, true));
    });
    for (var j = bc.length; j < ac.length; j++) a.removeChild(ac[j]);
  }

  function refreshRegions() {
    if (document.querySelector("[data-live-region][id]") === null) return Promise.resolve();
    return fetch(location.href, { credentials: "same-origin" })
      .then(function (resp) {
        if (gone(resp)) { location.reload(); return null; }
        return resp.text();
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live-region][id]").forEach(function (old) {
          var el = fresh.getElementById(old.id);
          if (el) morph(old, el);
        });
        labelTables();
      });
  }

  function pollJSON() {
    return fetch("/live.json" + location.search, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (gone(resp)) { location.reload(); return null; }
        return resp.json();
      })
      .then(function (live) { if (live) showDevices(live); });
  }

  // poll is the fallback without server-sent events.
  function poll(wantJSON) {
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      var work = [refreshRegions()];
      if (wantJSON) work.push(pollJSON());
      Promise.all(work).catch(function () { /* offline for a moment: try again */ })
        .then(function () { busy = false; });
    }, POLL);
  }

  // streamURL is the page's stream: the devices list with its query, the
  // overview, or one device.
  function streamURL() {
    var dev = document.querySelector("[data-device-id]");
    if (dev) return "/live/events?view=device&id=" + encodeURIComponent(dev.dataset.deviceId);
    if (document.querySelector("[data-live-overview]")) return "/live/events?view=overview";
    var q = location.search ? location.search.slice(1) + "&" : "";
    return "/live/events?" + q + "view=devices";
  }

  // REGIONS_GAP is the least time between two fetches of the page for its
  // live regions: a busy fleet changes every tick, and the overview's page
  // is the dearest to render.
  var REGIONS_GAP = 5000;

  function stream(wantJSON) {
    var es = new EventSource(streamURL(), { withCredentials: true });
    var last = 0, pending = null;
    function regions() {
      pending = null;
      last = Date.now();
      refreshRegions().catch(function () { /* the next change tries again */ });
    }
    es.addEventListener("live", function (ev) {
      var live;
      try { live = JSON.parse(ev.data); } catch (e) { return; }
      if (wantJSON) showDevices(live);
      if (document.querySelector("[data-live-region][id]") === null || pending !== null) return;
      pending = setTimeout(regions, Math.max(0, last + REGIONS_GAP - Date.now()));
    });
    es.addEventListener("end", function (ev) {
      if (ev.data === '"session"') { es.close(); location.reload(); }
      // "renew": the browser reconnects by itself.
    });
    es.onerror = function () {
      // Refused (a redirect to the login page, too many streams): poll,
      // which reloads the page when the session is gone.
      if (es.readyState === EventSource.CLOSED) poll(wantJSON);
    };
    window.addEventListener("pagehide", function () { es.close(); });
  }

  // labelTables gives the cells of a table without labels its header's
  // words, and lets it stack into cards at phone width.
  function labelTables() {
    document.querySelectorAll("main table").forEach(function (table) {
      if (table.classList.contains("stack") || table.querySelector("td[data-label]")) return;
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) return;
      var names = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
      var plain = true;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        if (tr.children.length !== names.length) plain = false;
      });
      if (!plain) return; // spanning cells: it scrolls in its box instead
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (td, i) {
          if (names[i]) td.dataset.label = names[i];
        });
      });
      table.classList.add("stack");
    });
  }

  function selectAll() {
    var all = document.getElementById("select-all");
    if (!all) return;
    all.hidden = false;
    all.addEventListener("change", function () {
      document.querySelectorAll('table[data-bulk] tbody input[name="id"]').forEach(function (b) { b.checked = all.checked; });
    });
  }

  function start() {
    labelTables();
    selectAll();
    var wantJSON = document.querySelector("[data-live], table[data-live-devices]") !== null;
    var wantRegions = document.querySelector("[data-live-region][id]") !== null;
    if (!wantJSON && !wantRegions) return;
    document.body.classList.add("live");
    if (window.EventSource) stream(wantJSON); else poll(wantJSON);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
