import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { centroids, clusterSpectrumShares, clusterStats, tau, tauOf, type Centroids } from "../../src/analysis/clustering.js";
import type { LayerFeatures } from "../../src/analysis/features.js";
import { svd, zerosMat } from "../../src/analysis/linalg.js";

function feats(rows: number[][][]): LayerFeatures {
  // rows[layer][i] = vector
  const n = rows[0].length, dim = rows[0][0].length;
  return { hook: "mlp.hook_post", layers: rows.map((_, l) => l), n, dim, data: rows.map((r) => Float64Array.from(r.flat())) };
}

test("τ at the cluster means is ±‖μ_U − μ_S‖ (L2), and the cosine variant's values", () => {
  const muS = [1, 2, 0, -1], muU = [-2, 0.5, 3, 1];
  const d = Math.hypot(...muS.map((v, i) => v - muU[i]));
  assert.ok(Math.abs(tauOf(muS, muS, muU) - d) < 1e-12);
  assert.ok(Math.abs(tauOf(muU, muS, muU) + d) < 1e-12);
  const cosSU = muS.reduce((s, v, i) => s + v * muU[i], 0) / (Math.hypot(...muS) * Math.hypot(...muU));
  assert.ok(Math.abs(tauOf(muS, muS, muU, "cos") - (1 - cosSU)) < 1e-12);
  assert.ok(Math.abs(tauOf(muU, muS, muU, "cos") - (cosSU - 1)) < 1e-12);
  // Via centroids computed from reference features (mean of two points each).
  const ref = feats([[[0, 0], [2, 0]]]), refU = feats([[[0, 4], [0, 6]]]);
  const c: Centroids = centroids(ref, refU); // μ_S = (1,0), μ_U = (0,5)
  const t = tau(feats([[[1, 0], [0, 5]]]), c)[0];
  assert.ok(Math.abs(t[0] - Math.hypot(1, 5)) < 1e-12 && Math.abs(t[1] + Math.hypot(1, 5)) < 1e-12);
});

test("separated synthetic clusters: positive gap, AUC 1, τ signs; the rank-1 cluster has top share ≈ 1", () => {
  const rng = new Rng(20);
  const dim = 12, n = 80;
  const dir = Array.from({ length: dim }, () => rng.normal());
  const safe = feats([Array.from({ length: n }, () => Array.from({ length: dim }, () => 2 + 0.3 * rng.normal()))]);
  // Unsafe cluster spread along one direction only (plus tiny noise): low-rank.
  const unsafe = feats([Array.from({ length: n }, () => { const z = rng.normal(); return dir.map((v) => -2 + z * v + 1e-3 * rng.normal()); })]);
  const c = centroids(safe, unsafe);
  const [s] = clusterStats(c, safe, unsafe);
  assert.ok(s.l2.gap > 0 && s.l2.safe.mean > 0 && s.l2.unsafe.mean < 0);
  assert.equal(s.l2.auc, 1);
  assert.ok(s.spectrum.unsafe[0] > 0.999, `unsafe top share ${s.spectrum.unsafe[0]}`);
  assert.ok(s.spectrum.safe[0] < 0.4, `safe top share ${s.spectrum.safe[0]}`);
});

test("cluster spectrum shares equal the exact SVD's σ²/Σσ² of the centred matrix", () => {
  const rng = new Rng(21);
  const n = 50, dim = 20;
  const rows = Array.from({ length: n }, () => Array.from({ length: dim }, (_, c) => rng.normal() * (1 + c / 4)));
  const f = feats([rows]);
  const shares = clusterSpectrumShares(f, 0, 3);
  const x = zerosMat(n, dim);
  const mu = Array.from({ length: dim }, (_, c) => rows.reduce((s, r) => s + r[c], 0) / n);
  rows.forEach((r, i) => r.forEach((v, c) => { x.data[i * dim + c] = v - mu[c]; }));
  const s = svd(x, { vectors: false }).s;
  const tot = s.reduce((a, v) => a + v * v, 0);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(shares[i] - (s[i] * s[i]) / tot) < 1e-6, `share ${i}: ${shares[i]} vs ${(s[i] * s[i]) / tot}`);
});
