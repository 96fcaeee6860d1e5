/**
 * The dashboard's script, plain browser JavaScript kept as a string (no build step, no
 * framework): it polls `GET /ui/state` every 2 s and rebuilds the page's tables, cards and
 * charts from it; asks for an API key on a 401 and keeps it in sessionStorage; calls
 * `POST /admin/load` and `/admin/unload` from the buttons it shows to admin keys. Every value
 * from the gateway reaches the page as a text node or a property, never as HTML.
 *
 * @module
 */

/** `GET /ui/app.js` (a template with neither backticks nor interpolation inside). */
export const UI_SCRIPT: string = String.raw`"use strict";
(() => {
  const KEY = "cortex-api-key";
  const POLL_MS = 2000;
  const SVG = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);
  // Actions under way, by "model|node": their button stays disabled across refreshes.
  const pending = new Map();
  let timer = null;

  // A DOM element; strings among the children become text nodes.
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === "class") node.className = value;
      else if (name === "onclick") node.addEventListener("click", value);
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function notice(text, isError) {
    const p = $("notice");
    p.textContent = text;
    p.className = isError ? "error" : "";
    p.hidden = !text;
  }

  function api(path, init) {
    const headers = Object.assign({}, (init && init.headers) || {});
    const key = sessionStorage.getItem(KEY);
    if (key) headers.authorization = "Bearer " + key;
    return fetch(path, Object.assign({}, init || {}, { headers, cache: "no-store" }));
  }

  async function errorText(res) {
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) { /* not JSON */ }
    return "HTTP " + res.status;
  }

  function askForKey(why) {
    stop();
    $("dash").hidden = true;
    $("forget").hidden = true;
    $("who").textContent = "";
    $("key-why").textContent = why;
    $("key-form").hidden = false;
    $("key-input").focus();
  }

  function start() {
    stop();
    refresh();
    timer = setInterval(refresh, POLL_MS);
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
  }

  async function refresh() {
    let res;
    try {
      res = await api("/ui/state");
    } catch (e) {
      notice("gateway unreachable: " + e.message, true);
      return;
    }
    if (res.status === 401) {
      const had = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
      askForKey(had ? "The gateway refused that key (" + (await errorText(res)) + ")." : "This gateway needs an API key.");
      return;
    }
    if (!res.ok) {
      notice("GET /ui/state: " + (await errorText(res)), true);
      return;
    }
    const state = await res.json();
    $("key-form").hidden = true;
    $("dash").hidden = false;
    const keyed = sessionStorage.getItem(KEY) !== null;
    $("forget").hidden = !keyed;
    $("who").textContent = keyed ? (state.admin ? "admin key" : "key (read-only)") : "no keys configured";
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    render(state);
  }

  function render(state) {
    renderNodes(state.fleet.nodes);
    renderModels(state);
    renderRecent(state.recent);
    const samples = state.series.samples;
    const minutes = Math.round(samples.length * state.series.interval_s / 60);
    chart($("chart-tok"), $("tok-caption"), "Output tokens/s, last " + minutes + " min", samples.map((s) => s.tok_s));
    chart($("chart-ttft"), $("ttft-caption"), "Mean time to first token (ms), last " + minutes + " min", samples.map((s) => s.ttft_ms));
  }

  function health(node) {
    if (node.draining) return "draining";
    return node.healthy ? "healthy" : "unhealthy";
  }

  function renderNodes(nodes) {
    const cards = nodes.map((node) => {
      const state = health(node);
      const card = el("div", { class: "card node", "data-node": node.name },
        el("h3", {}, node.name, el("span", { class: "badge " + state }, state)));
      const facts = [node.hostname, node.backend, node.uptime_s === null ? null : "up " + duration(node.uptime_s)]
        .filter((x) => x);
      if (facts.length) card.append(el("div", { class: "muted" }, facts.join(" · ")));
      if (node.last_error && !node.healthy) card.append(el("div", { class: "muted" }, node.last_error));
      for (const d of node.devices) {
        const used = Math.max(0, d.total_mb - d.free_mb);
        const fill = el("div");
        fill.style.width = (d.total_mb > 0 ? Math.min(100, 100 * used / d.total_mb) : 0).toFixed(1) + "%";
        card.append(el("div", { class: "device" },
          el("div", {}, "device " + d.index + (d.name ? " · " + d.name : "") + ": " + mb(used) + " / " + mb(d.total_mb) + " used"),
          el("div", { class: "bar", title: mb(d.free_mb) + " free" }, fill)));
      }
      return card;
    });
    $("nodes").replaceChildren(...(cards.length ? cards : [el("p", { class: "muted" }, "No nodes configured.")]));
  }

  function renderModels(state) {
    const rows = [];
    const placed = new Set();
    for (const node of state.fleet.nodes) {
      for (const m of node.models) {
        placed.add(m.id);
        rows.push({ model: m.id, node: node.name, info: m });
      }
    }
    for (const id of state.catalogue) if (!placed.has(id)) rows.push({ model: id, node: null, info: null });
    rows.sort((a, b) => a.model.localeCompare(b.model) || String(a.node).localeCompare(String(b.node)));
    const withTtl = rows.some((r) => r.info && r.info.ttl_s !== undefined);
    const heads = ["Model", "Node", "Status", "Memory", "In flight", "Idle"];
    if (withTtl) heads.push("TTL");
    heads.push("Decode tok/s");
    if (state.admin) heads.push("");
    $("models").tHead.rows[0].replaceChildren(...heads.map((h) => el("th", {}, h)));
    const body = rows.map((r) => {
      const m = r.info || {};
      const status = r.info ? m.status : "not placed";
      const tr = el("tr", { "data-model": r.model, "data-node": r.node || "" },
        el("td", {}, r.model),
        el("td", {}, r.node || "—"),
        el("td", {}, el("span", { class: "badge " + status }, status)),
        el("td", { class: "num" }, m.memory_mb ? mb(m.memory_mb) : "—"),
        el("td", { class: "num" }, r.info ? m.in_flight + (m.queue_depth ? " (+" + m.queue_depth + " queued)" : "") : "—"),
        el("td", { class: "num" }, m.last_used_s_ago === null || m.last_used_s_ago === undefined ? "—" : duration(m.last_used_s_ago)));
      if (withTtl) tr.append(el("td", { class: "num" }, m.ttl_s === undefined || m.ttl_s === null ? "—" : duration(m.ttl_s)));
      tr.append(el("td", { class: "num" }, m.decode_tok_s ? m.decode_tok_s.toFixed(1) : "—"));
      if (state.admin) tr.append(el("td", {}, actionButton(r.model, r.node, status)));
      return tr;
    });
    $("models").tBodies[0].replaceChildren(...body);
  }

  function actionButton(model, node, status) {
    const key = model + "|" + (node || "");
    if (pending.has(key)) return el("button", { type: "button", disabled: "" }, pending.get(key));
    if (status === "loaded") {
      return el("button", { type: "button", onclick: () => act("unload", model, node) }, "Unload");
    }
    if (status === "available" || status === "failed" || status === "not placed") {
      return el("button", { type: "button", onclick: () => act("load", model, node) }, "Load");
    }
    return null;
  }

  async function act(kind, model, node) {
    const key = model + "|" + (node || "");
    pending.set(key, kind === "load" ? "Loading…" : "Unloading…");
    notice(kind + " " + model + (node ? " on " + node : "") + "…", false);
    refresh();
    const body = node ? { model, node } : { model };
    try {
      const res = await api("/admin/" + kind, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status === 401) return askForKey("The gateway refused that key.");
      if (!res.ok) return notice(kind + " " + model + " failed: " + (await errorText(res)), true);
      const out = await res.json();
      if (kind === "load") {
        notice("loaded " + out.model + " on " + out.node + " in " + out.load_ms + " ms" +
          (out.evicted && out.evicted.length ? " (evicted " + out.evicted.join(", ") + ")" : ""), false);
      } else {
        notice("unloaded " + out.model + " from " + out.unloaded_from.join(", "), false);
      }
    } catch (e) {
      notice(kind + " " + model + " failed: " + e.message, true);
    } finally {
      pending.delete(key);
      refresh();
    }
  }

  function renderRecent(recent) {
    const rows = recent.map((r) => el("tr", {},
      el("td", {}, new Date(r.at_ms).toLocaleTimeString()),
      el("td", {}, r.model),
      el("td", {}, r.node || "—"),
      el("td", {}, r.dialect),
      el("td", { class: "num" }, r.status),
      el("td", { class: "num" }, r.ttft_ms === null ? "—" : r.ttft_ms + " ms" + (r.cold ? " (cold)" : "")),
      el("td", { class: "num" }, r.decode_tok_s === null ? "—" : r.decode_tok_s.toFixed(1)),
      el("td", { class: "num" }, (r.prompt_tokens === null ? "—" : r.prompt_tokens) + " / " + (r.completion_tokens === null ? "—" : r.completion_tokens)),
      el("td", { class: "num" }, r.duration_ms + " ms")));
    $("recent").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 9, class: "muted" }, "No requests yet."))]));
  }

  // A line chart of one value per sample (null: no data, drawn as a gap) in a 300×80 box; the
  // guides mark zero, half and the maximum.
  function chart(svg, caption, title, values) {
    const known = values.filter((v) => v !== null);
    const max = Math.max(1, ...known);
    caption.textContent = title + (known.length ? " · max " + round(Math.max(...known)) : "");
    const shapes = [];
    for (const y of [3, 40, 77]) {
      const line = document.createElementNS(SVG, "line");
      for (const [k, v] of [["x1", 0], ["x2", 300], ["y1", y], ["y2", y]]) line.setAttribute(k, String(v));
      shapes.push(line);
    }
    // 4 units of margin at each end, so that a dot at either edge stays whole.
    const step = values.length > 1 ? 292 / (values.length - 1) : 0;
    let points = [];
    const flush = () => {
      if (points.length === 1) {
        // A lone sample has no line to draw: a dot instead.
        const [x, y] = points[0].split(",");
        const dot = document.createElementNS(SVG, "circle");
        for (const [k, v] of [["cx", x], ["cy", y], ["r", 2]]) dot.setAttribute(k, String(v));
        shapes.push(dot);
      } else if (points.length > 1) {
        const poly = document.createElementNS(SVG, "polyline");
        poly.setAttribute("points", points.join(" "));
        shapes.push(poly);
      }
      points = [];
    };
    values.forEach((v, i) => {
      if (v === null) return flush();
      points.push((4 + i * step).toFixed(1) + "," + (77 - 74 * v / max).toFixed(1));
    });
    flush();
    svg.replaceChildren(...shapes);
  }

  function round(x) {
    return x >= 100 ? Math.round(x) : Math.round(x * 10) / 10;
  }

  function mb(x) {
    return x >= 1024 ? (x / 1024).toFixed(1) + " GB" : Math.round(x) + " MB";
  }

  function duration(s) {
    if (s < 60) return Math.round(s) + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    $("key-input").value = "";
    start();
  });
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    askForKey("Key forgotten.");
  });
  start();
})();
`;
