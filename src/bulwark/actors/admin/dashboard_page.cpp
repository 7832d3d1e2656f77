// The dashboard page (see dashboard_page.hpp). The HTML is kept here as raw
// string pieces so it can be read and edited as HTML; pieces stay under the
// 4095 characters ISO C++ requires compilers to support in one literal
// (-Woverlength-strings), and are joined once at first use.
#include "bulwark/actors/admin/dashboard_page.hpp"

#include <string>

namespace bulwark {

namespace {

// clang-format off
const char* const page_pieces[] = {
R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bulwark dashboard</title>
<style>
  :root { --bg:#0f1419; --card:#1a2129; --fg:#d8dee6; --dim:#8a96a3;
          --ok:#3fb950; --warn:#d29922; --bad:#f85149; --line:#58a6ff; --line2:#d2a8ff; }
  * { box-sizing: border-box; }
  body { margin:0; padding:16px; background:var(--bg); color:var(--fg);
         font:13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display:flex; align-items:baseline; gap:16px; margin-bottom:12px; }
  h1 { font-size:18px; margin:0; }
  #status { color:var(--dim); }
  #status.error { color:var(--bad); }
  h2 { font-size:14px; color:var(--dim); margin:16px 0 8px; text-transform:uppercase; letter-spacing:.05em; }
  .grid { display:grid; grid-template-columns:repeat(auto-fill, minmax(380px, 1fr)); gap:12px; }
  .card { background:var(--card); border-radius:8px; padding:12px; }
  .card h3 { margin:0 0 8px; font-size:15px; display:flex; justify-content:space-between; }
  .badge { font-size:11px; padding:2px 8px; border-radius:10px; background:#30363d; }
  .badge.closed, .badge.all-healthy { background:#1f4d2b; color:var(--ok); }
  .badge.open, .badge.forced_open, .badge.degraded { background:#5a1e1e; color:var(--bad); }
  .badge.half_open, .badge.disabled { background:#4d3b12; color:var(--warn); }
  table.kv { width:100%; border-collapse:collapse; margin-bottom:6px; }
  table.kv td { padding:1px 4px; }
  table.kv td.v { text-align:right; font-variant-numeric:tabular-nums; }
  .charts { display:grid; grid-template-columns:1fr 1fr; gap:8px; }
  .chart { background:#11161c; border-radius:4px; padding:4px; }
  .chart .t { color:var(--dim); font-size:11px; display:flex; justify-content:space-between; }
  svg { width:100%; height:60px; display:block; }
  .empty { color:var(--dim); }
</style>
</head>
<body data-scrapes="0">
<header>
  <h1>bulwark</h1>
  <span id="status">loading /metrics&hellip;</span>
</header>
<h2>Dependencies</h2>
<div class="grid" id="dependencies"><div class="empty">none yet</div></div>
<h2>Supervisors</h2>
<div class="grid" id="supervisors"><div class="empty">none yet</div></div>
<h2>HTTP services</h2>
<div class="grid" id="services"><div class="empty">none yet</div></div>
<h2>Restarted by the host</h2>
<div id="host-actors"><div class="empty">none yet</div></div>
<script>
(function () {
"use strict";
// Everything comes from /metrics on this same origin; nothing else is fetched.
var POLL_MS = 1500, KEEP = 120;
var series = {};   // "kind/name" -> {prev: sample map, points: []}
var scrapes = 0;

// Parses Prometheus text format 0.0.4 into [{name, labels, value}].
function parseMetrics(text) {
  var out = [];
  text.split("\n").forEach(function (line) {
    if (!line || line.charAt(0) === "#") return;
    var name, labels = {}, rest;
    var brace = line.indexOf("{");
    var space = line.indexOf(" ");
    if (brace >= 0 && brace < space) {
      name = line.slice(0, brace);
      var i = brace + 1;
      while (i < line.length && line.charAt(i) !== "}") {
        var eq = line.indexOf("=", i);
        var key = line.slice(i, eq).replace(/^,/, "");
        var j = eq + 2, val = "";
        while (j < line.length && line.charAt(j) !== '"') {
          if (line.charAt(j) === "\\") {
            j++;
            var c = line.charAt(j);
            val += c === "n" ? "\n" : c;
          } else {
            val += line.charAt(j);
          }
          j++;
        }
        labels[key] = val;
        i = j + 1;
        if (line.charAt(i) === ",") i++;
      }
      rest = line.slice(i + 1).trim();
    } else {
)page",
R"page(      name = line.slice(0, space);
      rest = line.slice(space + 1).trim();
    }
    var v = rest.split(" ")[0];
    out.push({ name: name, labels: labels,
               value: v === "+Inf" ? Infinity : v === "-Inf" ? -Infinity : parseFloat(v) });
  });
  return out;
}

// Groups samples by component: {"dependency/payments": {kind, name, samples}}.
function byComponent(samples) {
  var comps = {};
  samples.forEach(function (s) {
    var kind = s.labels.dependency !== undefined ? "dependency"
             : s.labels.supervisor !== undefined ? "supervisor"
             : s.labels.service !== undefined ? "service"
             : s.labels.actor !== undefined ? "actor" : null;
    if (!kind) return;
    var name = s.labels[kind];
    // An actor of the host is named by its kind too (a transport and a
    // dependency share a name).
    if (kind === "actor") name = (s.labels.kind || "?") + " " + name;
    var id = kind + "/" + name;
    if (!comps[id]) comps[id] = { kind: kind, name: name, samples: [] };
    comps[id].samples.push(s);
  });
  return comps;
}

function sum(samples, name, pred) {
  var t = 0;
  samples.forEach(function (s) {
    if (s.name === name && (!pred || pred(s.labels))) t += s.value;
  });
  return t;
}

// Cumulative buckets [[le, count]] of a histogram, sorted by le.
function buckets(samples, name) {
  var b = [];
  samples.forEach(function (s) {
    if (s.name === name + "_bucket")
      b.push([s.labels.le === "+Inf" ? Infinity : parseFloat(s.labels.le), s.value]);
  });
  b.sort(function (x, y) { return x[0] - y[0]; });
  return b;
}

// Quantile q of cumulative buckets, interpolated linearly inside a bucket
// (as Prometheus's histogram_quantile does). NaN without observations.
function quantile(q, b) {
  if (!b.length) return NaN;
  var total = b[b.length - 1][1];
  if (total <= 0) return NaN;
  var rank = q * total, lo = 0, below = 0;
  for (var i = 0; i < b.length; i++) {
    if (b[i][1] >= rank) {
      if (b[i][0] === Infinity) return lo;
      var inBucket = b[i][1] - below;
      return inBucket > 0 ? lo + (b[i][0] - lo) * (rank - below) / inBucket : b[i][0];
    }
    lo = b[i][0];
    below = b[i][1];
  }
  return lo;
}

function diffBuckets(now, prev) {
  if (!prev || prev.length !== now.length) return now;
  return now.map(function (x, i) { return [x[0], x[1] - prev[i][1]]; });
}

// The numbers of one component from its samples (totals are cumulative).
function totals(c) {
  var s = c.samples;
  var state = "";
  s.forEach(function (x) {
    if (x.name === "bulwark_breaker_state" && x.value === 1) state = x.labels.state;
  });
  var members = {};
  s.forEach(function (x) { if (x.name === "bulwark_members") members[x.labels.state] = x.value; });
  return {
    requests: sum(s, "bulwark_requests_total"),
    ok: sum(s, "bulwark_replies_total", function (l) { return l.outcome === "ok"; }),
    failed: sum(s, "bulwark_replies_total", function (l) { return l.outcome === "failed"; }),
    degraded: sum(s, "bulwark_replies_total", function (l) {
      return l.outcome === "ok" && l.source !== "live" && l.source !== "fresh_cache"; }),
    retries: sum(s, "bulwark_retries_total") + sum(s, "bulwark_failovers_total"),
    hedges: sum(s, "bulwark_hedges_total"),
    fallbacks: sum(s, "bulwark_fallbacks_total"),
    rejected: sum(s, "bulwark_rejected_total"),
    inFlight: sum(s, "bulwark_in_flight"),
    buckets: buckets(s, "bulwark_request_duration_seconds"),
    breaker: state,
    probePaused: sum(s, "bulwark_probe_paused") > 0,
    members: members
  };
}

function fmtRate(x) { return isFinite(x) ? x.toFixed(x < 10 ? 2 : 1) + "/s" : "\u2014"; }
function fmtPct(x) { return isFinite(x) ? (100 * x).toFixed(2) + "%" : "\u2014"; }
function fmtDur(x) {
  if (!isFinite(x)) return "\u2014";
)page",
R"page(  return x < 1 ? (1000 * x).toFixed(x < 0.01 ? 2 : 1) + " ms" : x.toFixed(2) + " s";
}

// A small line chart of `values` (NaN gaps skipped) as an SVG element.
function chart(values, color) {
  var w = 180, h = 60, pad = 2;
  var finite = values.filter(isFinite);
  var max = finite.length ? Math.max.apply(null, finite) : 0;
  if (max <= 0) max = 1;
  var pts = [];
  for (var i = 0; i < values.length; i++) {
    if (!isFinite(values[i])) continue;
    var x = pad + (w - 2 * pad) * (KEEP > 1 ? (i + KEEP - values.length) / (KEEP - 1) : 0);
    var y = h - pad - (h - 2 * pad) * values[i] / max;
    pts.push(x.toFixed(1) + "," + y.toFixed(1));
  }
  var ns = "http://www.w3.org/2000/svg";
  var svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 " + w + " " + h);
  svg.setAttribute("preserveAspectRatio", "none");
  var base = document.createElementNS(ns, "line");
  base.setAttribute("x1", 0); base.setAttribute("x2", w);
  base.setAttribute("y1", h - pad); base.setAttribute("y2", h - pad);
  base.setAttribute("stroke", "#30363d");
  svg.appendChild(base);
  var line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", pts.join(" "));
  line.setAttribute("fill", "none");
  line.setAttribute("stroke", color);
  line.setAttribute("stroke-width", "1.5");
  line.setAttribute("vector-effect", "non-scaling-stroke");
  svg.appendChild(line);
  return svg;
}

function chartBox(title, latest, values, color) {
  var box = document.createElement("div");
  box.className = "chart";
  var t = document.createElement("div");
  t.className = "t";
  t.innerHTML = "<span></span><span></span>";
  t.children[0].textContent = title;
  t.children[1].textContent = latest;
  box.appendChild(t);
  box.appendChild(chart(values, color));
  return box;
}

function row(table, key, value, attr) {
  var tr = document.createElement("tr");
  var k = document.createElement("td");
  k.textContent = key;
  var v = document.createElement("td");
  v.className = "v";
  v.textContent = value;
  if (attr) v.setAttribute("data-field", attr);
  tr.appendChild(k);
  tr.appendChild(v);
  table.appendChild(tr);
}

// A card's frame: its data attributes (kind, name, then `attrs` pairs, in
// this fixed order: tests read them from the DOM) and its title line, with
// `badge` after the name when there is one.
function cardFrame(c, attrs, badge) {
  var el = document.createElement("div");
  el.className = "card";
  el.setAttribute("data-kind", c.kind);
  el.setAttribute("data-name", c.name);
  attrs.forEach(function (a) { el.setAttribute(a[0], a[1]); });
  var head = document.createElement("h3");
  var title = document.createElement("span");
  title.textContent = c.name;
  head.appendChild(title);
  if (badge) head.appendChild(badge);
  el.appendChild(head);
  return el;
}

// Builds the card of one component from its point history.
function card(c, h) {
  var p = h.points[h.points.length - 1];
  var badge = document.createElement("span");
  if (c.kind === "dependency") {
    badge.className = "badge " + (p.t.breaker || "unknown");
    // A health probe's pause shows as its reason (docs/configuration/probe.md).
    badge.textContent = "breaker " + (p.t.breaker || "?") +
      (p.t.probePaused ? " (paused by probe)" : "");
  } else {
    var m = p.t.members, healthy = m.healthy || 0, running = m.running || 0;
    var all = healthy + (m.ejected || 0) + (m.probing || 0);
    badge.className = "badge " + (healthy === all && running === all ? "all-healthy" : "degraded");
    badge.textContent = healthy + "/" + all + " healthy, " + running + " up";
  }
  badge.setAttribute("data-field", c.kind === "dependency" ? "breaker" : "members");
  var el = cardFrame(c, [["data-requests-total", String(p.t.requests)],
                         ["data-replies-ok-total", String(p.t.ok)],
                         ["data-replies-failed-total", String(p.t.failed)]], badge);
)page",
R"page(  var table = document.createElement("table");
  table.className = "kv";
  row(table, "requests (total)", String(p.t.requests), "requests");
  row(table, "request rate", fmtRate(p.rate), "rate");
  row(table, "success ratio", fmtPct(p.success), "success");
  row(table, c.kind === "dependency" ? "retry rate" : "retry + failover rate", fmtRate(p.retryRate), "retry-rate");
  row(table, "hedge rate", fmtRate(p.hedgeRate), "hedge-rate");
  row(table, "fallback rate", fmtRate(p.fallbackRate), "fallback-rate");
  row(table, "in flight", String(p.t.inFlight), "in-flight");
  row(table, "latency p50 / p99", fmtDur(p.p50) + " / " + fmtDur(p.p99), "latency");
  objectiveRows(table, c);
  progressiveRows(table, c);
  el.appendChild(table);
  var charts = document.createElement("div");
  charts.className = "charts";
  var pick = function (k) { return h.points.map(function (x) { return x[k]; }); };
  charts.appendChild(chartBox("requests/s", fmtRate(p.rate), pick("rate"), "#58a6ff"));
  charts.appendChild(chartBox("success", fmtPct(p.success), pick("success"), "#3fb950"));
  charts.appendChild(chartBox("retries/s", fmtRate(p.retryRate), pick("retryRate"), "#d29922"));
  charts.appendChild(chartBox("p99 latency", fmtDur(p.p99), pick("p99"), "#d2a8ff"));
  el.appendChild(charts);
  return el;
}

// An HTTP service's totals (bulwark_http_service_*).
function serviceTotals(c) {
  var t = { requests: 0, dispatched: 0, rejected: 0, errors: 0, inFlight: 0,
            executed: 0, duplicates: 0, shed: 0, queued: 0 };
  c.samples.forEach(function (x) {
    var n = x.name;
    if (n === "bulwark_http_service_requests_total") t.requests = x.value;
    else if (n === "bulwark_http_service_dispatched_total") t.dispatched = x.value;
    else if (n === "bulwark_http_service_rejected_total") t.rejected += x.value;
    else if (n === "bulwark_http_service_errors_total") t.errors += x.value;
    else if (n === "bulwark_http_service_in_flight") t.inFlight = x.value;
    else if (n === "bulwark_http_service_shed_total") t.shed += x.value;
    else if (n === "bulwark_http_service_queued") t.queued = x.value;
    else if (n === "bulwark_http_service_ledger_total" && x.labels.verdict === "executed") t.executed = x.value;
    else if (n === "bulwark_http_service_ledger_total" && x.labels.verdict === "duplicate") t.duplicates = x.value;
  });
  return t;
}

function serviceCard(c, h) {
  var p = h.points[h.points.length - 1];
  var el = cardFrame(c, [["data-requests-total", String(p.t.requests)]], null);
  var table = document.createElement("table");
  table.className = "kv";
  row(table, "requests (total)", String(p.t.requests), "requests");
  row(table, "request rate", fmtRate(p.rate), "rate");
  row(table, "answered by the service (4xx/503/504)", String(p.t.rejected), "rejected");
  row(table, "route errors", String(p.t.errors), "errors");
  row(table, "in flight / queued", p.t.inFlight + " / " + p.t.queued, "in-flight");
  row(table, "shed by overload control", String(p.t.shed), "shed");
  row(table, "ledger executed / duplicates", p.t.executed + " / " + p.t.duplicates, "ledger");
  objectiveRows(table, c);
  el.appendChild(table);
  var charts = document.createElement("div");
  charts.className = "charts";
  charts.appendChild(chartBox("requests/s", fmtRate(p.rate),
    h.points.map(function (x) { return x.rate; }), "#58a6ff"));
  el.appendChild(charts);
  return el;
}

)page",
R"page(// A component's objectives (bulwark_objective_*, docs/objectives.md), one
// row each when tracked: target, the 5 m and 1 h burn rates, and which alert
// pair burns: page (1 h and 5 m above 14.4, or 6 h and 30 m above 6), ticket
// (1 d and 2 h above 3, or 3 d and 6 h above 1), or ok.
function objectiveRows(table, c) {
  var o = { availability: { target: 0, burn: {} }, latency: { target: 0, burn: {} } };
  var threshold = 0;
  c.samples.forEach(function (x) {
    var k = o[x.labels.objective];
    if (x.name === "bulwark_objective_latency_threshold_seconds") threshold = x.value;
    else if (!k) return;
    else if (x.name === "bulwark_objective_target_ratio") k.target = x.value;
    else if (x.name === "bulwark_objective_burn_rate") k.burn[x.labels.window] = x.value;
  });
  ["availability", "latency"].forEach(function (name) {
    var k = o[name], b = k.burn;
    if (!(k.target > 0)) return;
    var both = function (l, s, f) { return b[l] > f && b[s] > f; };
    var state = both("1h", "5m", 14.4) || both("6h", "30m", 6) ? "page"
              : both("1d", "2h", 3) || both("3d", "6h", 1) ? "ticket" : "ok";
    var title = name === "availability" ? "availability " + fmtPct(k.target)
              : "latency \u2264 " + fmtDur(threshold) + " for " + fmtPct(k.target);
    row(table, title, "burn " + (b["5m"] || 0).toFixed(2) + " (5 m), " +
        (b["1h"] || 0).toFixed(2) + " (1 h): " + state, "objective-" + name);
  });
}

)page",
R"page(// Progressive delivery (docs/dependency.md, "Progressive calls"), one row
// once a progressive call waited for its soft deadline: a dependency's
// preliminary replies, how many finals changed them and the time from a
// preliminary to its final; a supervisor's preliminary answers passed on.
function progressiveRows(table, c) {
  var s = c.samples;
  if (c.kind === "dependency") {
    var calls = sum(s, "bulwark_progressive_calls_total");
    if (!(calls > 0)) return;
    var kind = function (k) {
      return sum(s, "bulwark_progressive_replies_total", function (l) { return l.kind === k; });
    };
    var prelim = kind("preliminary"), changed = kind("contradicted");
    var toFinal = quantile(0.99, buckets(s, "bulwark_preliminary_to_final_seconds"));
    row(table, "progressive", prelim + " preliminary of " + calls + " calls, " +
        changed + " changed by the final (" + fmtPct(prelim > 0 ? changed / prelim : NaN) +
        "), final p99 " + fmtDur(toFinal) + " later", "progressive");
  } else if (c.kind === "supervisor") {
    var fwd = sum(s, "bulwark_supervisor_preliminary_replies_total");
    if (fwd > 0) row(table, "progressive", fwd + " preliminary answers passed on", "progressive");
  }
}

)page",
R"page(// The actors a service host restarts itself: one line each; the host gave
// up on the red ones.
function hostActors(list) {
  var box = document.getElementById("host-actors");
  while (box.firstChild) box.removeChild(box.firstChild);
  var table = document.createElement("table");
  table.className = "kv";
  list.forEach(function (c) {
    var crashes = 0, restarts = 0, gaveUp = 0;
    c.samples.forEach(function (x) {
      if (x.name === "bulwark_host_crashes_total") crashes = x.value;
      else if (x.name === "bulwark_host_restarts_total") restarts = x.value;
      else if (x.name === "bulwark_host_given_up") gaveUp = x.value;
    });
    row(table, c.name, (gaveUp ? "GAVE UP after " : "") + crashes + " crashes, "
        + restarts + " restarts", gaveUp ? "gave-up" : "host-actor");
  });
  if (!list.length) {
    var e = document.createElement("div");
    e.className = "empty";
    e.textContent = "none";
    box.appendChild(e);
    return;
  }
  box.appendChild(table);
}

)page",
R"page(// Adds point(t, prev, dt) to component `id`'s history (prev: the totals of
// the previous scrape, null on the first; dt: seconds since it) and returns
// the history.
function remember(id, t, when, point) {
  var h = series[id] || (series[id] = { prev: null, when: 0, points: [] });
  h.points.push(point(t, h.prev, h.prev ? (when - h.when) / 1000 : 0));
  if (h.points.length > KEEP) h.points.shift();
  h.prev = t;
  h.when = when;
  return h;
}

function servicePoint(t, prev, dt) {
  var p = { t: t, rate: NaN };
  if (prev && dt > 0) p.rate = Math.max(0, t.requests - prev.requests) / dt;
  return p;
}

// A dependency's or supervisor's point: rates over the time since the last
// scrape; percentiles over the observations since then, or all of them on
// the first scrape or when nothing new arrived.
function componentPoint(t, prev, dt) {
  var p = { t: t, rate: NaN, success: NaN, retryRate: NaN, hedgeRate: NaN,
            fallbackRate: NaN, p50: NaN, p99: NaN };
  var win = t.buckets;
  var replies = t.ok + t.failed;
  var okShare = replies > 0 ? t.ok / replies : NaN;
  if (prev) {
    if (dt > 0) {
      p.rate = Math.max(0, t.requests - prev.requests) / dt;
      p.retryRate = Math.max(0, t.retries - prev.retries) / dt;
      p.hedgeRate = Math.max(0, t.hedges - prev.hedges) / dt;
      p.fallbackRate = Math.max(0, t.fallbacks - prev.fallbacks) / dt;
    }
    var dr = (t.ok + t.failed) - (prev.ok + prev.failed);
    if (dr > 0) okShare = (t.ok - prev.ok) / dr;
    var d = diffBuckets(t.buckets, prev.buckets);
    if (d.length && d[d.length - 1][1] > 0) win = d;
  }
  p.success = okShare;
  p.p50 = quantile(0.5, win);
  p.p99 = quantile(0.99, win);
  return p;
}

// One scrape: a new point per component, its card redrawn.
function update(text, when) {
  var comps = byComponent(parseMetrics(text));
  var lists = { dependency: [], supervisor: [], service: [] };
  var actors = [];
  Object.keys(comps).sort().forEach(function (id) {
    var c = comps[id];
    if (c.kind === "actor") {
      actors.push(c);
    } else if (c.kind === "service") {
      lists.service.push(serviceCard(c, remember(id, serviceTotals(c), when, servicePoint)));
    } else {
      lists[c.kind].push(card(c, remember(id, totals(c), when, componentPoint)));
    }
  });
  hostActors(actors);
  ["dependency", "supervisor", "service"].forEach(function (kind) {
    var box = document.getElementById(kind === "dependency" ? "dependencies"
                                      : kind === "supervisor" ? "supervisors" : "services");
    while (box.firstChild) box.removeChild(box.firstChild);
    if (!lists[kind].length) {
      var e = document.createElement("div");
      e.className = "empty";
      e.textContent = "none";
      box.appendChild(e);
    }
    lists[kind].forEach(function (el) { box.appendChild(el); });
  });
}

function poll() {
  var xhr = new XMLHttpRequest();
  xhr.open("GET", "/metrics");
  xhr.onload = function () {
    var status = document.getElementById("status");
    if (xhr.status === 200) {
      try {
)page",
R"page(        update(xhr.responseText, Date.now());
        scrapes++;
        document.body.setAttribute("data-scrapes", String(scrapes));
        status.className = "";
        status.textContent = "updated " + new Date().toLocaleTimeString() + " \u00b7 every " + (POLL_MS / 1000) + " s";
      } catch (e) {
        status.className = "error";
        status.textContent = "could not read /metrics: " + e;
      }
    } else {
      status.className = "error";
      status.textContent = "/metrics answered " + xhr.status;
    }
    setTimeout(poll, POLL_MS);
  };
  xhr.onerror = function () {
    var status = document.getElementById("status");
    status.className = "error";
    status.textContent = "/metrics unreachable; retrying";
    setTimeout(poll, POLL_MS);
  };
  xhr.send();
}
poll();
})();
</script>
)page",
R"page(<h2>Trace</h2>
<style>
  #trace-form input { width:24em; background:#11161c; color:var(--fg); border:1px solid #30363d; border-radius:4px; padding:3px 6px; font-family:monospace; }
  #trace-form button { background:#30363d; color:var(--fg); border:0; border-radius:4px; padding:4px 10px; }
  #trace-status { color:var(--dim); margin:6px 0; }
  #trace-status.error { color:var(--bad); }
  #trace-tree div { white-space:pre; font:12px/1.5 monospace; }
  #trace-tree .flagged { color:var(--warn); }
  #trace-tree .bad { color:var(--bad); }
