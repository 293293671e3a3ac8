/* The member portal's per-day chart: hourly drawn, fed-in and shared energy (kWh) from the #chart-data JSON;
   the same values are in the table under it (#portal-day-table). */
(function () {
  const source = document.getElementById("chart-data");
  const canvas = document.getElementById("portal-day-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const d = JSON.parse(source.textContent);
  const nf = new Intl.NumberFormat(document.documentElement.lang === "en" ? "en-GB" : "pl-PL", {maximumFractionDigits: 3});
  const series = [[d.names.drawn, d.drawn, "#6c757d"], [d.names.fed, d.fed, "#198754"], [d.names.shared, d.shared, "#0d6efd"]];
  new Chart(canvas, {
    type: "bar",
    data: {labels: d.labels, datasets: series.map(function (s) { return {label: s[0], data: s[1], backgroundColor: s[2]}; })},
    options: {
      maintainAspectRatio: false,
      plugins: {tooltip: {callbacks: {label: function (c) { return c.dataset.label + ": " + nf.format(c.parsed.y) + " kWh"; }}}},
      scales: {
        x: {ticks: {autoSkip: true, maxRotation: 0}},
        y: {beginAtZero: true, title: {display: true, text: "kWh"}, ticks: {callback: function (v) { return nf.format(v); }}}
      }
    }
  });
})();
