// Live updates for the vcguard dashboard, without reloading the page.
// Pages read fine without it: they then refresh themselves (<noscript>).
// - Elements with data-live="NAME" show a counter of GET /live.json
//   (total, online, stale, compliance, compliant, shown).
// - A table with data-live-devices is rebuilt from its device list, with
//   the page's own filter and page (the query string): one bounded page.
// - Elements with data-live-region and an id are replaced by the same
//   element of a fresh copy of the page (the device detail page).
// Nothing is written as HTML: text goes through textContent, and fresh page
// parts come from DOMParser, which runs no scripts.
(function () {
  "use strict";
  var INTERVAL = 3000;

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

  function deviceRow(d) {
    var tr = node("tr");
    tr.dataset.device = d.id;
    var td = node("td");
    var a = node("a", "", d.hostname);
    a.href = "/devices/" + encodeURIComponent(d.id);
    td.appendChild(a);
    tr.appendChild(td);
    tr.appendChild(node("td", "", d.os + " " + d.os_version));
    tr.appendChild(node("td", "", d.group));
    td = node("td");
    td.appendChild(statusCell(d));
    tr.appendChild(td);
    td = node("td", "", ago(d.last_seen));
    td.title = d.last_seen;
    tr.appendChild(td);
    tr.appendChild(node("td", "", d.policy_version ? "v" + d.policy_version : "none"));
    td = node("td");
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
    tr.appendChild(td);
    return tr;
  }

  // The session ended or the server answered oddly: reload, which shows
  // the login page if that is where the session went.
  function gone(resp) {
    return resp.redirected || !resp.ok;
  }

  function pollJSON() {
    return fetch("/live.json" + location.search, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (gone(resp)) { location.reload(); return null; }
        return resp.json();
      })
      .then(function (live) {
        if (!live) return;
        Object.keys(live.counters).forEach(function (k) { setText(k, live.counters[k]); });
        setText("shown", live.shown);
        document.querySelectorAll("table[data-live-devices] tbody").forEach(function (tbody) {
          var rows = live.devices.map(deviceRow);
          tbody.replaceChildren.apply(tbody, rows);
        });
      });
  }

  function pollRegions() {
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
          if (el) old.replaceWith(document.importNode(el, true));
        });
      });
  }

  function start() {
    var wantJSON = document.querySelector("[data-live], table[data-live-devices]") !== null;
    var wantRegions = document.querySelector("[data-live-region][id]") !== null;
    if (!wantJSON && !wantRegions) return;
    document.body.classList.add("live");
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      var work = [];
      if (wantJSON) work.push(pollJSON());
      if (wantRegions) work.push(pollRegions());
      Promise.all(work).catch(function () { /* offline for a moment: try again */ })
        .then(function () { busy = false; });
    }, INTERVAL);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
