// The dashboard's charts, drawn with Chart.js (served from npm's build) from the figures the page
// carries as JSON. A static file, not inline script, so the Content-Security-Policy stays strict.
// The table stays on the page for screen readers and for anyone without JavaScript.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-figures");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var figures = JSON.parse(source.textContent);
  // NHS identity colours: blue, dark green, warm yellow, red, dark grey.
  var colours = ["#005eb8", "#006747", "#ffb81c", "#d5281b", "#425563"];
  var font = { family: "Frutiger W01, Arial, sans-serif", size: 14 };
  var whole = function (value) { return Number.isInteger(value) ? value.toLocaleString("en-GB") : ""; };

  window.Chart.defaults.font = font;
  window.Chart.defaults.color = "#212b32";
  window.Chart.defaults.animation = false; // no motion: figures, not a show

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    canvas.closest("figure").hidden = false;
    new window.Chart(canvas, config);
  }

  var axes = {
    x: { grid: { display: false } },
    y: { beginAtZero: true, ticks: { precision: 0, callback: whole } },
  };

  draw("chart-contacts", {
    type: "line",
    data: {
      labels: figures.months,
      datasets: [{ label: "Contacts at month end", data: figures.contacts, borderColor: colours[0],
                   backgroundColor: colours[0], pointRadius: 3, borderWidth: 3 }],
    },
    options: { maintainAspectRatio: false, scales: axes, plugins: { legend: { display: false } } },
  });

  draw("chart-changes", {
    type: "bar",
    data: {
      labels: figures.months,
      datasets: figures.series.map(function (series, index) {
        return { label: series.label, data: series.values, backgroundColor: colours[index % colours.length] };
      }),
    },
    options: { maintainAspectRatio: false, scales: axes, plugins: { legend: { position: "bottom" } } },
  });
})();
