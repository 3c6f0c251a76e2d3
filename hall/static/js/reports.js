/* Report charts (Chart.js, served from our static folder) from the tables embedded in the page. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var L = data.labels;
  var tables = {};
  data.tables.forEach(function (t) { tables[t.name] = t; });
  var palette = ["#0b5cad", "#4caf7a", "#d4a300", "#b3261e", "#7a5cad"];

  function column(table, key) {
    var index = table.columns.map(function (c) { return c[0]; }).indexOf(key);
    return table.rows.map(function (r) { return r[index]; });
  }
  function labels(table) {
    return table.name === "stage" ? table.rows.map(function (r) { return r[0].split(" ")[0] + " " + r[1]; })
                                  : column(table, "group");
  }
  function chart(id, table, series, options) {
    var canvas = document.getElementById(id);
    if (!canvas || !table || !table.rows.length) { if (canvas) canvas.closest("figure").classList.add("no-data"); return; }
    new Chart(canvas, {
      data: {labels: labels(table), datasets: series.map(function (s, i) {
        return {type: s.type || "bar", label: L[s.key] || s.key, data: column(table, s.key), yAxisID: s.axis || "y",
                backgroundColor: palette[i], borderColor: palette[i], pointRadius: 2};
      })},
      options: Object.assign({responsive: true, maintainAspectRatio: false, animation: false,
                              plugins: {legend: {position: "bottom"}}}, options || {}),
    });
  }
  chart("chart-day", tables.day, [{key: "issued"}, {key: "served"}, {key: "wait_p90", type: "line", axis: "y2"}],
        {scales: {y: {beginAtZero: true}, y2: {beginAtZero: true, position: "right", grid: {drawOnChartArea: false}}}});
  chart("chart-hour", tables.hour, [{key: "issued"}, {key: "served"}], {scales: {y: {beginAtZero: true}}});
  chart("chart-service", tables.service, [{key: "wait_p50"}, {key: "wait_p90"}], {scales: {y: {beginAtZero: true}}});
  chart("chart-stage", tables.stage, [{key: "avg"}, {key: "p90"}, {key: "limit_s", type: "line"}],
        {scales: {y: {beginAtZero: true}}});
})();
