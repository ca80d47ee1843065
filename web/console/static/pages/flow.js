/* Flow control: decisions per actor over 15 minutes, the "why" lookup of a key, and releasing a
 * stuck key (confirmed, recorded with who did it). */
"use strict";

Console.registerPage({
  id: "flow",
  render(ctx) {
    const { el, root } = ctx;
    const KIND_LABELS = {
      idempotency: "Idempotency key", content_hash: "Content hash (dedup)", debounce: "Debounce key",
      throttle: "Throttle key", merged_message: "Merged message id", batch: "Debounce batch id",
    };
    const STATE_CLASS = { running: "warn", done: "ok", merged: "", failed_kept: "bad", window_open: "",
      throttled: "warn", free: "ok", absent: "ok" };
    const updated = el("span", { class: "updated" }, "loading…");
    const decisions = el("tbody", { id: "flow-decisions" });
    const actorPick = el("select", { id: "why-actor", name: "actor", "aria-label": "Actor", required: true });
    const kindPick = el("select", { id: "why-kind", name: "kind", "aria-label": "Kind of key" },
      Object.entries(KIND_LABELS).map(([value, label]) => el("option", { value }, label)));
    const keyInput = el("input", { id: "why-key", name: "key", placeholder: "the key's value", required: true,
      spellcheck: "false", autocapitalize: "off" });
    const record = el("section", { id: "flow-record", class: "card", hidden: true });
    const form = el("form", { id: "why-form", class: "card why" },
      el("h2", {}, "Why? Look up a key"),
      el("p", { class: "muted" }, "Given an idempotency key, content hash or debounce key, see what flow control " +
        "holds for it: running under a lease, done, merged into a batch, throttled."),
      el("div", { class: "row why-fields" }, actorPick, kindPick, keyInput,
        el("button", { type: "submit", class: "primary", id: "why-submit" }, "Look up")));
    root.append(
      el("div", { class: "row page-head" }, el("h1", {}, "Flow control"), el("span", { class: "spacer" }), updated),
      form, record,
      el("h2", { class: "section-title" }, "Decisions per actor · last 15 minutes"),
      el("div", { class: "table-wrap card flush" }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "Actor"), el("th", { class: "num" }, "Ran"),
          el("th", {}, "Other decisions"), el("th", {}, "Options"))), decisions)));

    const params = ctx.params;
    if (params.get("kind")) kindPick.value = params.get("kind");
    if (params.get("key")) keyInput.value = params.get("key");
    let actorsShown = "";

    function features(f) {
      const pills = [];
      if (f.idempotency_key) pills.push("idempotent");
      if (f.debounce) pills.push("debounce " + (f.debounce_window_ms || "") + (f.debounce_window_ms ? " ms" : ""));
      if (f.dedup) pills.push("dedup " + Math.round(f.dedup_window_ms / 1000) + " s");
      if (f.throttle) pills.push("throttle " + f.throttle_limit + "/" + Console.format.relative(f.throttle_period_ms));
      return pills.map((p) => el("span", { class: "pill" }, p));
    }

    function showOverview(data) {
      const names = data.actors.filter((a) => a.actor !== "other").map((a) => a.actor);
      if (names.join() !== actorsShown) {
        actorsShown = names.join();
        const wanted = actorPick.value || params.get("actor");
        actorPick.replaceChildren(...names.map((name) => el("option", { value: name, selected: name === wanted }, name)));
      }
      decisions.replaceChildren(...(data.actors.length ? data.actors.map((a) => {
        const outcomes = Object.entries(a.decisions).sort((x, y) => y[1] - x[1]);
        return el("tr", { dataset: { actor: a.actor } },
          el("td", { class: "mono" }, a.actor),
          el("td", { class: "num" }, String(a.ran)),
          el("td", {}, el("div", { class: "pills" }, outcomes.length ? outcomes.map(([outcome, n]) =>
            el("span", { class: "pill " + (outcome.startsWith("throttled") || outcome.startsWith("lease") ? "warn" : ""),
              dataset: { outcome } }, outcome.replace(/_/g, " ") + " " + n)) : el("span", { class: "muted" }, "—"))),
          el("td", {}, el("div", { class: "pills" }, features(a.features))));
      }) : [el("tr", {}, el("td", { colspan: 4, class: "empty" }, "No actor uses flow control"))]));
      updated.textContent = "updated " + new Date().toLocaleTimeString();
    }

    function fact(label, value) {
      return [el("dt", {}, label), el("dd", {}, value)];
    }

    async function lookUp() {
      const query = new URLSearchParams({ actor: actorPick.value, kind: kindPick.value, key: keyInput.value });
      let found;
      try {
        found = await ctx.api("/api/console/flow/lookup?" + query);
      } catch (error) {
        record.hidden = false;
        record.replaceChildren(el("p", { class: "error" }, error.message));
        return;
      }
      const facts = [];
      if (found.message_id) facts.push(...fact("Message", found.message_id));
      if (found.batch_id) facts.push(...fact("Batch", found.batch_id));
      if (found.lease_until_ms) facts.push(...fact("Lease until", Console.format.time(found.lease_until_ms)));
      if (found.throttled_until_ms) facts.push(...fact("Throttled until", Console.format.time(found.throttled_until_ms)));
      if (found.closes_at_ms) facts.push(...fact("Window closes", Console.format.time(found.closes_at_ms)));
      if (found.remembered_until_ms) facts.push(...fact("Remembered until", Console.format.time(found.remembered_until_ms)));
      if (found.waiting_duplicates) facts.push(...fact("Waiting duplicates", String(found.waiting_duplicates)));
      if (found.record) facts.push(...fact("Raw record", el("code", {}, found.record)));
      const canRelease = found.releasable && !["absent", "free"].includes(found.state);
      record.hidden = false;
      record.replaceChildren(...[
        el("div", { class: "row" }, el("h2", {}, found.actor),
          el("span", { class: "pill " + (STATE_CLASS[found.state] || ""), id: "why-state" }, found.state.replace(/_/g, " "))),
        el("p", { id: "why-summary" }, found.summary),
        facts.length ? el("dl", { class: "facts" }, facts) : null,
        canRelease ? el("button", { type: "button", class: "danger", id: "why-release",
          onclick: () => releaseKey(found) }, "Release key") : null].filter(Boolean));
    }

    async function releaseKey(found) {
      const question = `Release this ${KIND_LABELS[found.kind].toLowerCase()} of ${found.actor}? ` +
        (found.state === "running" ? "A duplicate may then run while the current run is still alive." :
          "The next message with this key runs again.");
      if (!(await ctx.confirm(question, "Release"))) return;
      try {
        await ctx.api("/api/console/flow/release", { method: "POST",
          body: { confirm: true, actor: found.actor, kind: found.kind, key: found.key } });
        ctx.toast("Released", "ok");
      } catch (error) {
        ctx.toast("Release failed: " + error.message, "error");
      }
      lookUp();
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      lookUp();
    });

    ctx.poll("/api/console/flow", 2000, showOverview, (error) => { updated.textContent = "not updated: " + error.message; });
  },
});
