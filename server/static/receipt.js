// A publish receipt, live: poll its numbers every 2.5 s until every screen is through,
// then load the page once more for its finished state. The server words every reason.
(function () {
  const box = document.getElementById("receipt-live");
  if (!box || box.dataset.done) return;
  const d = box.dataset;
  const body = document.querySelector("#laggards tbody");

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text || "";
    return td;
  }

  function row(lag) {
    const tr = document.createElement("tr");
    tr.dataset.why = lag.why.code;
    const name = document.createElement("td");
    const a = document.createElement("a");
    a.href = d.terminal.replace(/\/0$/, "/" + lag.terminal_id);
    a.textContent = lag.terminal;
    name.appendChild(a);
    const why = cell(lag.why_words);
    why.className = "why-" + lag.why.code;
    tr.append(name, cell(lag.building), cell(lag.community), cell(lag.stage), why);
    return tr;
  }

  function show(r) {
    for (const [key, x] of Object.entries(r.stages)) {
      const stage = document.getElementById("stage-" + key);
      if (x === null || !stage) continue;
      stage.querySelector(".receipt-x").textContent = x;
      stage.querySelector(".receipt-n").textContent = r.screens;
      const bar = stage.querySelector("progress");
      bar.max = r.screens || 1;
      bar.value = x;
    }
    const any = r.laggards_total > 0;
    document.getElementById("laggards-title").hidden = !any;
    document.getElementById("laggards").hidden = !any;
    body.replaceChildren(...r.laggards.map(row));
    document.getElementById("laggards-more").textContent = r.more_words;
  }

  async function refresh() {
    try {
      const res = await fetch(d.url, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(res.status);
      const r = await res.json();
      if (r.done) {
        window.location.reload();
        return;
      }
      show(r);
    } catch (e) {
      // a restart or a lost connection: try again, a little later
      setTimeout(refresh, 5000);
      return;
    }
    setTimeout(refresh, 2500);
  }
  setTimeout(refresh, 2500);
})();
