import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { noGrad } from "../../src/engine/tensor.js";
import { extractFeatures, extractFeaturesFromEmbeds } from "../../src/analysis/features.js";
import { GPT } from "../../src/model/gpt.js";
import { randomInputs, tinyConfig } from "./helpers.js";

test("batched features (padded, variable lengths) equal one-at-a-time features and a manual window mean", () => {
  const model = new GPT(tinyConfig(), undefined, 3);
  const inputs = randomInputs(new Rng(30), 7);
  const opts = { hook: "mlp.hook_post", window: 10 };
  const batched = extractFeatures(model, inputs, { ...opts, batchSize: 3 });
  const single = extractFeatures(model, inputs, { ...opts, batchSize: 1 });
  assert.equal(batched.dim, 64);
  assert.deepEqual(batched.layers, [0, 1]);
  for (let l = 0; l < 2; l++) for (let i = 0; i < batched.data[l].length; i++) assert.ok(Math.abs(batched.data[l][i] - single.data[l][i]) < 1e-5);
  // Manual: sequence 0, layer 1, mean over its clipped window.
  const s = inputs[0], T = s.tokens.length - 1;
  const { cache } = noGrad(() => model.runWithCache({ tokens: Int32Array.from(s.tokens).subarray(0, T), B: 1, T }, { namesFilter: ["blocks.1.mlp.hook_post"] }));
  const act = cache.get("blocks.1.mlp.hook_post")!;
  const to = Math.min(s.start + 10, T);
  for (let c = 0; c < 64; c++) {
    let m = 0;
    for (let t = s.start; t < to; t++) m += act.data[t * 64 + c];
    m /= to - s.start;
    assert.ok(Math.abs(m - batched.data[1][c]) < 1e-5);
  }
  // units keeps the first dims; mlp.hook_in has C dims.
  assert.equal(extractFeatures(model, inputs, { ...opts, units: 5 }).data[0][5 + 3], batched.data[0][64 + 3]);
  assert.equal(extractFeatures(model, inputs, { hook: "mlp.hook_in", window: 1, layers: [1] }).dim, 16);
});

test("features from input embeddings equal features from the same tokens", () => {
  const model = new GPT(tinyConfig(), undefined, 4);
  const rng = new Rng(31);
  const B = 3, T = 12;
  const tokens = Int32Array.from({ length: B * T }, () => rng.int(59));
  const seqs = Array.from({ length: B }, (_, b) => ({ tokens: [...tokens.subarray(b * T, b * T + T), 0], start: 2 + b }));
  const a = extractFeatures(model, seqs, { hook: "mlp.hook_post", window: 4 });
  const b = extractFeaturesFromEmbeds(model, model.embedTokens(tokens, B, T), [2, 3, 4], { hook: "mlp.hook_post", window: 4, batchSize: 2 });
  for (let l = 0; l < 2; l++) for (let i = 0; i < a.data[l].length; i++) assert.ok(Math.abs(a.data[l][i] - b.data[l][i]) < 1e-6);
});
