/* Flow control: in progress. */
"use strict";
Console.registerPage({
  id: "flow",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Flow control"));
  },
});
