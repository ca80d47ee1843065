/* Dead letters: in progress. */
"use strict";
Console.registerPage({
  id: "deadletters",
  render(ctx) {
    ctx.root.append(ctx.el("h1", {}, "Dead letters"));
  },
});
