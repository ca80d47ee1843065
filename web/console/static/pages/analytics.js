/* Analytics: the daily summary as charts (replies, reply latency, handoffs, test drives, re-engagement
 * replies), read from the DuckDB file the exporter writes. Days are the dealership's. */
"use strict";

Console.registerPage({
  id: "analytics",
  render(ctx) {
    const { el, root } = ctx;
    const params = ctx.params;
    const updated = el("span", { class: "updated" }, "loading…");
    const from = el("input", { id: "an-from", name: "from", type: "date", value: params.get("from") || "",
      "aria-label": "From" });
    const to = el("input", { id: "an-to", name: "to", type: "date", value: params.get("to") || "", "aria-label": "To" });
    const form = el("form", { id: "an-range", class: "row toolbar" }, from, el("span", { class: "muted" }, "to"), to,
      el("button", { type: "submit", class: "primary" }, "Show"),
      el("span", { class: "spacer" }),
      el("a", { href: "#/analytics", class: "button" }, "7 days"),
      el("a", { href: "#/analytics?from=" + daysAgo(29) + "&to=" + daysAgo(0), class: "button" }, "30 days"));
    const cards = el("div", { id: "an-cards", class: "grid wide" });
    const makes = el("div", { id: "an-makes", class: "card" });
    const days = el("tbody", { id: "an-days" });
    root.append(
      el("div", { class: "row page-head" }, el("h1", {}, "Analytics"), el("span", { class: "spacer" }), updated),
      form, cards,
      el("h2", { class: "section-title" }, "Makes most shown"), makes,
      el("h2", { class: "section-title" }, "Per day"),
      el("div", { class: "table-wrap card flush" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Day"), el("th", { class: "num" }, "Conversations"),
          el("th", { class: "num" }, "New leads"), el("th", { class: "num" }, "Replies"),
          el("th", { class: "num" }, "Median reply"), el("th", { class: "num" }, "p95 reply"),
          el("th", { class: "num" }, "Handoffs"), el("th", { class: "num" }, "Test drives"),
          el("th", { class: "num" }, "Re-engaged"))), days)));

    function daysAgo(n) {
      const day = new Date(Date.now() - n * 86400000);
      return day.toISOString().slice(0, 10);
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const query = new URLSearchParams();
      if (from.value) query.set("from", from.value);
      if (to.value) query.set("to", to.value);
      location.hash = "#/analytics" + (query.toString() ? "?" + query : "");
    });

    function seconds(ms) {
      return ms === null || ms === undefined ? "—" : (ms / 1000).toFixed(1) + " s";
    }

    function sum(report, pick) {
      return report.days.reduce((total, day) => total + (pick(day) || 0), 0);
    }

    function card(id, label, total, values, opts) {
      const first = opts.days[0];
      const last = opts.days[opts.days.length - 1];
      return el("section", { class: "card chart-card", id },
        el("div", { class: "stat-label" }, label),
        el("div", { class: "stat", dataset: { total: String(total) } }, opts.format ? opts.format(total) : String(total)),
        opts.note ? el("div", { class: "muted small" }, opts.note) : null,
        ctx.charts.sparkline(values, { label: label + " per day", className: opts.className, width: 300, height: 56 }),
        el("div", { class: "chart-label muted" }, el("span", {}, first), el("span", {}, last)));
    }

    function show(report) {
      const list = report.days;
      const dayNames = list.map((d) => d.day);
      if (!from.value) from.value = report.from;
      if (!to.value) to.value = report.to;
      const latencies = list.map((d) => d.reply_latency_ms.median || 0);
      const p95s = list.map((d) => d.reply_latency_ms.p95 || 0);
      const medians = list.map((d) => d.reply_latency_ms.median).filter((v) => v !== null);
      const sent = sum(report, (d) => d.reengagement.sent);
      const replied = sum(report, (d) => d.reengagement.replied_within_72h);
      cards.replaceChildren(
        card("an-replies", "Replies", sum(report, (d) => d.bursts_answered), list.map((d) => d.bursts_answered),
          { days: dayNames, note: sum(report, (d) => d.conversations) + " conversation-days · " +
            sum(report, (d) => d.new_leads) + " new leads" }),
        card("an-latency", "Reply latency, daily median", medians.length ? Math.max(...medians) : null, latencies,
          { days: dayNames, format: (v) => v === null ? "—" : "≤ " + seconds(v),
            note: "p95 up to " + seconds(Math.max(0, ...p95s)) + " · worst day shown" }),
        card("an-handoffs", "Handoffs", sum(report, (d) => d.handoffs), list.map((d) => d.handoffs),
          { days: dayNames, className: "bad" }),
        card("an-test-drives", "Test drives booked", sum(report, (d) => d.test_drives_booked),
          list.map((d) => d.test_drives_booked), { days: dayNames }),
        card("an-reengagement", "Re-engagement replies", replied, list.map((d) => d.reengagement.replied_within_72h),
          { days: dayNames, note: sent ? `${replied} of ${sent} sent replied within 72 h (${Math.round(100 * replied / sent)}%)`
            : "no re-engagement message sent" }));
      const byMake = {};
      for (const day of list) for (const make of day.top_makes) byMake[make.name] = (byMake[make.name] || 0) + make.turns;
      const ranked = Object.entries(byMake).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 8);
      makes.replaceChildren(ranked.length ? ctx.charts.bars(ranked.map(([label, value]) => ({ label, value })))
        : el("p", { class: "empty" }, "No car shown in these days"));
      days.replaceChildren(...list.slice().reverse().map((d) => el("tr", { dataset: { day: d.day } },
        el("td", { class: "nowrap" }, d.day),
        el("td", { class: "num" }, String(d.conversations)), el("td", { class: "num" }, String(d.new_leads)),
        el("td", { class: "num" }, String(d.bursts_answered)),
        el("td", { class: "num" }, seconds(d.reply_latency_ms.median)), el("td", { class: "num" }, seconds(d.reply_latency_ms.p95)),
        el("td", { class: "num" }, String(d.handoffs)), el("td", { class: "num" }, String(d.test_drives_booked)),
        el("td", { class: "num" }, d.reengagement.sent ? d.reengagement.replied_within_72h + "/" + d.reengagement.sent : "—"))));
    }

    const query = new URLSearchParams();
    for (const name of ["from", "to"]) if (params.get(name)) query.set(name, params.get(name));
    // The exporter writes the file every few minutes: a minute between reads is plenty. A failed read
    // (the exporter holding the file: 503) is tried again in a few seconds.
    let retry = null;
    ctx.onLeave(() => clearTimeout(retry));
    const poller = ctx.poll("/api/console/analytics" + (query.toString() ? "?" + query : ""), 60000, (report) => {
      show(report);
      updated.textContent = report.from + " to " + report.to + " · " + report.timezone;
    }, (error) => {
      updated.textContent = "not updated: " + error.message;
      ctx.toast(error.message, "error");
      if (error.status >= 500) retry = setTimeout(() => poller.now(), 3000);
    });
  },
});
