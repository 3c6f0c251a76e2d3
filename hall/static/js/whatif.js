/* Staffing what-if chart: wait p90 (bars) and share served within committed time (line) per option. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("whatif-data").textContent);
  var L = data.labels;
  new Chart(document.getElementById("chart-whatif"), {
    data: {
      labels: data.options.map(function (o) { return String(o.counters[data.service]); }),
      datasets: [
        {type: "bar", label: L.p90, data: data.options.map(function (o) { return o.wait_p90_s; }),
         backgroundColor: "#0b5cad", yAxisID: "y"},
        {type: "line", label: L.within, data: data.options.map(function (o) { return o.served_within_limit_pct; }),
         borderColor: "#4caf7a", backgroundColor: "#4caf7a", yAxisID: "y2", pointRadius: 3},
      ],
    },
    options: {responsive: true, maintainAspectRatio: false, animation: false, plugins: {legend: {position: "bottom"}},
              scales: {x: {title: {display: true, text: L.counters}}, y: {beginAtZero: true},
                       y2: {min: 0, max: 100, position: "right", grid: {drawOnChartArea: false}}}},
  });
})();
