// Layout editor: add and remove regions, show the settings of each region's role, and keep
// the percentages and the drawing of the canvas in step with the pixel values as staff type.
// The form posts region=<n> once per region, in order, and r<n>-<field> for its fields.
(function () {
  const form = document.getElementById("layout-form");
  if (!form) return;
  const table = document.getElementById("regions");
  const template = document.getElementById("region-template");
  const drawing = document.getElementById("drawing");
  const canvasW = document.getElementById("width");
  const canvasH = document.getElementById("height");
  const SVG = "http://www.w3.org/2000/svg";

  const int = (el) => {
    const v = parseInt(el && el.value, 10);
    return Number.isFinite(v) ? v : null;
  };

  function regions() {
    return Array.from(table.querySelectorAll("tbody.region"));
  }

  function field(region, name) {
    return region.querySelector("[name='r" + region.dataset.n + "-" + name + "']");
  }

  // Only the chosen role's settings are shown; the others stay in the form, hidden.
  function showRole(region) {
    const role = field(region, "role").value;
    region.querySelectorAll("[data-role]").forEach((el) => {
      el.hidden = el.dataset.role !== role;
    });
  }

  function percent(value, of) {
    if (value === null || !of) return "";
    return Math.round((value * 1000) / of) / 10 + "%";
  }

  function redraw() {
    const W = int(canvasW), H = int(canvasH);
    const ok = W && H && W > 0 && H > 0;
    regions().forEach((region) => {
      region.querySelectorAll(".pct").forEach((el) => {
        const of = el.dataset.of === "width" ? W : H;
        el.textContent = ok ? percent(int(field(region, el.dataset.field)), of) : "";
      });
    });
    if (!drawing || !ok) return;
    drawing.setAttribute("viewBox", "0 0 " + W + " " + H);
    drawing.querySelectorAll("g.box").forEach((g) => g.remove());
    const size = Math.max(8, Math.round(Math.min(W, H) / 12));
    regions().forEach((region) => {
      const [x, y, w, h] = ["x", "y", "w", "h"].map((f) => int(field(region, f)));
      if ([x, y, w, h].some((v) => v === null) || w <= 0 || h <= 0) return;
      const role = field(region, "role");
      const g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "box role-" + role.value);
      g.dataset.n = region.dataset.n;
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", x);
      rect.setAttribute("y", y);
      rect.setAttribute("width", w);
      rect.setAttribute("height", h);
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("x", x + w / 2);
      text.setAttribute("y", y + h / 2);
      text.setAttribute("font-size", Math.min(size, Math.max(4, h * 0.6)));
      text.textContent = role.selectedOptions[0] ? role.selectedOptions[0].textContent : "";
      g.append(rect, text);
      drawing.append(g);
    });
  }

  function nextIndex() {
    return regions().reduce((m, r) => Math.max(m, parseInt(r.dataset.n, 10) + 1), 0);
  }

  // A name nobody has yet, from the role: ticker, ticker2, ...
  function freeKey(region, role) {
    const keys = new Set(regions().filter((r) => r !== region).map((r) => field(r, "key").value));
    let k = 1;
    while (keys.has(role + (k > 1 ? k : ""))) k += 1;
    return role + (k > 1 ? k : "");
  }

  // A new region: a ticker band along the bottom, named after its role until staff name it.
  document.getElementById("add-region").addEventListener("click", () => {
    const n = nextIndex();
    const html = template.innerHTML.replaceAll("__N__", String(n));
    table.insertAdjacentHTML("beforeend", html);
    const region = table.querySelector("tbody.region[data-n='" + n + "']");
    region.dataset.autoKey = "1";
    field(region, "key").value = freeKey(region, "ticker");
    const W = int(canvasW) || 384, H = int(canvasH) || 192;
    const band = Math.max(16, Math.round(H / 8));
    field(region, "x").value = 0;
    field(region, "y").value = Math.max(0, H - band);
    field(region, "w").value = W;
    field(region, "h").value = Math.min(band, H);
    showRole(region);
    redraw();
    field(region, "key").focus();
  });

  table.addEventListener("click", (e) => {
    const button = e.target.closest("button.remove-region");
    if (!button) return;
    button.closest("tbody.region").remove();
    redraw();
  });

  table.addEventListener("change", (e) => {
    const region = e.target.closest("tbody.region");
    if (region && e.target.name === "r" + region.dataset.n + "-role") {
      if (region.dataset.autoKey) field(region, "key").value = freeKey(region, e.target.value);
      showRole(region);
      redraw();
    }
  });
  table.addEventListener("input", (e) => {
    const region = e.target.closest("tbody.region");
    if (region && e.target.name === "r" + region.dataset.n + "-key") delete region.dataset.autoKey;
  });
  form.addEventListener("input", redraw);

  regions().forEach(showRole);
  redraw();
})();

// Schedule form: a schedule plays a playlist or a layout; show the matching picker (and the
// kind, which only playlists have).
(function () {
  const choices = document.querySelectorAll("input[data-plays-choice]");
  if (!choices.length) return;
  function show() {
    const chosen = document.querySelector("input[data-plays-choice]:checked");
    const plays = chosen ? chosen.value : "playlist";
    document.querySelectorAll("[data-plays]").forEach((el) => {
      el.hidden = el.dataset.plays !== plays;
    });
  }
  choices.forEach((c) => c.addEventListener("change", show));
  show();
})();
