// The fleet wall: tiles from the page's JSON, then live updates over Socket.IO (/staff).
// Only the tile an event names is rebuilt; filters hide and show, they never re-render.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("wall-data").textContent);
  const cfg = data.config, L = data.labels;
  const grid = document.getElementById("wall");
  const tiles = new Map();   // id -> tile data (as the server builds it)
  const nodes = new Map();   // id -> element
  const health = new Map();  // id -> last alert {kind, detail, at, health}
  const picked = new Set();  // selected terminal ids
  const $ = (id) => document.getElementById(id);
  const fCommunity = $("filter-community"), fBuilding = $("filter-building"), fState = $("filter-state");

  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, (_m, k) => String(values[k]));
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function hhmm(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  }
  // A moment that may be days ago (an offline screen's last report): the date too unless today.
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso), now = new Date();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    if (d.toDateString() === now.toDateString()) return time;
    return (d.getMonth() + 1) + "-" + String(d.getDate()).padStart(2, "0") + " " + time;
  }
  // Why a terminal needs attention, in words: the same rule the header's count uses.
  function reasons(t) {
    const out = [];
    if (t.problems.includes("offline")) {
      out.push(t.last_seen_at ? fmt(L.offline_since, { when: when(t.last_seen_at) }) : L.unknown);
    }
    if (t.problems.includes("not_ready")) out.push(L[t.readiness]);
    if (t.problems.includes("clock")) out.push(L.clock + " " + t.clock_offset_s.toFixed(1) + " s");
    const h = health.get(t.id);
    if (h && h.health && h.health !== "ok") out.push(L[h.health] || h.health);
    return out;
  }
  function problem(t) {
    const h = health.get(t.id);
    return t.problems.length > 0 || (h && h.health && h.health !== "ok");
  }

  function build(t) {
    const root = el("div", "tile");
    root.dataset.id = t.id;
    root.id = "tile-" + t.id;
    const head = el("div", "tile-head");
    const pick = el("input", "pick");
    pick.type = "checkbox";
    pick.checked = picked.has(t.id);
    pick.hidden = !data.can_command;
    pick.setAttribute("aria-label", t.name);
    pick.addEventListener("change", () => { pick.checked ? picked.add(t.id) : picked.delete(t.id); showPicked(); });
    const name = el("a", "name", t.name);
    name.href = cfg.terminal_url.replace(/0$/, t.id);
    const state = el("mark", "state " + (t.online ? "on" : "off"), t.online ? L.online : L.offline);
    head.append(pick, name, state);
    const h = health.get(t.id);
    if (h && h.health && h.health !== "ok") {
      const b = el("mark", "health " + h.health, L[h.health] || h.health);
      b.title = (h.detail || "") + " " + hhmm(h.at);
      head.append(b);
    }
    root.append(head);

    if (t.screenshot) {
      const img = el("img", "shot");
      img.alt = t.name;
      img.loading = "lazy";
      img.src = cfg.screenshot_url.replace("/0/0.png", "/" + t.id + "/" + t.screenshot.command_id + ".png");
      img.title = hhmm(t.screenshot.at);
      root.append(img);
    } else {
      root.append(el("div", "shot none", L.no_shot));
    }
    root.append(el("p", "where", t.building + " · " + t.community));
    // An offline screen plays nothing we know of: say what it last reported, and when.
    if (t.online) {
      root.append(el("p", "playing", t.playing
        ? L.playing + "：" + t.playing.title + (t.playing.since ? " · " + L.since + " " + hhmm(t.playing.since) : "")
        : L.nothing));
    } else {
      root.append(el("p", "playing", t.playing ? L.last_played + "：" + t.playing.title : L.nothing_known));
    }
    const facts = el("p", "facts");
    if (t.online) {
      facts.append(el("span", "readiness " + t.readiness, L[t.readiness]));
    } else {
      facts.append(el("span", "readiness offline",
        t.last_seen_at ? fmt(L.offline_since, { when: when(t.last_seen_at) }) : L.unknown));
    }
    if (t.screen_on !== null) {
      facts.append(" · ", el("span", "screen", t.screen_on ? L.screen_on : L.screen_off));
      facts.append(" · ", el("span", "brightness", L.brightness + " " + t.brightness + "%"));
    }
    const clock = el("span", "clock" + (t.problems.includes("clock") ? " bad" : ""),
      L.clock + " " + (t.clock_offset_s > 0 ? "+" : "") + t.clock_offset_s.toFixed(1) + " s");
    facts.append(" · ", clock);
    if (t.player_version) facts.append(" · ", el("span", "version", L.player + " " + t.player_version));
    if (!t.paired) facts.append(" · ", el("span", "unpaired", L.unpaired));
    root.append(facts);
    root.dataset.state = t.online ? "online" : "offline";
    return root;
  }

  function matches(t) {
    if (fCommunity.value && String(t.community_id) !== fCommunity.value) return false;
    if (fBuilding.value && String(t.building_id) !== fBuilding.value) return false;
    const s = fState.value;
    if (s === "online" && !t.online) return false;
    if (s === "offline" && t.online) return false;
    if (s === "problem" && !problem(t)) return false;
    return true;
  }

  function place(t) {
    const fresh = build(t);
    fresh.hidden = !matches(t);
    const old = nodes.get(t.id);
    if (old) old.replaceWith(fresh); else grid.append(fresh);
    nodes.set(t.id, fresh);
  }

  function update(t) {
    const old = tiles.get(t.id);
    tiles.set(t.id, t);
    if (!old || JSON.stringify(old) !== JSON.stringify(t)) place(t);
    summarise();
  }

  // Counting walks every tile: do it at most once a frame, however many events arrive.
  let summaryQueued = false;
  function summarise() {
    if (summaryQueued) return;
    summaryQueued = true;
    requestAnimationFrame(count);
  }
  function count() {
    summaryQueued = false;
    let online = 0, offline = 0, prob = 0, shown = 0;
    for (const t of tiles.values()) {
      t.online ? online++ : offline++;
      if (problem(t)) prob++;
      if (matches(t)) shown++;
    }
    $("wall-summary").textContent = fmt(L.summary, { online: online, offline: offline, problem: prob, shown: shown });
    $("problem-count").textContent = prob;
    $("wall-empty").hidden = shown > 0;
    if (box.open) listProblems();
  }

  // The panel lists the terminals the header counts as needing attention (built only while
  // it is open: at 1,000 tiles a list per event would cost more than the tiles).
  const box = $("alerts-box");
  function listProblems() {
    const list = $("problem-list");
    const items = [];
    for (const t of tiles.values()) {
      if (!problem(t)) continue;
      const a = el("a", null, t.name);
      a.href = cfg.terminal_url.replace(/0$/, t.id);
      const li = el("li");
      li.append(a, " · " + reasons(t).join(" · "));
      items.push(li);
    }
    list.replaceChildren(...items);
  }
  box.addEventListener("toggle", () => { if (box.open) listProblems(); });

  function buildings() {
    const keep = fBuilding.value, seen = new Map();
    for (const t of tiles.values()) {
      if (!fCommunity.value || String(t.community_id) === fCommunity.value) seen.set(String(t.building_id), t.building);
    }
    fBuilding.length = 1;
    for (const [id, name] of [...seen.entries()].sort((a, b) => a[1].localeCompare(b[1], "zh"))) {
      fBuilding.append(new Option(name, id));
    }
    fBuilding.value = seen.has(keep) ? keep : "";
  }

  function refilter() {
    for (const [id, t] of tiles) nodes.get(id).hidden = !matches(t);
    summarise();
  }

  fCommunity.addEventListener("change", () => { buildings(); refilter(); });
  fBuilding.addEventListener("change", refilter);
  fState.addEventListener("change", refilter);

  // --- commands to a group -------------------------------------------------------------
  function shownIds() { return [...tiles.values()].filter(matches).map((t) => t.id); }
  function showPicked() {
    const c = $("selected-count");
    if (c) c.textContent = fmt(L.selected, { n: picked.size });
  }
  function setPicked(ids) {
    picked.clear();
    ids.forEach((id) => picked.add(id));
    for (const [id, node] of nodes) node.querySelector(".pick").checked = picked.has(id);
    showPicked();
  }
  async function send(ids, kind, args) {
    const out = $("command-result");
    if (!ids.length) { out.textContent = L.none_selected; return; }
    try {
      const r = await fetch(cfg.commands_url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": data.csrf },
        body: JSON.stringify({ terminal_ids: ids, kind: kind, args: args }),
      });
      const body = await r.json();
      out.textContent = r.ok ? fmt(L.sent, { n: body.sent }) : body.error.message;
      out.className = r.ok ? "ok" : "error";
    } catch (e) {
      out.textContent = L.failed;
      out.className = "error";
    }
  }
  if (data.can_command) {
    $("select-shown").addEventListener("click", () => setPicked(shownIds()));
    $("select-none").addEventListener("click", () => setPicked([]));
    $("send-command").addEventListener("click", () => {
      let kind = $("command-kind").value, args = {};
      if (kind === "screen_on" || kind === "screen_off") { args = { on: kind === "screen_on" }; kind = "screen"; }
      if (kind === "brightness") args = { level: parseInt($("command-level").value, 10) };
      send([...picked], kind, args);
    });
    // The level is asked for only with the brightness command, and says what it is.
    const kindSelect = $("command-kind");
    const showLevel = () => { $("command-level-label").hidden = kindSelect.value !== "brightness"; };
    kindSelect.addEventListener("change", showLevel);
    showLevel();
    $("refresh-screenshots").addEventListener("click", () =>
      send(shownIds().filter((id) => tiles.get(id).online), "screenshot", {}));
    showPicked();
  }

  // --- alerts (down, stuck, recovered) from the health checks ---------------------------
  function alert(a) {
    health.set(a.terminal_id, a);
    const t = tiles.get(a.terminal_id);
    if (t) { place(t); summarise(); }
    const list = $("alerts");
    const item = el("li", "alert " + (a.health || a.kind),
      hhmm(a.at) + " " + (t ? t.name : "#" + a.terminal_id) + " · " + (L[a.kind] || a.kind) + (a.detail ? " · " + a.detail : ""));
    list.prepend(item);
    while (list.children.length > 100) list.lastChild.remove();
    $("alert-count").textContent = list.children.length;
  }

  // --- live link ------------------------------------------------------------------------
  data.tiles.forEach((t) => { tiles.set(t.id, t); place(t); });
  buildings();
  summarise();

  const link = $("wall-link");
  const socket = io(cfg.namespace, { transports: ["websocket"] });
  socket.on("connect", async () => {
    // Events sent before this connection (since the page was rendered, or while we were
    // away) are gone: take the whole wall again; only tiles that differ are rebuilt.
    const r = await fetch(cfg.tiles_url, { credentials: "same-origin" });
    if (r.ok) (await r.json()).forEach(update);
    link.textContent = L.live;
    link.dataset.state = "live";
  });
  socket.on("disconnect", () => { link.textContent = L.reconnecting; link.dataset.state = "down"; });
  socket.io.on("reconnect_attempt", () => { link.textContent = L.reconnecting; link.dataset.state = "down"; });
  socket.on(cfg.event, update);
  socket.on("alert", alert);
})();
