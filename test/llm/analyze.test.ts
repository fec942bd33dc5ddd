import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.js";
import { leftNullSpace, toMat } from "../../src/analysis/linalg.js";
import { openLlamaCheckpoint } from "../../src/llm/checkpoint.js";
import { writeSafetensorsAs, type TypedTensor } from "../../src/llm/load-encode.js";
import { parseIntList } from "../../src/cli/llm.js";
import { runCli } from "../helpers.js";
import { tmpDir, writeTinyLlama } from "./helpers.js";

const shape = { layers: 2, hidden: 32, intermediate: 96, heads: 4, kvHeads: 2, shards: 2, dtype: "F32" as const, maxPositions: 4096 };
const GATE0 = "model.layers.0.mlp.gate_proj.weight";

/**
 * base: a random tiny Llama. chat: the same weights, except
 *  - layer 0 gate_proj += N·G with N an orthonormal basis of N(W_baseᵀ) (ΔW's columns in the left null space);
 *  - every projection of layer 1 += random noise (writeTinyLlama's delta).
 */
function makePair(root: string): { base: string; chat: string } {
  const base = join(root, "base"), chat = join(root, "chat");
  writeTinyLlama(base, { seed: 3, ...shape });
  writeTinyLlama(chat, { seed: 3, ...shape, delta: { seed: 9, scale: 0.2, only: (n) => n.startsWith("model.layers.1.") && n.endsWith("_proj.weight") } });
  const ck = openLlamaCheckpoint(chat);
  const index = JSON.parse(readFileSync(join(chat, "model.safetensors.index.json"), "utf8")) as { weight_map: Record<string, string> };
  const file = index.weight_map[GATE0];
  const tensors = new Map<string, TypedTensor>();
  for (const [name, f] of Object.entries(index.weight_map)) if (f === file) tensors.set(name, { shape: ck.shape(name), data: ck.read(name) });
  const w = tensors.get(GATE0)!; // [96, 32]
  const { basis } = leftNullSpace(toMat(w.data, 96, 32)); // [64, 96] rows span N(Wᵀ)
  const rng = new Rng(5);
  const g = Array.from({ length: basis.rows * 32 }, () => rng.normal());
  for (let i = 0; i < 96; i++) {
    for (let j = 0; j < 32; j++) {
      let s = 0;
      for (let q = 0; q < basis.rows; q++) s += basis.data[q * 96 + i] * g[q * 32 + j];
      w.data[i * 32 + j] += 0.05 * s;
    }
  }
  writeSafetensorsAs(join(chat, file), tensors, "F32");
  return { base, chat };
}

test("llm analyze: clustering, jailbreak τ and ΔW end to end on a tiny base/chat pair", () => {
  const root = tmpDir();
  const { base, chat } = makePair(root);
  const out = join(root, "out");
  const r = runCli(["llm", "analyze", "--base", base, "--chat", chat, "--out", out, "--per-group", "6", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  for (const f of summary.files as string[]) assert.ok(existsSync(f), f);
  for (const p of ["llm-clustering", "llm-cluster-spectrum", "llm-jailbreaks", "llm-deltaw"]) assert.match(readFileSync(join(out, "plots", `${p}.svg`), "utf8"), /<svg/);
  const res = JSON.parse(readFileSync(join(out, "llm-analysis.json"), "utf8"));
  assert.deepEqual(res.layers, [0, 1]);
  assert.equal(res.prompts.groups["test/unsafe"], 6);
  // Clustering: both models, every layer, statistics in range.
  assert.deepEqual(res.clustering.models.map((m: { label: string }) => m.label), ["base", "chat"]);
  for (const m of res.clustering.models) {
    for (const s of m.layers) {
      assert.ok(s.l2.auc >= 0 && s.l2.auc <= 1 && Number.isFinite(s.l2.gap) && s.centroidDistance > 0);
      assert.equal(s.l2.safe.n, 6);
    }
  }
  assert.equal(res.jailbreaks.length, 2 * 7, "7 families × 2 models");
  // ΔW: the null-space construction projects at 1, random noise near the baseline, untouched matrices are ΔW = 0.
  const dw = (layer: number, m: string) => res.deltaw.find((d: { layer: number; matrix: string }) => d.layer === layer && d.matrix === m);
  assert.ok(dw(0, "gate_proj").mean > 0.999, `constructed: ${dw(0, "gate_proj").mean}`);
  for (const m of ["gate_proj", "up_proj", "down_proj"]) {
    const d = dw(1, m);
    assert.ok(Math.abs(d.mean - d.baselineAnalytic) < 0.06, `${m}: ${d.mean} vs ${d.baselineAnalytic}`);
    assert.equal(d.side, m === "down_proj" ? "right" : "left");
  }
  assert.equal(dw(0, "up_proj").k, 0);
  assert.match(readFileSync(join(out, "llm-report.md"), "utf8"), /### τ clustering per layer[\s\S]*### ΔW = W_chat − W_base/);
});

test("llm analyze: a model against itself gives identical statistics for both sides", () => {
  const root = tmpDir();
  const base = join(root, "base");
  writeTinyLlama(base, { seed: 4, ...shape });
  cpSync(base, join(root, "same"), { recursive: true });
  const r = runCli(["llm", "analyze", "--base", base, "--chat", join(root, "same"), "--out", join(root, "out"), "--per-group", "4", "--only", "clustering", "--layers", "1", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(readFileSync(join(root, "out", "llm-analysis.json"), "utf8"));
  assert.deepEqual(res.clustering.models[0].layers, res.clustering.models[1].layers);
  assert.equal(res.deltaw.length, 0);
});

test("llm analyze: bad input gives one-line errors", () => {
  const root = tmpDir();
  const base = join(root, "base"), other = join(root, "other");
  writeTinyLlama(base, { seed: 1, ...shape });
  writeTinyLlama(other, { seed: 1, ...shape, layers: 3 });
  const cases: [string[], RegExp][] = [
    [["--chat", join(root, "missing")], /config\.json/],
    [["--chat", other], /numLayers is 3 but the base model's is 2/],
    [["--chat", base, "--layers", "0,7"], /--layers: 7 is not a layer of the model \(0\.\.1\)/],
    [["--chat", base, "--only", "everything"], /--only: "everything" is not one of clustering, deltaw/],
    [["--chat", base, "--prompts", join(root, "nope.jsonl")], /nope\.jsonl/],
    [["--chat", base, "--hook", "mlp.hook_gelu"], /--hook mlp\.hook_gelu/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(["llm", "analyze", "--base", base, "--out", join(root, "out"), "--quiet", ...args]);
    assert.notEqual(r.code, 0, args.join(" "));
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
});

test("--layers lists accept ranges", () => {
  assert.deepEqual(parseIntList("0,4,8-10", "--layers"), [0, 4, 8, 9, 10]);
  assert.throws(() => parseIntList("3-1", "--layers"), /empty/);
  assert.throws(() => parseIntList("a", "--layers"), /not an integer/);
});
