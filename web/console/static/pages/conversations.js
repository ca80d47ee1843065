/* Conversations: the handoff inbox (customers a person must answer, the longest waiting first), a search
 * by name or number, and one conversation's transcript with each reply's delivery status. "Release to
 * bot" hands it back (confirmed, recorded with who did it). Numbers show only their last digits. */
"use strict";

Console.registerPage({
  id: "conversations",
  render(ctx) {
    const { el, root } = ctx;
    const STATUS_CLASS = { read: "ok", delivered: "ok", sent: "", pending: "warn", failed: "bad" };
    const updated = el("span", { class: "updated" }, "loading…");

    function present(...nodes) {
      return nodes.flat().filter((node) => node !== null && node !== undefined && node !== false);
    }

    function since(iso) {
      return iso ? Console.format.relative(Date.now() - new Date(iso).getTime()) : "—";
    }

    function customerName(c) {
      return c.profile_name || "(no name)";
    }

    async function release(c) {
      const question = `Hand ${customerName(c)} (${c.customer_number}) back to the bot? ` +
        "The bot answers their next message.";
      if (!(await ctx.confirm(question, "Release to bot"))) return false;
      try {
        await ctx.api("/api/console/conversations/" + c.conversation_id + "/release",
          { method: "POST", body: { confirm: true } });
        ctx.toast(customerName(c) + " is back with the bot", "ok");
        return true;
      } catch (error) {
        ctx.toast("Release failed: " + error.message, "error");
        return false;
      }
    }

    const id = ctx.params.get("id");
    if (id) showConversation(id);
    else showInbox();

    function showInbox() {
      const query = ctx.params.get("q") || "";
      const search = el("input", { id: "conv-search", name: "q", type: "search", value: query,
        placeholder: "Customer name or number", "aria-label": "Search customers", spellcheck: "false" });
      const form = el("form", { id: "conv-search-form", class: "row toolbar filters" }, search,
        el("button", { type: "submit", class: "primary" }, "Search"),
        query ? el("a", { href: "#/conversations", class: "clear" }, "Clear") : null);
      const list = el("div", { id: "conv-list", class: "stack" });
      root.append(...present(
        el("div", { class: "row page-head" }, el("h1", {}, query ? "Customers" : "Handoff inbox"),
          el("span", { class: "spacer" }), updated),
        form,
        query ? el("p", { class: "muted" }, `Customers whose name holds "${query}" or whose number holds its digits.`)
          : el("p", { class: "muted" }, "Customers waiting for a person, the longest waiting first."),
        list));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const q = search.value.trim();
        location.hash = "#/conversations" + (q ? "?q=" + encodeURIComponent(q) : "");
      });

      let shown = "";
      const path = "/api/console/conversations" + (query ? "?q=" + encodeURIComponent(query) : "");
      const poller = ctx.poll(path, 1000, (data) => {
        updated.textContent = "updated " + new Date().toLocaleTimeString();
        const signature = JSON.stringify(data.conversations);
        if (signature === shown) return;
        shown = signature;
        if (!data.conversations.length) {
          list.replaceChildren(el("p", { class: "empty card" }, query ? "No customer matches" : "Nobody is waiting"));
          return;
        }
        list.replaceChildren(...data.conversations.map((c) => el("article",
          { class: "card inbox-item", dataset: { id: c.conversation_id } },
          el("div", { class: "row" },
            el("a", { href: "#/conversations?id=" + c.conversation_id, class: "customer" }, customerName(c)),
            el("span", { class: "muted mono" }, c.customer_number),
            el("span", { class: "spacer" }),
            el("span", { class: "pill mode " + (c.mode === "human" ? "warn" : "ok") },
              c.mode === "human" ? "waiting " + since(c.handed_off_at) : "bot")),
          ...present(
            c.waiting_messages ? el("span", { class: "pill bad waiting" },
              c.waiting_messages + " new message" + (c.waiting_messages === 1 ? "" : "s")) : null,
            c.handoff_summary ? el("p", { class: "summary clip-lines" }, c.handoff_summary) : null,
            c.last_inbound_text ? el("p", { class: "muted last" }, "Last: " + c.last_inbound_text) : null),
          el("div", { class: "row" },
            el("a", { href: "#/conversations?id=" + c.conversation_id, class: "button" }, "Transcript"),
            c.mode === "human" ? el("button", { type: "button", class: "primary release",
              onclick: async () => { if (await release(c)) poller.now(); } }, "Release to bot") : null))));
      }, (error) => { updated.textContent = "not updated: " + error.message; });
    }

    function showConversation(cid) {
      const title = el("h1", {}, "Conversation");
      const facts = el("dl", { class: "facts", id: "conv-facts" });
      const buttons = el("div", { class: "row", id: "conv-buttons" });
      const handoffs = el("div", { id: "conv-handoffs", class: "stack" });
      const transcript = el("ol", { id: "transcript", class: "transcript" });
      root.append(
        el("div", { class: "row page-head" }, el("a", { href: "#/conversations" }, "← Inbox"),
          el("span", { class: "spacer" }), updated),
        el("section", { class: "card", id: "conv-detail" }, title, facts, buttons),
        el("h2", { class: "section-title" }, "Summary sent to the CRM"), handoffs,
        el("h2", { class: "section-title" }, "Transcript"),
        el("div", { class: "card" }, transcript));

      let shown = "";
      const poller = ctx.poll("/api/console/conversations/" + encodeURIComponent(cid), 1000, (data) => {
        updated.textContent = "updated " + new Date().toLocaleTimeString();
        const signature = JSON.stringify(data);
        if (signature === shown) return;
        shown = signature;
        const c = data.conversation;
        title.textContent = customerName(c);
        facts.replaceChildren(
          el("dt", {}, "Number"), el("dd", { class: "mono" }, c.customer_number),
          el("dt", {}, "Answered by"), el("dd", { id: "conv-mode" },
            el("span", { class: "pill " + (c.mode === "human" ? "warn" : "ok") }, c.mode === "human" ? "a person" : "the bot")),
          el("dt", {}, "Handed off"), el("dd", {}, Console.format.time(c.handed_off_at)),
          el("dt", {}, "Released"), el("dd", {}, Console.format.time(c.released_at)),
          el("dt", {}, "Last message"), el("dd", {}, Console.format.time(c.last_inbound_at)),
          el("dt", {}, "Customer tag"), el("dd", { class: "mono" }, c.customer_tag));
        buttons.replaceChildren(...present(c.mode === "human" ? el("button", { type: "button", class: "primary",
          id: "conv-release", onclick: async () => { if (await release(c)) poller.now(); } }, "Release to bot") : null,
          c.opted_out ? el("span", { class: "pill bad" }, "opted out") : null));
        handoffs.replaceChildren(...(data.handoffs.length ? data.handoffs.map((h) => el("div", { class: "card handoff" },
          el("div", { class: "row" }, el("strong", {}, h.reason), el("span", { class: "spacer" }),
            el("span", { class: "muted" }, Console.format.time(h.created_at)),
            el("span", { class: "pill " + (h.notified_at ? "ok" : "warn") },
              h.notified_at ? "CRM told" + (h.crm_status ? " (" + h.crm_status + ")" : "") : "CRM not told yet")),
          el("pre", { class: "summary" }, h.summary)))
          : [el("p", { class: "empty card" }, "Never handed off")]));
        transcript.replaceChildren(...(data.transcript.length ? data.transcript.map((line) => el("li",
          { class: "bubble " + (line.direction === "in" ? "in" : "out"), dataset: { direction: line.direction } },
          el("div", { class: "bubble-text" }, line.text || "(" + line.kind + ")"),
          el("div", { class: "bubble-meta" }, ...present(
            el("span", {}, (line.direction === "in" ? "customer · " : "zapq · ") + Console.format.time(line.at)),
            line.stale ? el("span", { class: "pill warn" }, "arrived too late") : null,
            line.status ? el("span", { class: "pill delivery " + (STATUS_CLASS[line.status] || ""),
              dataset: { status: line.status } }, line.status) : null,
            line.error_code ? el("span", { class: "error" }, line.error_code + " " + (line.error_title || "")) : null))))
          : [el("li", { class: "empty" }, "No messages")]));
      }, (error) => {
        updated.textContent = "not updated: " + error.message;
        if (error.status === 404 || error.status === 400) title.textContent = error.message;
      });
    }
  },
});
