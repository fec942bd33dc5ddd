#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm ci` (prepare script).
import("../dist/src/cli/index.js").then((m) => m.main(process.argv)).catch((err) => {
  console.error(`nullspace: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
