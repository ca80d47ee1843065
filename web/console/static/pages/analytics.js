/* Analytics: a placeholder until its page lands (it replaces this file). */
"use strict";
Console.registerPage({
  id: "analytics",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Analytics"), ctx.el("p", { class: "muted" }, "This page is on its way."));
  },
});
