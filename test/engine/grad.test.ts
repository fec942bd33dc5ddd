import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { Tensor, alloc } from "../../src/engine/tensor.js";
import { attention, crossEntropy, embedding, gelu, layerNorm, linear, matmul } from "../../src/engine/ops/nn.js";
import { add, addConst, addTiled, logSigmoid, mean, mul, pick, rowWeightedSum, scale, sub, sum } from "../../src/engine/ops/elementwise.js";
import { f64, gradCheck, randTensor } from "./gradcheck.js";

/** Reduces any tensor to a scalar with fixed random weights so every output element matters. */
function project(t: Tensor, seed = 3): Tensor {
  const rng = new Rng(seed, 5);
  const w = alloc(t.size);
  for (let i = 0; i < t.size; i++) w[i] = rng.normal();
  return sum(mul(t, new Tensor(w, t.shape)));
}

test("linear: grads w.r.t. x, w, b (float64 finite differences)", () => f64(() => {
  const r = new Rng(1);
  const x = randTensor(r, [2, 3, 5]), w = randTensor(r, [7, 5]), b = randTensor(r, [7]);
  gradCheck(() => project(linear(x, w, b)), [x, w, b]);
  gradCheck(() => project(linear(x, w, null)), [x, w]);
}));

test("matmul: all four transpose combinations", () => f64(() => {
  const r = new Rng(2);
  for (const transA of [false, true]) for (const transB of [false, true]) {
    const a = randTensor(r, transA ? [4, 3] : [3, 4]);
    const b = randTensor(r, transB ? [6, 4] : [4, 6]);
    gradCheck(() => project(matmul(a, b, { transA, transB })), [a, b]);
  }
}));

test("embedding: grad scatters into used rows (repeated ids accumulate)", () => f64(() => {
  const r = new Rng(3);
  const w = randTensor(r, [9, 4]);
  const ids = Int32Array.from([1, 4, 4, 0, 8, 1]);
  gradCheck(() => project(embedding(w, ids, [2, 3])), [w]);
  assert.throws(() => embedding(w, Int32Array.from([9]), [1]), /outside/);
}));

test("layerNorm, gelu", () => f64(() => {
  const r = new Rng(4);
  const x = randTensor(r, [3, 8], 2), w = randTensor(r, [8]), b = randTensor(r, [8]);
  gradCheck(() => project(layerNorm(x, w, b)), [x, w, b]);
  const y = randTensor(r, [5, 7], 2);
  gradCheck(() => project(gelu(y)), [y]);
}));

test("attention: causal, with an extra mask and with a fully masked row", () => f64(() => {
  const r = new Rng(5);
  const B = 2, T = 5, C = 6, H = 2;
  const qkv = randTensor(r, [B, T, 3 * C]);
  gradCheck(() => project(attention(qkv, H).out), [qkv]);
  const mask = new Uint8Array(B * T * T).fill(1);
  mask[(0 * T + 3) * T + 1] = 0; // b=0, t=3 may not see s=1
  for (let s = 0; s < T; s++) mask[(1 * T + 2) * T + s] = 0; // b=1, t=2 sees nothing → zero output
  const out = attention(qkv, H, mask).out;
  for (let c = 0; c < C; c++) assert.equal(out.data[(1 * T + 2) * C + c], 0);
  gradCheck(() => project(attention(qkv, H, mask).out), [qkv]);
}));

test("crossEntropy with ignored targets", () => f64(() => {
  const r = new Rng(6);
  const logits = randTensor(r, [2, 3, 5]);
  const targets = Int32Array.from([0, 4, -1, 2, -1, 1]);
  const l = crossEntropy(logits, targets);
  assert.equal(l.data[2], 0);
  gradCheck(() => project(crossEntropy(logits, targets)), [logits]);
}));

test("elementwise ops and reductions", () => f64(() => {
  const r = new Rng(7);
  const a = randTensor(r, [2, 3, 4]), b = randTensor(r, [2, 3, 4]), c = randTensor(r, [3, 4]);
  gradCheck(() => project(add(a, b)), [a, b]);
  gradCheck(() => project(addTiled(a, c)), [a, c]);
  gradCheck(() => project(sub(a, b)), [a, b]);
  gradCheck(() => project(mul(a, b)), [a, b]);
  gradCheck(() => project(scale(a, -2.5)), [a]);
  gradCheck(() => project(logSigmoid(scale(a, 4))), [a]);
  gradCheck(() => mean(a), [a]);
  const w = alloc(24).map((_, i) => (i % 3 === 0 ? 0 : 1));
  gradCheck(() => project(rowWeightedSum(a.reshape([6, 4]), w)), [a]);
  gradCheck(() => sum(pick(a, [0, 5, 5, 23])), [a]);
  const k = alloc(24).map((_, i) => i);
  gradCheck(() => project(addConst(a, k, -1)), [a]);
}));

test("logSigmoid is stable for large |x|", () => {
  const x = new Tensor(Float32Array.from([-1000, -20, 0, 20, 1000]), [5]);
  const y = logSigmoid(x).data;
  assert.ok(Number.isFinite(y[0]) && Math.abs(y[0] + 1000) < 1e-3);
  assert.ok(Math.abs(y[2] - Math.log(0.5)) < 1e-6);
  assert.ok(Math.abs(y[4]) < 1e-6);
});
