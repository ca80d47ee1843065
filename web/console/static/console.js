/* The console shell: login, navigation, the JSON API with the token, polling, streams, charts,
 * confirmations. Pages register themselves with Console.registerPage (see web/console/README.md). */
"use strict";

(function () {
  const TOKEN_KEY = "zapq.console.token";

  // Every page, in nav order; a page's script registers its render function under the same id.
  // role "admin": the operator only; role "agent": agents and the operator.
  const NAV = [
    { id: "queues", title: "Queues", role: "admin" },
    { id: "deadletters", title: "Dead letters", role: "admin" },
    { id: "flow", title: "Flow control", role: "admin" },
    { id: "tasks", title: "Tasks", role: "agent" },
    { id: "conversations", title: "Conversations", role: "agent" },
    { id: "analytics", title: "Analytics", role: "admin" },
  ];
  // Where each role lands: an agent's work is the handoff inbox.
  const HOME = { admin: "queues", agent: "conversations" };

  const pages = {};
  let session = null; // {actor, role, organization_id}
  let current = null; // {id, cleanups: [fn]}

  class ApiError extends Error {
    constructor(status, error, detail) {
      super(detail || error || "HTTP " + status);
      this.status = status;
      this.error = error;
      this.detail = detail;
    }
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /* el("div", {class: "card", onclick: fn}, "text", child): DOM without innerHTML, so data is never markup. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "style") Object.assign(node.style, value); // an object: CSP forbids style attributes
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  async function api(path, options) {
    options = options || {};
    const headers = { Authorization: "Bearer " + token() };
    let body;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await fetch(path, { method: options.method || "GET", headers, body, signal: options.signal });
    let payload = null;
    try {
      payload = await response.json();
    } catch (_) {
      payload = null;
    }
    if (!response.ok) {
      const error = new ApiError(response.status, payload && payload.error, payload && payload.detail);
      if (response.status === 401 && !options.keepSession) signOut("Your session ended: " + error.message);
      throw error;
    }
    return payload;
  }

  function onLeave(cleanup) {
    if (current) current.cleanups.push(cleanup);
  }

  /* Call api(path) now and every intervalMs while the page is shown; onData(json), onError(ApiError). */
  function poll(path, intervalMs, onData, onError) {
    let stopped = false;
    let timer = null;
    const pathOf = typeof path === "function" ? path : () => path;
    async function tick() {
      if (stopped) return;
      try {
        const data = await api(pathOf());
        if (!stopped) onData(data);
      } catch (error) {
        if (!stopped && onError) onError(error);
      }
      if (!stopped) timer = setTimeout(tick, intervalMs);
    }
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
    };
    onLeave(stop);
    tick();
    return { stop, now: () => { clearTimeout(timer); tick(); } };
  }

  /* Server-sent events with the bearer token (EventSource cannot send headers): onEvent({event, data}). */
  function stream(path, onEvent, onError) {
    const controller = new AbortController();
    onLeave(() => controller.abort());
    (async () => {
      try {
        const response = await fetch(path, {
          headers: { Authorization: "Bearer " + token(), Accept: "text/event-stream" },
          signal: controller.signal,
        });
        if (!response.ok) throw new ApiError(response.status, "stream_refused", "HTTP " + response.status);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = { event: "message", data: "", id: null };
            for (const line of block.split("\n")) {
              const colon = line.indexOf(":");
              if (colon <= 0) continue;
              const field = line.slice(0, colon);
              const text = line.slice(colon + 1).replace(/^ /, "");
              if (field === "data") event.data += (event.data ? "\n" : "") + text;
              else if (field === "event") event.event = text;
              else if (field === "id") event.id = text;
            }
            if (event.data) onEvent(event);
          }
        }
      } catch (error) {
        if (!controller.signal.aborted && onError) onError(error);
      }
    })();
    return { stop: () => controller.abort() };
  }

  /* A modal confirmation; resolves true only when the user pressed the confirm button. */
  function confirm(message, confirmLabel) {
    const dialog = document.getElementById("confirm-dialog");
    document.getElementById("confirm-message").textContent = message;
    document.getElementById("confirm-ok").textContent = confirmLabel || "Confirm";
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
    });
  }

  function toast(message, kind) {
    const node = el("div", { class: "toast " + (kind || "info"), role: "status" }, message);
    document.getElementById("toasts").append(node);
    setTimeout(() => node.remove(), 5000);
  }

  /* Small hand-written SVG charts. */
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    return node;
  }

  /* sparkline([1, 4, 2], {width, height, label, className}): a line with its area, scaled to max(values). */
  function sparkline(values, opts) {
    opts = opts || {};
    const width = opts.width || 240;
    const height = opts.height || 48;
    const max = Math.max(1, ...values);
    const step = values.length > 1 ? width / (values.length - 1) : width;
    const points = values.map((v, i) => [i * step, height - 2 - (v / max) * (height - 4)]);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart " + (opts.className || ""),
      role: "img", "aria-label": opts.label || "chart", preserveAspectRatio: "none" });
    if (points.length) {
      const line = points.map((p) => p[0].toFixed(1) + "," + p[1].toFixed(1)).join(" ");
      chart.append(svg("polygon", { points: `0,${height} ${line} ${width},${height}`, class: "area" }));
      chart.append(svg("polyline", { points: line, class: "line" }));
    }
    return chart;
  }

  /* bars([{label, value, className}], {width, barHeight}): horizontal bars, labelled, scaled to the largest. */
  function bars(rows, opts) {
    opts = opts || {};
    const max = Math.max(1, ...rows.map((r) => r.value));
    return el("div", { class: "bars" }, rows.map((row) =>
      el("div", { class: "bar-row" },
        el("span", { class: "bar-label" }, row.label),
        el("span", { class: "bar-track" },
          el("span", { class: "bar " + (row.className || ""), style: { width: (100 * row.value) / max + "%" } })),
        el("span", { class: "bar-value" }, String(row.value)))));
  }

  function registerPage(page) {
    pages[page.id] = page;
  }

  function allowed(entry) {
    return session && (session.role === "admin" || session.role === entry.role);
  }

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, "");
    const [id, query] = hash.split("?");
    return { id: id || "", params: new URLSearchParams(query || "") };
  }

  function renderNav(activeId) {
    const nav = document.getElementById("nav");
    nav.replaceChildren(...NAV.filter(allowed).map((entry) =>
      el("a", { href: "#/" + entry.id, class: entry.id === activeId ? "active" : null,
        "aria-current": entry.id === activeId ? "page" : null, dataset: { page: entry.id } }, entry.title)));
  }

  function leavePage() {
    if (!current) return;
    for (const cleanup of current.cleanups.splice(0)) {
      try { cleanup(); } catch (_) { /* a page's cleanup must not block navigation */ }
    }
    current = null;
  }

  function route() {
    if (!session) return;
    const { id, params } = parseHash();
    const entry = NAV.find((e) => e.id === id && allowed(e))
      || NAV.find((e) => e.id === HOME[session.role] && allowed(e)) || NAV.find(allowed);
    if (!entry) return;
    if (entry.id !== id) {
      location.replace("#/" + entry.id);
      return;
    }
    leavePage();
    current = { id: entry.id, cleanups: [] };
    renderNav(entry.id);
    const root = document.getElementById("page");
    root.replaceChildren();
    root.dataset.page = entry.id;
    document.title = entry.title + " · zapq console";
    const page = pages[entry.id];
    if (!page) {
      root.append(el("p", { class: "muted" }, "This page is not installed."));
      return;
    }
    try {
      page.render({ root, params, session, api, poll, stream, onLeave, el, confirm, toast,
        charts: { sparkline, bars } });
    } catch (error) {
      root.append(el("p", { class: "error" }, "This page failed: " + error.message));
    }
  }

  function showLogin(message) {
    document.getElementById("app").hidden = true;
    document.getElementById("login").hidden = false;
    const error = document.getElementById("login-error");
    error.hidden = !message;
    error.textContent = message || "";
    document.getElementById("login-token").focus();
  }

  function showApp() {
    document.getElementById("login").hidden = true;
    document.getElementById("app").hidden = false;
    document.getElementById("who").textContent = session.actor + " · " + session.role;
    route();
  }

  function signOut(message) {
    leavePage();
    session = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message);
  }

  async function signIn(candidate) {
    sessionStorage.setItem(TOKEN_KEY, candidate);
    try {
      session = await api("/api/console/session", { keepSession: true });
    } catch (error) {
      sessionStorage.removeItem(TOKEN_KEY);
      session = null;
      showLogin("Sign-in refused: " + error.message);
      return false;
    }
    showApp();
    return true;
  }

  function start() {
    document.getElementById("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = document.getElementById("login-submit");
      button.disabled = true;
      const input = document.getElementById("login-token");
      const ok = await signIn(input.value.trim());
      button.disabled = false;
      if (ok) input.value = "";
    });
    document.getElementById("logout").addEventListener("click", () => signOut(""));
    window.addEventListener("hashchange", route);
    const saved = token();
    if (saved) signIn(saved);
    else showLogin("");
  }

  /* Formatting helpers shared by pages. */
  function time(value) {
    if (value === null || value === undefined || value === "") return "—";
    const date = typeof value === "number" ? new Date(value) : new Date(String(value));
    return isNaN(date) ? String(value) : date.toLocaleString();
  }
  function relative(ms) {
    if (ms === null || ms === undefined) return "—";
    const s = Math.round(ms / 1000);
    if (Math.abs(s) < 90) return s + " s";
    const m = Math.round(s / 60);
    if (Math.abs(m) < 90) return m + " min";
    return Math.round(m / 60) + " h";
  }

  window.Console = { registerPage, api, poll, stream, confirm, toast, el, ApiError, start,
    charts: { sparkline, bars }, format: { time, relative }, get session() { return session; } };
})();
