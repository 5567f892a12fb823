// Broadcast progress: poll the numbers every second until the broadcast is over.
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const d = box.dataset;
  const body = document.querySelector("#deliveries tbody");

  function why(t) {
    if (t.shown_at) return "";
    if (t.problem === "offline") return t.since ? d.offline.replace("{when}", t.since) : d.offlineNever;
    return d.waiting;
  }

  function row(t) {
    const tr = document.createElement("tr");
    tr.id = "delivery-" + t.terminal_id;
    const name = document.createElement("td");
    name.textContent = t.name;
    const when = document.createElement("td");
    when.textContent = t.shown_at || why(t);
    when.className = t.shown_at ? "shown" : "not-shown";
    const img = document.createElement("td");
    if (t.thumbnail) {
      const i = document.createElement("img");
      i.className = "thumb";
      i.alt = t.name;
      i.src = d.thumb.replace(/\/0\.png$/, "/" + t.terminal_id + ".png");
      img.appendChild(i);
    }
    tr.append(name, when, img);
    return tr;
  }

  async function refresh() {
    let p;
    try {
      const r = await fetch(d.url, { headers: { Accept: "application/json" } });
      if (!r.ok) throw new Error(r.status);
      p = await r.json();
    } catch (e) {
      setTimeout(refresh, 3000);
      return;
    }
    if (p.state !== d.state) {
      // Cancelled or ended meanwhile: the page says when, and how many screens it reached.
      window.location.reload();
      return;
    }
    if (p.state === "active") {
      document.getElementById("shown").textContent = p.shown;
      document.getElementById("total").textContent = p.total;
      const bar = document.getElementById("bar");
      bar.value = p.shown;
      bar.max = p.total;
    }
    // not-yet-showing first: they are what the sender has to act on
    const rows = p.terminals.slice().sort((a, b) => (!!a.shown_at - !!b.shown_at) || a.name.localeCompare(b.name));
    body.replaceChildren(...rows.map(row));
    if (p.state === "active") setTimeout(refresh, 1000);
  }
  refresh();
})();
