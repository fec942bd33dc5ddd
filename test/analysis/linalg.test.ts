import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { energyRank, entropyEffectiveRank, leftNullSpace, matMul, numericalRank, svd, toMat, transpose, zerosMat, type Mat, type SVD } from "../../src/analysis/linalg.js";
import { denseOperator, randomizedSvd, truncatedSvd } from "../../src/analysis/rsvd.js";
import { auc } from "../../src/analysis/stats.js";
import { gramSingularValues, symmetricEigenvalues } from "../../src/analysis/symeig.js";
import { randMat, withSingularValues } from "./helpers.js";

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function reconstruct(d: SVD): Mat {
  const k = d.s.length, out = zerosMat(d.m, d.n);
  for (let r = 0; r < k; r++) for (let i = 0; i < d.m; i++) {
    const c = d.s[r] * d.Ut!.data[r * d.m + i];
    for (let j = 0; j < d.n; j++) out.data[i * d.n + j] += c * d.Vt!.data[r * d.n + j];
  }
  return out;
}

/** max |X Xᵀ − I| for a set of row vectors. */
function orthError(x: Mat): number {
  const g = matMul(x, transpose(x));
  for (let i = 0; i < x.rows; i++) g.data[i * x.rows + i] -= 1;
  return maxAbs(g.data);
}

function checkSvd(a: Mat, tol = 1e-12): SVD {
  const d = svd(a);
  const scale = Math.max(1, d.s[0] ?? 0);
  const rec = reconstruct(d);
  for (let i = 0; i < a.data.length; i++) rec.data[i] -= a.data[i];
  assert.ok(maxAbs(rec.data) < tol * scale * 10, `reconstruction error ${maxAbs(rec.data)}`);
  assert.ok(orthError(d.Ut!) < 1e-12, `U orthogonality ${orthError(d.Ut!)}`);
  assert.ok(orthError(d.Vt!) < 1e-12, `V orthogonality ${orthError(d.Vt!)}`);
  for (let i = 1; i < d.s.length; i++) assert.ok(d.s[i] <= d.s[i - 1] && d.s[i] >= 0, "descending, non-negative");
  return d;
}

test("SVD: reconstruction and orthogonality (tall, wide, square, vectors and tiny shapes)", () => {
  const rng = new Rng(1);
  for (const [m, n] of [[60, 25], [25, 60], [40, 40], [1, 7], [7, 1], [1, 1], [96, 24]]) checkSvd(randMat(rng, m, n));
});

test("SVD: recovers prescribed singular values (incl. wide range and repeated values)", () => {
  const rng = new Rng(2);
  const s = [10, 5, 5, 2, 1, 1e-3, 1e-6, 1e-9];
  const { a } = withSingularValues(rng, 50, 20, s);
  const d = checkSvd(a);
  for (let i = 0; i < s.length; i++) assert.ok(Math.abs(d.s[i] - s[i]) <= 1e-13 * 10 + 1e-12 * s[i], `σ_${i} = ${d.s[i]} vs ${s[i]}`);
  for (let i = s.length; i < 20; i++) assert.ok(d.s[i] < 1e-13, `σ_${i} should vanish, got ${d.s[i]}`);
  const vals = svd(a, { vectors: false });
  assert.equal(vals.Ut, null);
  for (let i = 0; i < 20; i++) assert.ok(Math.abs(vals.s[i] - d.s[i]) < 1e-13);
});

test("SVD: exactly rank-deficient and zero matrices still give orthonormal factors", () => {
  const z = zerosMat(6, 4);
  const d = checkSvd(z);
  assert.deepEqual(Array.from(d.s), [0, 0, 0, 0]);
  // Two identical columns and a zero column.
  const a = toMat([1, 1, 0, 2, 2, 0, 3, 3, 0], 3, 3);
  const e = checkSvd(a);
  assert.ok(Math.abs(e.s[0] - Math.sqrt(28)) < 1e-12);
  assert.equal(e.s[2], 0);
});

test("numerical rank (float32 tolerance) and the left null space", () => {
  const rng = new Rng(3);
  const { a } = withSingularValues(rng, 40, 20, [3, 2, 1, 0.5, 0.2, 0.1]);
  // Round to float32 as weights are stored: the rank must still read 6, not 20.
  const w = toMat(Float32Array.from(a.data), 40, 20);
  const d = svd(w);
  assert.equal(numericalRank(d.s, 40, 20), 6);
  assert.equal(numericalRank(svd(a).s, 40, 20, 2 ** -52), 6);
  const { basis, rank } = leftNullSpace(w);
  assert.equal(rank, 6);
  assert.equal(basis.rows, 34);
  assert.ok(orthError(basis) < 1e-12);
  // Wᵀ n ≈ 0 for every null-space vector n (relative to ‖W‖ and float32 rounding).
  const wtN = matMul(basis, w); // rows: nᵀ W
  assert.ok(maxAbs(wtN.data) < 1e-5, `‖nᵀW‖ = ${maxAbs(wtN.data)}`);
});

