// "Who are we missing?": one horizontal bar chart per characteristic, our share beside the
// population's, drawn with Chart.js (npm's UMD build, a static file: the CSP stays strict) from the
// figures the page carries as JSON. Hidden small groups arrive as null and get no bar. The table
// beside each chart is the report for screen readers and without JavaScript.
(function () {
  "use strict";
  var source = document.getElementById("representation-figures");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var figures = JSON.parse(source.textContent);
  window.Chart.defaults.font = { family: "Frutiger W01, Arial, sans-serif", size: 14 };
  window.Chart.defaults.color = "#212b32";
  window.Chart.defaults.animation = false;
  var percent = function (value) { return value + "%"; };

  figures.forEach(function (figure) {
    var canvas = document.getElementById(figure.id);
    if (!canvas) {
      return;
    }
    canvas.closest("figure").hidden = false;
    // Taller for more groups, so every label stays readable.
    canvas.parentElement.style.height = Math.max(240, 56 * figure.categories.length + 80) + "px";
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: figure.categories,
        datasets: [
          { label: "People counted", data: figure.ours, backgroundColor: "#005eb8" },
          { label: "Population", data: figure.population, backgroundColor: "#aeb7bd" },
        ],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { callback: percent } }, y: { grid: { display: false } } },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + (item.raw === null ? "hidden (fewer than 5)" : item.raw + "%");
          } } },
        },
      },
    });
  });
})();
