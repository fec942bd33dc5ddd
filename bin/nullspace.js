#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare script).
// A closed pipe (`nullspace data sample ... | head`) is a normal way to stop reading, not an error.
process.stdout.on("error", (e) => { if (e && e.code === "EPIPE") process.exit(0); throw e; });
import("../dist/src/cli/index.js").then((m) => m.main(process.argv)).catch((err) => {
  console.error(`nullspace: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
