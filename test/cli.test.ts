import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "./helpers.js";

test("nullspace --help lists the program", () => {
  const r = runCli(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /nullspace/);
});

test("unknown command exits non-zero", () => {
  const r = runCli(["no-such-command"]);
  assert.notEqual(r.code, 0);
});
