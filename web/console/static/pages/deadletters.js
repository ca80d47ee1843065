/* Dead letters: the newest of a queue, inspect one (arguments, options, traceback), requeue one or
 * all, delete. Every change is confirmed first and recorded with who did it. */
"use strict";

Console.registerPage({
  id: "deadletters",
  render(ctx) {
    const { el, root } = ctx;
    let queue = ctx.params.get("queue") || "";
    let selected = ctx.params.get("id") || "";
    let lastList = "";

    const picker = el("select", { id: "dead-queue", "aria-label": "Queue" });
    const requeueAll = el("button", { id: "requeue-all", type: "button", class: "primary" }, "Requeue all");
    const updated = el("span", { class: "updated" }, "loading…");
    const rows = el("tbody", { id: "dead-rows" });
    const detail = el("section", { id: "dead-detail", class: "card", hidden: true });
    const log = el("tbody", { id: "action-rows" });
    root.append(
      el("div", { class: "row page-head" }, el("h1", {}, "Dead letters"), el("span", { class: "spacer" }), updated),
      el("div", { class: "row toolbar" }, picker, el("span", { class: "spacer" }), requeueAll),
      el("div", { class: "table-wrap card flush" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Died"), el("th", {}, "Actor"), el("th", {}, "Last error"),
          el("th", { class: "num" }, "Retries"), el("th", {}, ""))),
        rows)),
      detail,
      el("h2", { class: "section-title" }, "Recent actions"),
      el("div", { class: "table-wrap card flush" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "When"), el("th", {}, "Who"), el("th", {}, "Action"),
          el("th", {}, "Target"))), log)));

    picker.addEventListener("change", () => {
      location.hash = "#/deadletters?queue=" + encodeURIComponent(picker.value);
    });

    function go(path) {
      return "/api/console/deadletters/" + encodeURIComponent(queue) + (path ? "/" + path : "");
    }

    async function act(label, question, path, id) {
      if (!(await ctx.confirm(question, label))) return;
      try {
        const result = await ctx.api(go(path), { method: "POST", body: { confirm: true } });
        const count = result.requeued !== undefined ? result.requeued : result.deleted;
        ctx.toast(label + ": " + count + " message" + (count === 1 ? "" : "s"), "ok");
        if (id && id === selected) closeDetail();
      } catch (error) {
        ctx.toast(label + " failed: " + error.message, "error");
      }
      list.now();
      actions.now();
    }

    function requeue(letter) {
      return act("Requeue", `Requeue ${letter.actor_name || "this message"} onto ${queue}? It runs again now.`,
        letter.id + "/requeue", letter.id);
    }

    function remove(letter) {
      return act("Delete", `Delete this dead letter of ${letter.actor_name || "an unknown actor"} for good?`,
        letter.id + "/delete", letter.id);
    }

    requeueAll.addEventListener("click", () => {
      const count = Number(picker.selectedOptions[0] && picker.selectedOptions[0].dataset.count) || 0;
      act("Requeue all", `Requeue all ${count} dead letters of ${queue}? They run again now.`, "requeue-all");
    });

    function closeDetail() {
      selected = "";
      detail.hidden = true;
      detail.replaceChildren();
      for (const row of rows.querySelectorAll("tr.selected")) row.classList.remove("selected");
    }

    function json(value) {
      return el("pre", {}, JSON.stringify(value, null, 2));
    }

    async function inspect(letter) {
      selected = letter.id;
      for (const row of rows.querySelectorAll("tr")) row.classList.toggle("selected", row.dataset.id === letter.id);
      let full;
      try {
        full = await ctx.api(go(letter.id));
      } catch (error) {
        ctx.toast("Cannot open it: " + error.message, "error");
        return;
      }
      const options = Object.assign({}, full.options || {});
      delete options.traceback;
      detail.replaceChildren(
        el("div", { class: "row" }, el("h2", {}, full.actor_name || "(body missing)"), el("span", { class: "spacer" }),
          el("button", { type: "button", class: "link", onclick: closeDetail }, "Close")),
        el("dl", { class: "facts" },
          el("dt", {}, "Message id"), el("dd", { class: "mono" }, full.message_id || "—"),
          el("dt", {}, "Delivery id"), el("dd", { class: "mono" }, full.id),
          el("dt", {}, "Queue"), el("dd", {}, full.queue),
          el("dt", {}, "Enqueued"), el("dd", {}, Console.format.time(full.enqueued_at_ms)),
          el("dt", {}, "Died"), el("dd", {}, Console.format.time(full.died_at_ms)),
          el("dt", {}, "Retries"), el("dd", {}, String(full.retries)),
          el("dt", {}, "Last error"), el("dd", { class: "error", id: "dead-last-error" }, full.last_error || "—")),
        el("h3", {}, "Arguments"), json(full.args),
        el("h3", {}, "Keyword arguments"), json(full.kwargs),
        el("h3", {}, "Options"), json(options),
        el("h3", {}, "Traceback"), el("pre", { id: "dead-traceback" }, full.traceback || "(none stored)"),
        el("div", { class: "row" },
          el("button", { type: "button", class: "primary", onclick: () => requeue(full) }, "Requeue"),
          el("button", { type: "button", class: "danger", onclick: () => remove(full) }, "Delete")));
      detail.hidden = false;
      detail.scrollIntoView({ block: "nearest" });
    }

    function show(data) {
      queue = data.queue;
      const signature = JSON.stringify(data);
      if (signature === lastList) return;
      lastList = signature;
      picker.replaceChildren(...Object.entries(data.counts).map(([name, count]) =>
        el("option", { value: name, selected: name === queue, dataset: { count } }, `${name} (${count})`)));
      requeueAll.disabled = !data.counts[queue];
      if (!data.dead_letters.length) {
        rows.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No dead letters in " + queue)));
      } else {
        rows.replaceChildren(...data.dead_letters.map((letter) =>
          el("tr", { dataset: { id: letter.id }, class: letter.id === selected ? "selected" : null },
            el("td", { class: "nowrap" }, Console.format.time(letter.died_at_ms)),
            el("td", { class: "mono" }, letter.actor_name || "(body missing)"),
            el("td", { class: "error clip" }, letter.last_error || "—"),
            el("td", { class: "num" }, String(letter.retries)),
            el("td", { class: "actions" },
              el("button", { type: "button", onclick: () => inspect(letter) }, "Inspect"),
              el("button", { type: "button", class: "requeue", onclick: () => requeue(letter) }, "Requeue"),
              el("button", { type: "button", class: "delete", onclick: () => remove(letter) }, "Delete")))));
      }
      if (selected && !data.dead_letters.some((letter) => letter.id === selected)) closeDetail();
    }

    const list = ctx.poll(() => "/api/console/deadletters" + (queue ? "?queue=" + encodeURIComponent(queue) : ""),
      1000, (data) => {
        show(data);
        updated.textContent = "updated " + new Date().toLocaleTimeString();
      }, (error) => { updated.textContent = "not updated: " + error.message; });

    const actions = ctx.poll("/api/console/actions?limit=10", 5000, (data) => {
      const mine = data.actions.filter((a) => a.action.startsWith("dead_letter."));
      log.replaceChildren(...(mine.length ? mine.map((a) => el("tr", {},
        el("td", { class: "nowrap" }, Console.format.time(a.at)), el("td", {}, a.actor),
        el("td", {}, a.action), el("td", { class: "mono clip" }, a.target)))
        : [el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No actions yet"))]));
    });

    if (selected) inspect({ id: selected });
  },
});
