// Draws the report's bar chart from the JSON the page carries (no inline script: CSP).
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const canvas = document.getElementById("chart");
  if (!window.Chart || !canvas) return;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  new Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: canvas.getAttribute("aria-label"), data: data.hours, backgroundColor: "#1f6feb" }] },
    options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
  canvas.dataset.ready = "1";
})();