test("energy rank, the reference's cut, and the entropy effective rank", () => {
  assert.equal(energyRank([3, 1, 0], 0.9), 1); // 9/10 = 0.9 exactly: one vector holds 90%
  assert.equal(energyRank([3, 1, 0], 0.9, true), 1); // reference: first index where the cumsum exceeds 0.9 is 1
  assert.equal(energyRank([1, 1, 1, 1], 0.9), 4);
  assert.equal(energyRank([1, 1, 1, 1], 0.9, true), 3);
  assert.equal(energyRank([0, 0], 0.9), 0);
  assert.ok(Math.abs(entropyEffectiveRank([2, 2, 2, 2]) - 4) < 1e-12);
  assert.ok(Math.abs(entropyEffectiveRank([5, 0, 0]) - 1) < 1e-12);
  const e = entropyEffectiveRank([3, 1]);
  const p = [0.75, 0.25];
  assert.ok(Math.abs(e - Math.exp(-(p[0] * Math.log(p[0]) + p[1] * Math.log(p[1])))) < 1e-12);
});

test("AUC: known cases, ties count one half, agrees with brute force", () => {
  assert.equal(auc([3, 4, 5], [0, 1, 2]), 1);
  assert.equal(auc([0, 1], [2, 3]), 0);
  assert.equal(auc([1, 1], [1, 1, 1]), 0.5);
  assert.equal(auc([1, 2, 3], [2]), 0.5);
  assert.equal(auc([0.8, 0.6], [0.6, 0.1]), 0.875);
  assert.ok(Number.isNaN(auc([], [1])));
  const rng = new Rng(4);
  const pos = Array.from({ length: 57 }, () => rng.int(10)), neg = Array.from({ length: 43 }, () => rng.int(8));
  let s = 0;
  for (const p of pos) for (const q of neg) s += p > q ? 1 : p === q ? 0.5 : 0;
  assert.ok(Math.abs(auc(pos, neg) - s / (57 * 43)) < 1e-12);
});

test("randomized SVD (sgemm, float32) matches the exact SVD on a decaying spectrum", () => {
  const rng = new Rng(5);
  const s = Array.from({ length: 60 }, (_, i) => Math.exp(-i / 4));
  const { a } = withSingularValues(rng, 180, 120, s);
  const exact = svd(a);
  const r = randomizedSvd(Float32Array.from(a.data), 180, 120, { rank: 10, powerIters: 3, seed: 1 });
  assert.equal(r.s.length, 10);
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(r.s[i] - exact.s[i]) < 1e-4 * exact.s[0], `σ_${i}: ${r.s[i]} vs ${exact.s[i]}`);
    let du = 0, dv = 0;
    for (let x = 0; x < 180; x++) du += r.Ut!.data[i * 180 + x] * exact.Ut!.data[i * 180 + x];
    for (let x = 0; x < 120; x++) dv += r.Vt!.data[i * 120 + x] * exact.Vt!.data[i * 120 + x];
    assert.ok(Math.abs(Math.abs(du) - 1) < 1e-3 && Math.abs(Math.abs(dv) - 1) < 1e-3, `vector ${i}: |u·u'| = ${Math.abs(du)}, |v·v'| = ${Math.abs(dv)}`);
  }
});

test("truncated SVD (float64 subspace iteration with a tolerance) converges to the top values", () => {
  const rng = new Rng(6);
  const a = randMat(rng, 70, 40);
  const exact = svd(a, { vectors: false });
  const t = truncatedSvd(denseOperator(a), { rank: 3, powerIters: 300, tol: 1e-12, vectors: false });
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(t.s[i] - exact.s[i]) < 1e-8 * exact.s[0], `σ_${i}: ${t.s[i]} vs ${exact.s[i]}`);
});

test("symmetric eigenvalues (tridiagonalisation + bisection) and Gram singular values match the Jacobi SVD", () => {
  const rng = new Rng(7);
  for (const [m, n] of [[30, 12], [12, 30], [1, 5], [25, 25]]) {
    const x = randMat(rng, m, n);
    const exact = svd(x, { vectors: false }).s;
    const g = gramSingularValues(x);
    assert.equal(g.length, exact.length);
    // σ² is exact to ε·σ₁², so compare squares.
    for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] ** 2 - exact[i] ** 2) < 1e-11 * exact[0] ** 2, `${m}×${n} σ_${i}: ${g[i]} vs ${exact[i]}`);
    assert.deepEqual(Array.from(gramSingularValues(x, 2)), Array.from(g.subarray(0, Math.min(2, g.length))));
  }
  // A symmetric matrix with known (repeated, negative) eigenvalues.
  const { a: q } = withSingularValues(rng, 6, 6, [1, 1, 1, 1, 1, 1]); // a random orthogonal matrix
  const lam = [4, 2, 2, 0, -1, -3];
  const s = zerosMat(6, 6);
  for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) for (let k = 0; k < 6; k++) s.data[i * 6 + j] += q.data[i * 6 + k] * lam[k] * q.data[j * 6 + k];
  const ev = symmetricEigenvalues(s);
  lam.forEach((l, i) => assert.ok(Math.abs(ev[i] - l) < 1e-12, `λ_${i} = ${ev[i]} vs ${l}`));
});
