import { test } from "node:test";
import assert from "node:assert/strict";
import { runCli } from "../helpers.js";
import { legacyPermutation } from "../../src/data/mt19937.js";
import { openSet } from "../../src/data/sets.js";

test("data rules --json", () => {
  const r = runCli(["data", "rules", "--pcfg", "2", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.pcfg, 2);
  assert.equal(j.start_random, 150);
  assert.equal(Object.keys(j.operators).length, 16);
  assert.deepEqual(j.operators[")"], legacyPermutation(150, 30));
  assert.deepEqual(j.operators.r3, j.operators["["]);
  const o = JSON.parse(runCli(["data", "rules", "--pcfg", "1", "--start-random", "450", "--json"]).stdout);
  assert.equal(o.start_random, 450);
  assert.deepEqual(o.operators[")"].slice(0, 6), [19, 18, 29, 25, 7, 0]);
  assert.match(runCli(["data", "rules", "--pcfg", "1"]).stdout, /start_random 0/);
});

test("data sample --json: JSON lines, identical across processes and to the library", () => {
  const args = ["data", "sample", "--set", "safety", "--pcfg", "3", "--n", "4", "--seed", "9", "--json"];
  const a = runCli(args), b = runCli(args);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const lines = a.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.length, 4);
  const draw = openSet("safety", { seed: 9, split: "train", pcfgs: [3] });
  lines.forEach((l, i) => {
    assert.deepEqual(l.tokens, draw(i).tokens);
    assert.equal(typeof l.label.unsafe, "boolean");
    assert.ok(Array.isArray(l.label.operators));
    assert.ok(l.segments.eot > 0);
    assert.equal(l.symbols.length, l.tokens.length);
  });
  const p = runCli(["data", "sample", "--set", "pretrain", "--pcfg", "1", "--n", "2", "--seed", "0", "--length", "8"]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /x: \$ /);
  const ev = runCli(["data", "sample", "--set", "jb_misgen_tokens", "--pcfg", "1", "--n", "1", "--json"]);
  assert.equal(JSON.parse(ev.stdout).label.unsafe, true);
});

test("data stats: histograms and ambiguity", () => {
  const r = runCli(["data", "stats", "--set", "std_unsafe", "--pcfg", "1", "--n", "300", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout).stats;
  assert.equal(s.n, 300);
  assert.equal(s.label.unsafe, 300);
  assert.equal(Object.values(s.length as Record<string, number>).reduce((a, b) => a + b, 0), 300);
  const a = JSON.parse(runCli(["data", "stats", "--length", "8", "--pcfg", "1", "--n", "300", "--json"]).stdout).ambiguity;
  assert.ok(a.id_mg_in_safe > 0.3 && a.id_mg_in_safe < 0.6, `id_mg ambiguity at L=8: ${a.id_mg_in_safe}`);
  assert.ok(a.intermediate_in_safe > 0.9);
  const t = runCli(["data", "stats", "--set", "pretrain", "--n", "100"]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /mode/);
});

test("data: user errors are one line and exit non-zero", () => {
  const cases = [
    ["data", "sample", "--set", "nope", "--pcfg", "1", "--n", "1"],
    ["data", "sample", "--set", "safety", "--pcfg", "5", "--n", "1"],
    ["data", "sample", "--set", "safety", "--pcfg", "1", "--n", "-3"],
    ["data", "rules", "--pcfg", "0", "--json"],
    ["data", "stats", "--set", "bogus"],
    ["data", "stats", "--set", "safety", "--n", "-1"],
    ["data", "sample", "--set", "safety", "--length", "40"],
    ["data", "sample", "--set", "jb_misgen_tokens", "--pcfg", "2"],
  ];
  for (const args of cases) {
    const r = runCli(args);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.equal(r.stderr.trim().split("\n").length, 1, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /^(nullspace: |error: )/);
  }
});

test("data bench --json", () => {
  const r = runCli(["data", "bench", "--json", "--seconds", "0.02"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.ok(j.samplesPerSecond.pretrain > 0 && j.samplesPerSecond.safety > 0);
  assert.ok(j.validatorWindowsPerSecond > 0);
});
