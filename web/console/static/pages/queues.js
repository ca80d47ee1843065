/* Queues: depth per queue (ready, delayed, in flight, dead), workers alive, 15 minutes of throughput
 * and failures. Polled every second. */
"use strict";

Console.registerPage({
  id: "queues",
  render(ctx) {
    const { el, root, charts } = ctx;
    const updated = el("span", { class: "updated" }, "loading…");
    const summary = el("div", { class: "grid", id: "queue-summary" });
    const cards = el("div", { class: "grid wide", id: "queue-cards" });
    root.append(
      el("div", { class: "row page-head" }, el("h1", {}, "Queues"), el("span", { class: "spacer" }), updated),
      summary, cards);

    function stat(label, value, name, className) {
      return el("div", { class: "card" },
        el("div", { class: "stat-label" }, label),
        el("div", { class: "stat " + (className || ""), dataset: { stat: name } }, String(value)));
    }

    function depth(label, value, name) {
      return el("div", { class: "depth" },
        el("div", { class: "depth-value", dataset: { depth: name } }, String(value)),
        el("div", { class: "stat-label" }, label));
    }

    function queueCard(queue) {
      const doneTotal = queue.done.reduce((a, b) => a + b, 0);
      const failedTotal = queue.failed.reduce((a, b) => a + b, 0);
      const rate = (100 * queue.failure_rate).toFixed(1) + "%";
      return el("section", { class: "card queue-card", dataset: { queue: queue.name } },
        el("div", { class: "row" },
          el("h2", {}, queue.name),
          el("span", { class: "spacer" }),
          queue.dead ? el("a", { class: "pill bad", href: "#/deadletters?queue=" + encodeURIComponent(queue.name) },
            queue.dead + " dead") : el("span", { class: "pill ok" }, "no dead letters")),
        el("div", { class: "depths" },
          depth("ready", queue.ready, "ready"),
          depth("delayed", queue.delayed, "delayed"),
          depth("in flight", queue.in_flight, "in_flight"),
          depth("dead", queue.dead, "dead")),
        el("div", { class: "chart-label" }, el("span", {}, "processed / min"),
          el("span", { class: "muted" }, doneTotal + " in 15 min")),
        charts.sparkline(queue.done, { label: queue.name + " processed per minute" }),
        el("div", { class: "chart-label" }, el("span", {}, "failed / min"),
          el("span", { class: failedTotal ? "error" : "muted" }, failedTotal + " · " + rate)),
        charts.sparkline(queue.failed, { className: "bad", label: queue.name + " failures per minute" }));
    }

    function show(data) {
      const sum = (name) => data.queues.reduce((total, q) => total + q[name], 0);
      const done = data.queues.reduce((t, q) => t + q.done.reduce((a, b) => a + b, 0), 0);
      const failed = data.queues.reduce((t, q) => t + q.failed.reduce((a, b) => a + b, 0), 0);
      const rate = done + failed ? (100 * failed) / (done + failed) : 0;
      summary.replaceChildren(
        stat("workers alive", data.workers.alive, "workers", data.workers.alive ? "ok" : "error"),
        stat("ready", sum("ready"), "ready"),
        stat("in flight", sum("in_flight"), "in_flight"),
        stat("delayed", sum("delayed"), "delayed"),
        stat("dead letters", sum("dead"), "dead", sum("dead") ? "error" : ""),
        stat("processed · 15 min", done, "done"),
        stat("failure rate · 15 min", rate.toFixed(1) + "%", "failure_rate", failed ? "error" : ""));
      cards.replaceChildren(...data.queues.map(queueCard));
      updated.textContent = "updated " + new Date(data.now_ms).toLocaleTimeString();
      updated.classList.remove("error");
    }

    ctx.poll("/api/console/queues", 1000, show, (error) => {
      updated.textContent = "not updated: " + error.message;
      updated.classList.add("error");
    });
  },
});
