// The tokenstat dashboard: reads the filters, asks the JSON API, fills tables and charts.
// Every string from the data is set with textContent (never as HTML).
(function () {
  "use strict";

  var generation = 0;
  var form = document.getElementById("filters");

  // ---- number formats (as tokenstat.render.numbers) ---------------------------------------
  var UNITS = [[1e15, "Q"], [1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "K"]];

  function tokens(v) {
    if (v === null || v === undefined) return "-";
    for (var i = 0; i < UNITS.length; i++) {
      if (Math.abs(v) >= UNITS[i][0]) return (v / UNITS[i][0]).toFixed(2) + UNITS[i][1];
    }
    return Math.round(v).toLocaleString("en-US");
  }
  function pct(v, digits, signed) {
    if (v === null || v === undefined) return "-";
    var s = (v * 100).toFixed(digits === undefined ? 2 : digits) + "%";
    return signed && v >= 0 ? "+" + s : s;
  }
  function pp(v) {
    if (v === null || v === undefined) return "-";
    return (v >= 0 ? "+" : "") + v.toFixed(2) + " pp";
  }
  function rankChange(v) {
    if (v === null || v === undefined) return "new";
    if (v === 0) return "=";
    return (v > 0 ? "+" : "") + v;
  }
  function growth(v) { return v === null || v === undefined ? "new" : pct(v, 2, true); }
  function usd(v) {
    if (v === null || v === undefined) return "-";
    if (Math.abs(v) >= 1) return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return "$" + Number(v.toPrecision(4));
  }
  function signClass(v) { return v > 0 ? "pos" : v < 0 ? "neg" : ""; }

  // ---- query ------------------------------------------------------------------------------
  function filters() {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && el.value) out[el.name] = el.value;
    });
    return out;
  }
  function query(extra) {
    var params = new URLSearchParams();
    var f = filters();
    Object.keys(f).forEach(function (k) { params.set(k, f[k]); });
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] === null || extra[k] === undefined || extra[k] === "") params.delete(k);
      else params.set(k, extra[k]);
    });
    return params.toString();
  }
  function fetchJSON(path, extra) {
    var url = "/api/" + path + "?" + query(extra);
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) {
          var err = new Error(body && body.error ? body.error : "request failed (" + res.status + ")");
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  // ---- building blocks --------------------------------------------------------------------
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  // columns: [{label, value(row) -> raw, show(raw, row) -> text, num, cls(raw)}]
  function fillTable(table, columns, rows, footer) {
    while (table.firstChild) table.removeChild(table.firstChild);
    var thead = table.createTHead();
    var hr = thead.insertRow();
    columns.forEach(function (c) {
      var th = el("th", c.label, c.num ? "num" : "");
      th.setAttribute("scope", "col");
      hr.appendChild(th);
    });
    var body = table.createTBody();
    rows.forEach(function (r) {
      var tr = body.insertRow();
      columns.forEach(function (c) {
        var raw = c.value(r);
        var td = el("td", c.show ? c.show(raw, r) : (raw === null || raw === undefined ? "" : raw));
        var classes = [];
        if (c.num) classes.push("num");
        if (c.key) classes.push("key");
        if (c.cls) classes.push(c.cls(raw));
        td.className = classes.join(" ");
        if (c.num) td.setAttribute("data-sort", raw === null || raw === undefined ? "" : String(raw));
        tr.appendChild(td);
      });
    });
    if (footer) {
      var tf = table.createTFoot().insertRow();
      footer.forEach(function (text, i) {
        tf.appendChild(el("td", text, columns[i] && columns[i].num ? "num" : ""));
      });
    }
    if (window.tokenstatTables) window.tokenstatTables.makeSortable(table.parentNode);
  }

  function panel(id) { return document.getElementById(id); }
  function setState(p, state, message) {
    p.setAttribute("data-state", state);
    var status = p.querySelector(".status");
    if (status) {
      status.textContent = message || "";
      status.className = "status" + (state === "error" ? " error" : state === "unavailable" ? " unavailable" : "");
    }
  }

  function drawChart(node, kind, extra, gen) {
    return fetchJSON("chart/" + kind, extra).then(function (spec) {
      if (gen !== generation) return;
      if (typeof vegaEmbed === "undefined") { node.textContent = "Chart runtime missing."; return; }
      // fill the panel's width instead of the fixed width of chart files
      if (typeof spec.width === "number") spec.width = "container";
      return vegaEmbed(node, spec, { actions: false, ast: true, renderer: "svg" }).then(function () {
        node.setAttribute("data-drawn", String(gen));
      });
    });
  }

  function sourceLine(src) {
    if (src.attribution) return src.attribution;
    var line = "Source: " + src.source;
    if (src.as_of) return line + ", as of " + src.as_of;
    if (src.last_day) return line + ", data to " + src.last_day;
    return line;
  }

  function periodLabel(period) {
    return period.grain + " " + period.start + " to " + period.end;
  }

  // ---- panels -----------------------------------------------------------------------------
  function loadSummary(gen) {
    var p = panel("panel-summary");
    setState(p, "loading", "Loading…");
    return fetchJSON("summary").then(function (r) {
      if (gen !== generation) return;
      document.getElementById("period-label").textContent = periodLabel(r.period);
      var by = r.by;
      fillTable(document.getElementById("summary-table"), [
        { label: "#", value: function (g) { return g.rank; }, show: function (v) { return v === null ? "-" : v; }, num: true },
        { label: by, value: function (g) { return g.key; }, key: true },
        { label: "tokens", value: function (g) { return g.tokens; }, show: tokens, num: true },
        { label: "previous", value: function (g) { return g.previous; }, show: tokens, num: true },
        { label: "growth", value: function (g) { return g.growth; }, show: function (v) { return pct(v, 2, true); }, num: true, cls: signClass },
        { label: "share", value: function (g) { return g.share; }, show: function (v) { return pct(v, 1); }, num: true },
        { label: "shift", value: function (g) { return g.share_shift_pp; }, show: pp, num: true, cls: signClass },
        { label: "leader streak", value: function (g) { return g.leader_streak; }, show: function (v) { return v ? v : ""; }, num: true }
      ], r.groups, ["", "all", tokens(r.total.tokens), tokens(r.total.previous), pct(r.total.growth, 2, true), "100%", "", ""]);
      var ranked = r.groups.filter(function (g) { return g.rank !== null; });
      var head = document.getElementById("summary-headline");
      head.textContent = ranked.length
        ? ranked[0].key + " leads with " + tokens(ranked[0].tokens) + " tokens (" + pct(ranked[0].share, 1) +
          " of " + tokens(r.total.tokens) + ", " + growth(ranked[0].growth) + ")."
        : "";
      document.getElementById("summary-note").textContent =
        r.attributed_share === null ? "" : "Origin attributed for " + pct(r.attributed_share, 1) + " of tokens.";
      fillPair(ranked.map(function (g) { return g.key; }));
      setState(p, "ready");
    });
  }

  function loadTrend(gen) {
    var p = panel("panel-trend");
    setState(p, "loading", "Loading…");
    return Promise.all([
      drawChart(document.getElementById("chart-trend"), "trend", leadPair(), gen),
      drawChart(document.getElementById("chart-share"), "share", {}, gen)
    ]).then(function () { if (gen === generation) setState(p, "ready"); });
  }

  function loadTop(gen) {
    var p = panel("panel-top");
    setState(p, "loading", "Loading…");
    var extra = { by: document.getElementById("top-by").value, limit: document.getElementById("top-limit").value };
    return Promise.all([
      fetchJSON("top", extra).then(function (r) {
        if (gen !== generation) return;
        var cols = [
          { label: "#", value: function (x) { return x.rank; }, num: true },
          { label: r.by, value: function (x) { return x.key; }, key: true }
        ];
        if (r.by === "model") {
          cols.push({ label: "author", value: function (x) { return x.author; } });
          cols.push({ label: "origin", value: function (x) { return x.origin; } });
        }
        cols.push(
          { label: "tokens", value: function (x) { return x.tokens; }, show: tokens, num: true },
          { label: "growth", value: function (x) { return x.growth; }, show: growth, num: true, cls: signClass },
          { label: "share", value: function (x) { return x.share; }, show: function (v) { return pct(v, 1); }, num: true },
          { label: "rank Δ", value: function (x) { return x.rank_change; }, show: rankChange, num: true }
        );
        fillTable(document.getElementById("top-table"), cols, r.rows);
        document.getElementById("top-note").textContent =
          "Top " + r.rows.length + " share " + pct(r.top_k_share, 1) + "; HHI " + Math.round(r.hhi) + " (0-10,000).";
      }),
      drawChart(document.getElementById("chart-top"), "top", extra, gen)
    ]).then(function () { if (gen === generation) setState(p, "ready"); });
  }

  function leadPair() {
    var a = document.getElementById("lead-a").value, b = document.getElementById("lead-b").value;
    return a && b && a !== b ? { a: a, b: b } : {};
  }

  function fillPair(keys) {
    var a = document.getElementById("lead-a"), b = document.getElementById("lead-b");
    var same = a.options.length === keys.length && keys.every(function (k, i) { return a.options[i].value === k; });
    if (same) return;
    var keepA = a.value, keepB = b.value;
    [a, b].forEach(function (select) {
      while (select.firstChild) select.removeChild(select.firstChild);
      keys.forEach(function (k) { var o = el("option", k); o.value = k; select.appendChild(o); });
    });
    a.value = keys.indexOf(keepA) >= 0 ? keepA : keys[0] || "";
    b.value = keys.indexOf(keepB) >= 0 && keepB !== a.value ? keepB : keys[1] || "";
  }

  function loadLead(gen) {
    var p = panel("panel-lead");
    setState(p, "loading", "Loading…");
    document.getElementById("lead-text").textContent = "";
    var leadTable = document.getElementById("lead-table");
    while (leadTable.firstChild) leadTable.removeChild(leadTable.firstChild);
    return fetchJSON("lead", leadPair()).then(function (r) {
      if (gen !== generation) return;
      var text = r.streak
        ? r.a + " has been ahead of " + r.b + " for " + r.streak + " consecutive " + r.grain + (r.streak === 1 ? "" : "s") + "."
        : r.a + " is not ahead of " + r.b + " in the " + r.grain + " of " + r.at + ".";
      text += r.first_crossover ? " First crossover: " + r.first_crossover + "." : " No crossover in this data.";
      document.getElementById("lead-text").textContent = text;
      fillTable(document.getElementById("lead-table"), [
        { label: r.grain, value: function (x) { return x.start; } },
        { label: r.a, value: function (x) { return x.a_tokens; }, show: tokens, num: true },
        { label: r.b, value: function (x) { return x.b_tokens; }, show: tokens, num: true },
        { label: r.a + " ahead", value: function (x) { return x.a_leads ? 1 : 0; }, show: function (v) { return v ? "yes" : ""; }, num: true }
      ], r.periods.slice(-8).reverse());
      setState(p, "ready");
    });
  }

  function loadShift(gen) {
    var p = panel("panel-shift");
    setState(p, "loading", "Loading…");
    return fetchJSON("shift").then(function (r) {
      if (gen !== generation) return;
      fillTable(document.getElementById("shift-table"), [
        { label: r.by, value: function (x) { return x.key; }, key: true },
        { label: "share " + r.from.start, value: function (x) { return x.share_from; }, show: function (v) { return pct(v, 1); }, num: true },
        { label: "share " + r.to.start, value: function (x) { return x.share_to; }, show: function (v) { return pct(v, 1); }, num: true },
        { label: "shift", value: function (x) { return x.shift_pp; }, show: pp, num: true, cls: signClass }
      ], r.rows.slice(0, 15));
      setState(p, "ready");
    });
  }

  // Optional sections (prices, cost, what-if, forecast): their own report dicts, as
  // tables and charts; "not available" with the reason when the server has none.
  function priceMtok(v) {
    if (v === null || v === undefined) return "-";
    if (v === 0) return "$0";
    if (Math.abs(v) >= 1) return "$" + v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    var text = String(Number(v.toPrecision(4)));
    var decimals = (text.split(".")[1] || "").length;
    return "$" + v.toFixed(Math.max(decimals, 2));
  }
  function ratio(v) {
    if (v === null || v === undefined) return "-";
    var p = v * 100;
    return (p >= 10 ? p.toFixed(0) : p >= 1 ? p.toFixed(1) : p.toFixed(2)) + "%";
  }
  function money(v) {
    if (v === null || v === undefined) return "-";
    var sign = v < 0 ? "-" : "";
    var a = Math.abs(v);
    var text = a === 0 ? "$0" : a >= 1 ? "$" + a.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
      : a >= 0.0001 ? "$" + a.toFixed(4) : "$" + a.toPrecision(2);
    return sign + text;
  }
  function baselineParam() {
    var value = document.getElementById("baseline").value.trim();
    return value ? { baseline: value } : {};
  }

  var SECTION_RENDERERS = {
    prices: function (body, r) {
      body.appendChild(el("p", "USD per million tokens as of " + r.as_of + (r.baseline ? ", against " + r.baseline : "") +
        "; blended " + r.mix + " (input:output).", "note"));
      var table = el("table", null, "data");
      table.id = "prices-table";
      body.appendChild(table);
      var cols = [
        { label: "model", value: function (x) { return x.model; }, key: true },
        { label: "origin", value: function (x) { return x.origin; } },
        { label: "input", value: function (x) { return x.input_per_mtok; }, show: priceMtok, num: true },
        { label: "output", value: function (x) { return x.output_per_mtok; }, show: priceMtok, num: true },
        { label: "blended", value: function (x) { return x.blended_per_mtok; }, show: priceMtok, num: true }
      ];
      if (r.baseline) {
        cols.push(
          { label: "input vs baseline", value: function (x) { return x.input_ratio; }, show: ratio, num: true },
          { label: "output vs baseline", value: function (x) { return x.output_ratio; }, show: ratio, num: true }
        );
      }
      fillTable(table, cols, r.rows);
      if (r.unpriced && r.unpriced.length) body.appendChild(el("p", "No price for: " + r.unpriced.join(", ") + ".", "note"));
      var list = document.getElementById("baseline-models");
      while (list.firstChild) list.removeChild(list.firstChild);
      r.rows.forEach(function (x) { var o = el("option"); o.value = x.model; list.appendChild(o); });
    },
    cost: function (body, r) {
      body.appendChild(el("p", "Own usage " + r.slice.since + " to " + r.slice.until + ", cost mode " + r.mode + ".", "note"));
      var table = el("table", null, "data");
      table.id = "cost-table";
      body.appendChild(table);
      fillTable(table, [
        { label: r.by, value: function (x) { return x.key; }, key: true },
        { label: "cost", value: function (x) { return x.cost; }, show: money, num: true },
        { label: "tokens", value: function (x) { return x.tokens; }, show: tokens, num: true },
        { label: "rows", value: function (x) { return x.rows; }, num: true },
        { label: "unpriced", value: function (x) { return x.unpriced_share; }, show: function (v) { return pct(v, 1); }, num: true }
      ], r.rows, ["all", money(r.total.cost), tokens(r.total.tokens), String(r.total.rows), pct(r.total.unpriced_share, 1)]);
    },
    whatif: function (body, r) {
      var w = r.workload;
      body.appendChild(el("p", "Workload: " + w.requests + " requests, " + tokens(w.tokens) + " tokens (" + w.first_day +
        " to " + w.last_day + "); actual cost " + money(r.actual_cost) + " (" + r.mode + ")."));
      var table = el("table", null, "data");
      table.id = "whatif-table";
      body.appendChild(table);
      fillTable(table, [
        { label: "model", value: function (x) { return x.model; }, key: true },
        { label: "cost", value: function (x) { return x.cost; }, show: money, num: true },
        { label: "saving", value: function (x) { return x.saving; }, show: money, num: true, cls: signClass },
        { label: "saving %", value: function (x) { return x.saving_pct; }, show: function (v) { return pct(v, 1); }, num: true, cls: signClass }
      ], r.rows);
      body.appendChild(el("p", r.caveat, "note"));
    },
    forecast: function (body, r) {
      var table = el("table", null, "data");
      table.id = "forecast-table";
      body.appendChild(table);
      fillTable(table, [
        { label: "series", value: function (x) { return x.key; }, key: true },
        { label: "last", value: function (x) { return x.base_value; }, show: tokens, num: true },
        { label: "at " + r.horizon.start, value: function (x) { return x.value; }, show: tokens, num: true },
        { label: "80% interval", value: function (x) { return x.lo80; }, show: function (v, x) { return tokens(x.lo80) + " to " + tokens(x.hi80); }, num: true },
        { label: "multiple", value: function (x) { return x.multiple; }, show: function (v) { return v === null ? "-" : v.toFixed(2) + "x"; }, num: true }
      ], r.multiples || []);
    }
  };

  function loadSection(name, gen) {
    var p = panel("panel-" + name);
    var body = p.querySelector(".section-body");
    var chart = document.getElementById("chart-" + name);
    var extra = name === "prices" || name === "whatif" ? baselineParam() : {};
    setState(p, "loading", "Loading…");
    return fetchJSON(name, extra).then(function (r) {
      if (gen !== generation) return;
      while (body.firstChild) body.removeChild(body.firstChild);
      SECTION_RENDERERS[name](body, r);
      setState(p, "ready");
      if (chart && name !== "cost") {
        return drawChart(chart, name, extra, gen).catch(function (err) {
          chart.textContent = err.message;
        });
      }
    }, function (err) {
      if (gen !== generation) return;
      while (body.firstChild) body.removeChild(body.firstChild);
      if (chart) while (chart.firstChild) chart.removeChild(chart.firstChild);
      if (err.status === 404 || err.status === 400) setState(p, "unavailable", err.message);
      else throw err;
    });
  }

  function loadSources(gen) {
    var p = panel("panel-sources");
    return fetchJSON("summary").then(function (r) {
      if (gen !== generation) return;
      var list = document.getElementById("sources-list");
      while (list.firstChild) list.removeChild(list.firstChild);
      (r.sources || []).forEach(function (src) {
        var li = el("li");
        li.appendChild(el("strong", sourceLine(src)));
        li.appendChild(document.createTextNode(" (" + (src.rows || 0).toLocaleString("en-US") + " rows, " +
          src.first_day + " to " + src.last_day + ")"));
        list.appendChild(li);
      });
      document.getElementById("attributed-note").textContent =
        r.attributed_share === null ? "" : "Origin attributed for " + pct(r.attributed_share, 1) + " of tokens.";
      setState(p, "ready");
    });
  }

  // ---- refresh ----------------------------------------------------------------------------
  function updateLinks() {
    Array.prototype.forEach.call(document.querySelectorAll("a.json"), function (a) {
      var api = a.getAttribute("data-api");
      var extra = {};
      if (api === "top" || api === "chart/top") extra = { by: document.getElementById("top-by").value, limit: document.getElementById("top-limit").value };
      if (api === "lead" || api === "chart/trend") extra = leadPair();
      if (api === "prices" || api === "whatif") extra = baselineParam();
      a.href = "/api/" + api + "?" + query(extra);
    });
    var reportQuery = query(Object.assign({ by: null }, baselineParam()));
    document.getElementById("report-link").href = "/report?" + reportQuery;
    document.getElementById("report-json").href = "/api/report?" + reportQuery;
    Array.prototype.forEach.call(document.querySelectorAll(".by-label"), function (s) {
      s.textContent = filters().by || "origin";
    });
    history.replaceState(null, "", "?" + query());
  }

  function guard(p, promise) {
    return promise.catch(function (err) {
      setState(panel(p), "error", err.message);
    });
  }

  function refresh(which) {
    generation += 1;
    var gen = generation;
    document.body.setAttribute("data-generation", String(gen));
    document.body.setAttribute("data-busy", "1");
    updateLinks();
    var jobs = [];
    var all = !which;
    if (all || which === "summary") {
      // the lead panel needs the groups the summary lists
      jobs.push(guard("panel-summary", loadSummary(gen)).then(function () {
        return Promise.all([guard("panel-lead", loadLead(gen)), guard("panel-trend", loadTrend(gen))]);
      }));
    }
    if (which === "lead") {
      jobs.push(guard("panel-lead", loadLead(gen)), guard("panel-trend", loadTrend(gen)));
    }
    if (all || which === "top") jobs.push(guard("panel-top", loadTop(gen)));
    if (which === "prices") {
      jobs.push(guard("panel-prices", loadSection("prices", gen)), guard("panel-whatif", loadSection("whatif", gen)));
    }
    if (all) {
      jobs.push(guard("panel-shift", loadShift(gen)));
      jobs.push(guard("panel-sources", loadSources(gen)));
      ["prices", "cost", "whatif", "forecast"].forEach(function (name) {
        jobs.push(guard("panel-" + name, loadSection(name, gen)));
      });
    }
    return Promise.all(jobs).then(function () {
      if (gen === generation) document.body.setAttribute("data-busy", "0");
    });
  }

  function applyQuery() {
    var params = new URLSearchParams(location.search);
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.name && params.has(el.name)) el.value = params.get(el.name);
    });
    if (params.has("baseline")) document.getElementById("baseline").value = params.get("baseline");
  }

  document.addEventListener("DOMContentLoaded", function () {
    applyQuery();
    form.addEventListener("change", function () { refresh(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); refresh(); });
    document.getElementById("top-by").addEventListener("change", function () { refresh("top"); });
    document.getElementById("top-limit").addEventListener("change", function () { refresh("top"); });
    document.getElementById("lead-a").addEventListener("change", function () { refresh("lead"); });
    document.getElementById("lead-b").addEventListener("change", function () { refresh("lead"); });
    document.getElementById("baseline").addEventListener("change", function () { refresh("prices"); });
    refresh();
  });
})();