</style>
<div class="card" id="trace-panel">
  <form id="trace-form"><input id="trace-id" maxlength="32" autocomplete="off" spellcheck="false"
    placeholder="trace id: 32 lowercase hex digits"> <button type="submit">assemble</button></form>
  <div id="trace-status">this server and its trace peers are asked for the spans of the trace</div>
  <div id="trace-tree" data-trace-nodes="0"></div>
</div>
)page",
R"page(<script>
(function () {
"use strict";
// GET /traces/<id>/tree, drawn as an indented tree; every value goes in as
// text (textContent), never as markup: spans come from other processes.
var input = document.getElementById("trace-id");
var status = document.getElementById("trace-status");
var out = document.getElementById("trace-tree");
var count = 0;
function line(depth, text, cls) {
  var d = document.createElement("div");
  d.className = cls;
  d.textContent = new Array(depth * 2 + 1).join(" ") + text;
  out.appendChild(d);
}
function outcome(a) {
  if (!a.ended) return "no answer recorded";
  return (a.success ? "ok" : String(a["class"])) + (a.status ? " (HTTP " + a.status + ")" : "") +
         " after " + a.latency_us + " us";
}
function node(n, depth) {
  if (depth > 64) return;
  count++;
  var flags = [];
  if (n.retried) flags.push("retried");
  if (n.hedged) flags.push("hedged");
  if (n.fell_back) flags.push("fell back" + (n.fallback_source ? " (" + n.fallback_source + ")" : ""));
  line(depth, "[" + n.process + "] " + n.dependency + (n.operation ? " \"" + n.operation + "\"" : "") +
       " span " + n.span_id + ": " + n.attempts + (n.attempts === 1 ? " attempt" : " attempts") +
       (flags.length ? ", " + flags.join(", ") : "") + " -> " + n.result,
       "call" + (flags.length ? " flagged" : ""));
  (n.tries || []).forEach(function (a) {
    line(depth + 1, (a.hedge ? "hedge " : "attempt ") + a.attempt + " span " + a.span_id + ": " + outcome(a),
         "try" + (a.ended && !a.success ? " bad" : ""));
    (a.calls || []).forEach(function (c) { node(c, depth + 2); });
  });
}
function fail(text) {
  status.className = "error";
  status.textContent = text;
}
function load(id) {
  out.textContent = "";
  count = 0;
  out.setAttribute("data-trace-nodes", "0");
  if (!/^[0-9a-f]{32}$/.test(id)) return fail("a trace id is 32 lowercase hex digits");
  status.className = "";
  status.textContent = "assembling\u2026";
  var xhr = new XMLHttpRequest();
  xhr.open("GET", "/traces/" + id + "/tree");
  xhr.onload = function () {
    if (xhr.status !== 200) return fail("/traces/" + id + "/tree answered " + xhr.status);
    var t;
    try { t = JSON.parse(xhr.responseText); } catch (e) { return fail("the tree is not JSON: " + e); }
    (t.roots || []).forEach(function (n) { node(n, 0); });
    out.setAttribute("data-trace-nodes", String(count));
    var un = Object.keys(t.unavailable || {});
    status.className = un.length ? "error" : "";
    status.textContent = "trace " + id + ": " + count + (count === 1 ? " call" : " calls") +
      (un.length ? "; unavailable: " + un.map(function (k) { return k + " (" + t.unavailable[k] + ")"; }).join(", ") : "");
  };
  xhr.onerror = function () { fail("/traces/" + id + "/tree unreachable"); };
  xhr.send();
}
document.getElementById("trace-form").addEventListener("submit", function (e) {
  e.preventDefault();
  var id = input.value.trim();
  location.hash = "trace=" + id;
  load(id);
});
// /dashboard#trace=<id> opens with that trace assembled (a link to share).
var m = /^#trace=([0-9a-f]{32})$/.exec(location.hash);
if (m) {
  input.value = m[1];
  load(m[1]);
}
})();
</script>
</body>
</html>
)page",
};
// clang-format on

} // namespace

std::string_view dashboard_page() {
  static const std::string page = [] {
    std::string result;
    for (auto* piece : page_pieces)
      result += piece;
    return result;
  }();
  return page;
}

} // namespace bulwark
