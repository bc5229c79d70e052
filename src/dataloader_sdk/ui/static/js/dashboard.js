// Dashboard charts: fetch the hourly run summary and draw it with Chart.js.
(function () {
  "use strict";
  var status = document.getElementById("chart-status");
  if (!status || typeof Chart === "undefined") { return; }
  fetch(status.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (d) {
      new Chart(document.getElementById("chart-rows"), {
        type: "bar",
        data: { labels: d.labels, datasets: [{ label: "rows written", data: d.rows_written,
          backgroundColor: "#0b5cad" }] },
        options: { maintainAspectRatio: false, animation: false }
      });
      new Chart(document.getElementById("chart-durations"), {
        type: "line",
        data: { labels: d.labels, datasets: [
          { label: "mean seconds", data: d.mean_seconds, borderColor: "#a4161a", yAxisID: "y" },
          { label: "runs", data: d.runs, borderColor: "#1a6b35", yAxisID: "y1" }] },
        options: { maintainAspectRatio: false, animation: false,
          scales: { y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } } }
      });
      status.textContent = d.labels.length ? "" : "No runs in the last 48 hours.";
      status.setAttribute("data-ready", "true");
    })
    .catch(function (e) { status.textContent = "Charts unavailable: " + e.message; });
})();
