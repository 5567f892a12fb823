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

// The CSV and Excel files are built on the server in a worker process, which takes a
// while for a long period: the links download with fetch, say they are working meanwhile
// and show the server's refusal, and the page stays usable. A modified click (new tab,
// save link as) is left to the browser.
(function () {
  const zh = (document.documentElement.lang || "zh").startsWith("zh");
  const words = zh ? { working: "正在生成…", failed: "导出失败：" }
                   : { working: "Generating…", failed: "Export failed: " };
  const links = ["export-csv", "export-xlsx"].map((id) => document.getElementById(id)).filter(Boolean);
  if (!links.length || !window.fetch || !window.URL) return;
  const note = document.createElement("span");
  note.id = "export-status";
  note.setAttribute("role", "status");
  links[links.length - 1].after(note);

  function fileName(disposition) {
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition || "");
    if (star) return decodeURIComponent(star[1]);
    const plain = /filename="?([^";]+)"?/i.exec(disposition || "");
    return plain ? plain[1] : "export";
  }

  async function refusal(response) {
    const text = await response.text();
    const page = new DOMParser().parseFromString(text, "text/html");
    const message = page.getElementById("error-message");
    return (message && message.textContent.trim()) || response.status + " " + response.statusText;
  }

  for (const link of links) {
    link.addEventListener("click", async (e) => {
      if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
      e.preventDefault();
      if (link.getAttribute("aria-busy") === "true") return;
      const label = link.textContent;
      link.setAttribute("aria-busy", "true");
      link.textContent = words.working;
      note.className = "";
      note.textContent = "";
      try {
        const response = await fetch(link.href, { credentials: "same-origin" });
        if (!response.ok) throw new Error(await refusal(response));
        const blob = await response.blob();
        const url = URL.createObjectURL(blob);
        const a = document.createElement("a");
        a.href = url;
        a.download = fileName(response.headers.get("Content-Disposition"));
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
      } catch (err) {
        note.className = "error";
        note.textContent = " " + words.failed + err.message;
      } finally {
        link.removeAttribute("aria-busy");
        link.textContent = label;
      }
    });
  }
})();
