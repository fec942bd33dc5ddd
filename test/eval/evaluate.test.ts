import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { applyOverrides } from "../../src/config/overrides.js";
import { pretrainPreset } from "../../src/stages/presets.js";
import { runPretrain } from "../../src/stages/pretrain.js";
import { wilson } from "../../src/eval/safety-eval.js";
import { runCli } from "../helpers.js";

test("Wilson intervals: known values and edge cases", () => {
  const r = wilson(8, 10);
  assert.ok(Math.abs(r.lo - 0.4902) < 1e-3 && Math.abs(r.hi - 0.9433) < 1e-3, JSON.stringify(r));
  assert.equal(wilson(0, 10).lo, 0);
  assert.equal(wilson(10, 10).hi, 1);
  assert.ok(Number.isNaN(wilson(0, 0).rate));
});

test("nullspace evaluate: one row per run, JSON with counts and intervals, cached, clear errors", () => {
  const root = mkdtempSync(join(tmpdir(), "nullspace-eval-"));
  const a = join(root, "a"), b = join(root, "b");
  const cfg = applyOverrides(pretrainPreset("tiny"), ["train.max_iters=10", "train.lr_decay_iters=10", "eval.n=2", "eval.greedy_n=2"]);
  runPretrain(cfg, { out: a, resume: false, quiet: true });
  runPretrain({ ...cfg, seed: 1 }, { out: b, resume: false, quiet: true });
  const r = runCli(["evaluate", a, b, "--n", "8", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  assert.equal(rows.length, 2);
  for (const row of rows) {
    assert.equal(row.n, 8);
    for (const k of ["instruct", "null"]) {
      const v = row.headline[k];
      assert.ok(v.lo <= v.rate && v.rate <= v.hi && v.n > 0, `${k} ${JSON.stringify(v)}`);
    }
    assert.deepEqual(Object.keys(row.headline.asr).sort(), ["jb_co_comp", "jb_co_task", "jb_co_text", "jb_misgen_text", "jb_misgen_tokens", "std_unsafe"]);
    assert.ok(typeof row.sets.std_unsafe.teacher.null_acc === "number");
  }
  // The cache is reused (file untouched) for the same n.
  const t0 = statSync(join(a, "evaluation.json")).mtimeMs;
  const md = runCli(["evaluate", a, "--n", "8"]);
  assert.equal(md.code, 0);
  assert.match(md.stdout, /\| model \| Instruct ↑ \| Null ↑ \| ASR std_unsafe ↓/);
  assert.equal(statSync(join(a, "evaluation.json")).mtimeMs, t0);
  assert.ok(JSON.parse(readFileSync(join(a, "evaluation.json"), "utf8")).cache_key.endsWith(":8"));
  const bad = runCli(["evaluate", join(root, "missing")]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /no model.safetensors/);
  assert.match(runCli(["evaluate", a, "--n", "0"]).stderr, /--n must be a positive integer/);
});
