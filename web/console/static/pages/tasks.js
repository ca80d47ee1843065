/* Tasks: a placeholder until its page lands (it replaces this file). */
"use strict";
Console.registerPage({
  id: "tasks",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Tasks"), ctx.el("p", { class: "muted" }, "This page is on its way."));
  },
});
