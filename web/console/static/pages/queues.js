/* Queues: in progress. */
"use strict";
Console.registerPage({
  id: "queues",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Queues"));
  },
});
