/* trackrecord dashboard: draws the charts from the page's JSON block (no inline script, no network). */
(function () {
  "use strict";
  var block = document.getElementById("chart-data");
  var data = block ? JSON.parse(block.textContent) : {};
  var times = (data.dates || []).map(function (d) { return Date.parse(d + "T00:00:00Z") / 1000; });
  var BLUE = "#2563eb", GREY = "#94a3b8", RED = "#dc2626", GREEN = "#059669";

  function pct(u, vals) { return vals.map(function (v) { return v == null ? "" : (v * 100).toFixed(0) + "%"; }); }
  function num(u, vals) { return vals.map(function (v) { return v == null ? "" : v.toFixed(1); }); }

  var charts = {
    twr: function () {
      var twr = (data.twr || []).map(function (v) { return v == null ? null : v - 1; });
      var series = [{}, { label: "Account (TWR)", stroke: BLUE, width: 2, value: function (u, v) { return v == null ? "-" : (v * 100).toFixed(2) + "%"; } }];
      var cols = [times, twr];
      if (data.benchmark) {
        cols.push(data.benchmark.map(function (v) { return v == null ? null : v - 1; }));
        series.push({ label: data.benchmark_name === "universe" ? "Equal-weight universe" : (data.benchmark_name || "Benchmark"),
                      stroke: GREY, width: 1.5, value: function (u, v) { return v == null ? "-" : (v * 100).toFixed(2) + "%"; } });
      }
      return { cols: cols, series: series, yfmt: pct };
    },
    drawdown: function () {
      return { cols: [times, data.drawdown || []], yfmt: pct,
               series: [{}, { label: "Drawdown", stroke: RED, fill: "rgba(220,38,38,0.15)", width: 1.5,
                              value: function (u, v) { return v == null ? "-" : (v * 100).toFixed(2) + "%"; } }] };
    },
    rolling_sharpe: function () {
      return { cols: [times, data.rolling_sharpe || []], yfmt: num,
               series: [{}, { label: "Sharpe (126)", stroke: GREEN, width: 1.5,
                              value: function (u, v) { return v == null ? "-" : v.toFixed(2); } }] };
    }
  };

  function draw(el) {
    var make = charts[el.getAttribute("data-chart")];
    if (!make || !times.length || typeof uPlot === "undefined") {
      el.classList.add("nodata");
      el.textContent = "No data to chart yet.";
      return;
    }
    var spec = make();
    var opts = {
      width: Math.max(el.clientWidth, 200), height: 240, series: spec.series,
      scales: { x: { time: true } }, legend: { live: true },
      axes: [{ stroke: "#64748b", grid: { stroke: "#eef2f7" } },
             { stroke: "#64748b", grid: { stroke: "#eef2f7" }, values: spec.yfmt, size: 56 }],
      cursor: { drag: { x: true, y: false } }
    };
    var plot = new uPlot(opts, spec.cols, el);
    window.addEventListener("resize", function () { plot.setSize({ width: Math.max(el.clientWidth, 200), height: 240 }); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-chart]"), draw);

  Array.prototype.forEach.call(document.querySelectorAll(".bar[data-weight]"), function (el) {
    var w = parseFloat(el.getAttribute("data-weight"));
    if (isFinite(w)) { el.firstElementChild.style.width = Math.min(Math.max(w, 0), 1) * 100 + "%"; }
  });

  Array.prototype.forEach.call(document.querySelectorAll(".countdown[data-until]"), function (el) {
    var until = Date.parse(el.getAttribute("data-until"));
    function tick() {
      var s = Math.floor((until - Date.now()) / 1000);
      if (!isFinite(s)) { return; }
      if (s <= 0) { el.textContent = "closed"; return; }
      var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
      el.textContent = (d ? d + "d " : "") + h + "h " + m + "m to the close";
    }
    tick();
    setInterval(tick, 30000);
  });
})();
