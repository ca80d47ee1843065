/* Conversations: a placeholder until its page lands (it replaces this file). */
"use strict";
Console.registerPage({
  id: "conversations",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Conversations"), ctx.el("p", { class: "muted" }, "This page is on its way."));
  },
});
