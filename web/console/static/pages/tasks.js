/* Background tasks: the list, filtered by status, type, organisation or text; one task with its live
 * progress bar and log; cancel and retry, confirmed first and recorded with who did it. */
"use strict";

Console.registerPage({
  id: "tasks",
  render(ctx) {
    const { el, root } = ctx;
    const STATUSES = ["pending", "running", "retrying", "completed", "failed", "cancelled"];
    const STATUS_CLASS = { completed: "ok", failed: "bad", cancelled: "warn", retrying: "warn" };
    const ENDED = ["completed", "failed", "cancelled"];
    const updated = el("span", { class: "updated" }, "loading…");

    // The DOM's append and replaceChildren write null as "null": leave out what is not shown.
    function present(...nodes) {
      return nodes.flat().filter((node) => node !== null && node !== undefined && node !== false);
    }

    function statusPill(status) {
      return el("span", { class: "pill status " + (STATUS_CLASS[status] || ""), dataset: { status } }, status);
    }

    function progressBar(fraction, id) {
      const percent = Math.round(100 * (fraction || 0));
      const fill = el("span", { class: "progress-fill", style: { width: percent + "%" } });
      return el("span", { class: "progress", id, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-valuenow": percent, "aria-label": "Progress " + percent + "%" }, fill);
    }

    async function act(task, verb, question) {
      if (!(await ctx.confirm(question, verb))) return null;
      try {
        const result = await ctx.api("/api/console/tasks/" + task.id + "/" + verb.toLowerCase(),
          { method: "POST", body: { confirm: true } });
        ctx.toast(verb + ": " + (result.retry_of ? "new task " + result.task.id.slice(0, 8) : result.task.status), "ok");
        return result;
      } catch (error) {
        ctx.toast(verb + " failed: " + error.message, "error");
        return null;
      }
    }

    function cancel(task) {
      return act(task, "Cancel", `Cancel ${task.name}? A running task stops at its next progress report.`);
    }

    function retry(task) {
      return act(task, "Retry", `Run ${task.name} again? A new task with the same input is queued.`);
    }

    const taskId = ctx.params.get("id");
    if (taskId) showTask(taskId);
    else showList();

    function showList() {
      const params = ctx.params;
      const status = el("select", { id: "task-status", name: "status", "aria-label": "Status" },
        el("option", { value: "" }, "Any status"),
        STATUSES.map((s) => el("option", { value: s, selected: params.get("status") === s }, s)));
      const type = el("input", { id: "task-type", name: "type", placeholder: "type", value: params.get("type") || "",
        "aria-label": "Task type", spellcheck: "false", autocapitalize: "off" });
      const org = el("input", { id: "task-org", name: "organization", placeholder: "organisation",
        value: params.get("organization") || "", "aria-label": "Organisation", spellcheck: "false",
        autocapitalize: "off", hidden: ctx.session.role !== "admin" });
      const search = el("input", { id: "task-search", name: "q", type: "search", placeholder: "id, type or name",
        value: params.get("q") || "", "aria-label": "Search", spellcheck: "false", autocapitalize: "off" });
      const form = el("form", { id: "task-filters", class: "row toolbar filters" }, status, type, org, search,
        el("button", { type: "submit", class: "primary" }, "Filter"));
      const rows = el("tbody", { id: "task-rows" });
      root.append(...present(
        el("div", { class: "row page-head" }, el("h1", {}, "Tasks"), el("span", { class: "spacer" }), updated),
        ctx.session.role === "admin" ? null
          : el("p", { class: "muted" }, "The tasks of your organisation, " + ctx.session.organization_id + "."),
        form,
        el("div", { class: "table-wrap card flush" }, el("table", {},
          el("thead", {}, el("tr", {}, el("th", { class: "hide-phone" }, "Created"), el("th", {}, "Task"),
            el("th", { class: "hide-phone" }, "Organisation"),
            el("th", {}, "Status"), el("th", {}, "Progress"), el("th", { class: "num" }, "Attempts"), el("th", {}, ""))),
          rows))));

      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const query = new URLSearchParams();
        for (const input of [status, type, org, search]) if (input.value.trim()) query.set(input.name, input.value.trim());
        location.hash = "#/tasks" + (query.toString() ? "?" + query : "");
      });

      const query = new URLSearchParams();
      for (const name of ["status", "type", "organization", "q"]) if (params.get(name)) query.set(name, params.get(name));
      let shown = "";
      ctx.poll("/api/console/tasks" + (query.toString() ? "?" + query : ""), 1000, (data) => {
        updated.textContent = "updated " + new Date().toLocaleTimeString();
        const signature = JSON.stringify(data.tasks);
        if (signature === shown) return;
        shown = signature;
        if (!data.tasks.length) {
          rows.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No tasks match")));
          return;
        }
        rows.replaceChildren(...data.tasks.map((task) => el("tr", { dataset: { id: task.id } },
          el("td", { class: "nowrap hide-phone" }, Console.format.time(task.created_at)),
          el("td", {}, el("a", { href: "#/tasks?id=" + task.id, class: "task-link" }, task.name),
            el("div", { class: "muted mono" }, task.task_type + " · " + task.id.slice(0, 8))),
          el("td", { class: "mono hide-phone" }, task.organization_id),
          el("td", {}, statusPill(task.status)),
          el("td", { class: "progress-cell" }, progressBar(task.progress)),
          el("td", { class: "num" }, String(task.attempts) + (task.max_attempts ? "/" + task.max_attempts : "")),
          el("td", { class: "actions" },
            ENDED.includes(task.status) ? null
              : el("button", { type: "button", class: "cancel", onclick: () => cancel(task) }, "Cancel"),
            ["failed", "cancelled"].includes(task.status) && task.task_type !== "bulk"
              ? el("button", { type: "button", class: "retry", onclick: () => retry(task) }, "Retry") : null))));
      }, (error) => { updated.textContent = "not updated: " + error.message; });
    }

    function showTask(id) {
      const title = el("h1", {}, "Task");
      const head = el("div", { class: "row" }, el("span", { id: "task-state" }), el("span", { class: "spacer" }),
        el("strong", { id: "task-percent" }, "0%"));
      const bar = progressBar(0, "task-progress");
      const message = el("p", { id: "task-message", class: "muted" }, "");
      const facts = el("dl", { class: "facts", id: "task-facts" });
      const buttons = el("div", { class: "row", id: "task-buttons" });
      const error = el("pre", { id: "task-error", class: "error", hidden: true });
      const result = el("pre", { id: "task-result", hidden: true });
      const logs = el("ol", { id: "task-logs", class: "log-lines" });
      root.append(
        el("div", { class: "row page-head" }, el("a", { href: "#/tasks" }, "← All tasks"), el("span", { class: "spacer" }),
          updated),
        el("section", { class: "card stack", id: "task-detail" }, title, head, el("div", { class: "progress-wrap" }, bar), message, buttons, facts, error, result),
        el("h2", { class: "section-title" }, "Log"),
        el("div", { class: "card" }, logs));

      let lastLogId = 0;
      let shownButtons = "";
      ctx.poll(() => "/api/console/tasks/" + encodeURIComponent(id) + "?after_log_id=" + lastLogId, 1000, (data) => {
        const task = data.task;
        updated.textContent = "updated " + new Date().toLocaleTimeString();
        title.textContent = task.name;
        document.getElementById("task-state").replaceChildren(statusPill(task.status));
        const percent = Math.round(100 * task.progress);
        document.getElementById("task-percent").textContent = percent + "%";
        bar.firstChild.style.width = percent + "%";
        bar.setAttribute("aria-valuenow", percent);
        bar.setAttribute("aria-label", "Progress " + percent + "%");
        message.textContent = task.progress_message || "";
        facts.replaceChildren(...present(
          el("dt", {}, "Id"), el("dd", { class: "mono" }, task.id),
          el("dt", {}, "Type"), el("dd", { class: "mono" }, task.task_type),
          el("dt", {}, "Organisation"), el("dd", {}, task.organization_id + " · " + task.user_id),
          el("dt", {}, "Priority"), el("dd", {}, task.priority),
          el("dt", {}, "Attempts"), el("dd", {}, task.attempts + (task.max_attempts ? " of " + task.max_attempts : "")),
          el("dt", {}, "Created"), el("dd", {}, Console.format.time(task.created_at)),
          el("dt", {}, "Started"), el("dd", {}, Console.format.time(task.started_at)),
          el("dt", {}, "Finished"), el("dd", {}, Console.format.time(task.finished_at)),
          task.parent_id ? [el("dt", {}, "Part of"),
            el("dd", {}, el("a", { href: "#/tasks?id=" + task.parent_id, class: "mono" }, task.parent_id))] : null));
        error.hidden = !task.error;
        error.textContent = task.error || "";
        result.hidden = !task.result;
        result.textContent = task.result ? JSON.stringify(task.result, null, 2) : "";
        const wanted = task.status + (task.cancel_requested ? "!" : "");
        if (wanted !== shownButtons) {
          shownButtons = wanted;
          buttons.replaceChildren(...present(
            ENDED.includes(task.status) ? null : el("button", { type: "button", class: "danger", id: "task-cancel",
              disabled: task.cancel_requested, onclick: () => cancel(task) },
              task.cancel_requested ? "Cancelling…" : "Cancel"),
            ["failed", "cancelled"].includes(task.status) && task.task_type !== "bulk"
              ? el("button", { type: "button", class: "primary", id: "task-retry", onclick: async () => {
                const answer = await retry(task);
                if (answer) location.hash = "#/tasks?id=" + answer.task.id;
              } }, "Retry") : null));
        }
        for (const line of data.logs) {
          logs.append(el("li", { class: "log-line " + line.level },
            el("span", { class: "muted nowrap" }, new Date(line.created_at).toLocaleTimeString()),
            el("span", { class: "pill" }, line.level), el("span", {}, line.message)));
        }
        lastLogId = data.last_log_id;
        if (!logs.children.length) logs.replaceChildren(el("li", { class: "empty" }, "No log lines yet"));
        else for (const empty of logs.querySelectorAll("li.empty")) if (logs.children.length > 1) empty.remove();
      }, (failure) => {
        updated.textContent = "not updated: " + failure.message;
        if (failure.status === 404 || failure.status === 400) title.textContent = failure.message;
      });
    }
  },
});
