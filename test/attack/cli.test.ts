/** `nullspace attack` and `nullspace attack sweep` end to end on hand-made tiny run directories. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GPT } from "../../src/model/gpt.js";
import { saveModel } from "../../src/model/checkpoint.js";
import { validateGPTConfig } from "../../src/model/config.js";
import { readAttackInputs } from "../../src/attack/index.js";
import { runCli } from "../helpers.js";

const root = mkdtempSync(join(tmpdir(), "nullspace-attack-cli-"));

/** A run directory as the training stages write it (model + config.json with the data section), random weights. */
function fakeRun(name: string, seed: number): string {
  const dir = join(root, name);
  const model = { n_layer: 1, n_head: 2, n_embd: 16, vocab_size: 59, block_size: 27, block: "reference", pos: "pe" };
  saveModel(dir, new GPT(validateGPTConfig(model), undefined, seed), { writeConfig: false });
  writeFileSync(join(dir, "config.json"), JSON.stringify({ stage: "safety", model, data: { seed: 0, pcfgs: [1], text_length: [6, 6], per_batch_length: true } }));
  return dir;
}

const a = fakeRun("ssft_S", 1), b = fakeRun("dpo_S", 2);

test("attack: soft and GCG runs print results and write attack.json + inputs", () => {
  const r = runCli(["attack", "--model", a, "--set", "std_unsafe", "--tokens", "2", "--steps", "3", "--n", "6", "--eps", "2x", "--json", "--save-all"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.method, "soft");
  assert.equal(j.n_items, 6);
  assert.equal(j.tokens, 2);
  assert.ok(Math.abs(j.soft.eps / j.soft.eps_default - 2) < 1e-9);
  assert.equal(j.loss_curve.length, 4);
  assert.ok(j.samples_per_s > 0);
  assert.equal(j.artifacts, join(a, "attacks", `std_unsafe-soft-n2-s3-e${+j.soft.eps.toPrecision(4)}`));
  const saved = JSON.parse(readFileSync(join(j.artifacts, "attack.json"), "utf8"));
  assert.equal(saved.items.length, 6);
  const inputs = readAttackInputs(j.artifacts);
  assert.deepEqual(inputs.embeds.shape, [6, 3 * 6 + 8 + 2, 16]);
  assert.equal(inputs.meta.method, "soft");

  const g = runCli(["attack", "--model", a, "--method", "gcg", "--universal", "--tokens", "1", "--steps", "2", "--n", "4", "--search-width", "4", "--out", join(root, "g")]);
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stdout, /gcg attack .* n = 1 slots, 2 steps, universal/);
  assert.match(g.stdout, /success \(greedy exact match\): \d+\/4/);
  assert.match(g.stdout, /universal slots: \S+/);
  assert.ok(existsSync(join(root, "g", "attack.json")));
});

test("attack: one-line errors for a missing model, an unknown set and bad numbers", () => {
  const cases: [string[], RegExp][] = [
    [["attack", "--model", join(root, "nope")], /no such run directory/],
    [["attack", "--model", a, "--set", "std_bogus"], /unknown evaluation set/],
    [["attack", "--model", a, "--eps", "-1"], /--eps/],
    [["attack", "--model", a, "--eps", "big"], /--eps/],
    [["attack", "--model", a, "--norm", "l1"], /--norm must be l2 or linf/],
    [["attack", "--model", a, "--method", "pgd"], /--method must be soft or gcg/],
    [["attack", "--model", a, "--tokens", "0"], /--tokens must be an integer/],
    [["attack"], /--model <dir> is required/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("attack sweep: a grid over models × n × steps → sweep.json and sweep.svg", () => {
  const out = join(root, "sweep");
  const r = runCli(["attack", "sweep", "--model", `${a},${b}`, "--tokens", "1,2", "--steps", "0,2", "--eps", "1x", "--n", "4", "--out", out, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
  assert.equal(j.rows.length, 8);
  assert.deepEqual([...new Set(j.rows.map((x: { model: string }) => x.model))], ["ssft_S", "dpo_S"]);
  for (const row of j.rows) {
    assert.ok(row.success.rate >= 0 && row.success.rate <= 1);
    assert.equal(row.eps_scale, 1);
  }
  assert.match(readFileSync(join(out, "sweep.svg"), "utf8"), /^<svg/);
  assert.ok(existsSync(join(out, "sweep.vl.json")));
});
