// A warning's receipt, live: poll it every second while the broadcast shows (as the
// broadcast progress page does), once when it is over.
(function () {
  const box = document.getElementById("receipt");
  if (!box) return;
  const d = box.dataset;
  const body = document.querySelector("#receipt-rows tbody");

  // The receipt's times are UTC instants; people read Beijing time.
  const time = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour12: false,
    hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const day = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour12: false,
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });

  function why(t) {
    if (t.shown_at) return time.format(new Date(t.shown_at));
    if (t.problem === "offline") return t.since ? d.offline.replace("{when}", day.format(new Date(t.since))) : d.offlineNever;
    if (t.problem === "screen_off") return d.screenOff;
    return d.waiting;
  }

  function row(t) {
    const tr = document.createElement("tr");
    tr.id = "receipt-" + t.terminal_id;
    const cells = [t.name, [t.community, t.building].filter(Boolean).join(" · "), why(t)];
    for (const text of cells) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.appendChild(td);
    }
    tr.lastChild.className = t.shown_at ? "shown" : "not-shown problem-" + (t.problem || "waiting");
    return tr;
  }

  async function refresh() {
    let r;
    try {
      const res = await fetch(d.url, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(res.status);
      r = await res.json();
    } catch (e) {
      setTimeout(refresh, 3000);
      return;
    }
    document.getElementById("acked").textContent = r.acknowledged;
    document.getElementById("targeted").textContent = r.targeted;
    const counts = r.counts || {};
    const parts = [["offline", d.countOffline], ["screen_off", d.countScreenOff], ["waiting", d.countWaiting]]
      .filter(([k]) => counts[k]).map(([k, text]) => text.replace("{n}", counts[k]));
    document.getElementById("receipt-counts").textContent = parts.join(" · ");
    const bar = document.getElementById("receipt-bar");
    bar.value = r.acknowledged;
    bar.max = r.targeted || 1;
    // not shown first: they are what staff have to act on
    const rows = r.terminals.slice().sort((a, b) => (!!a.shown_at - !!b.shown_at) || a.name.localeCompare(b.name, "zh"));
    body.replaceChildren(...rows.map(row));
    const live = r.broadcast && r.broadcast.state === "active";
    if (live) setTimeout(refresh, r.acknowledged < r.targeted ? 1000 : 10000);
  }
  refresh();
})();
