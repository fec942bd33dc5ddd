import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { columnSpaceOfMatrices } from "../../src/analysis/columnspace.js";
import { leftNullSpace, matMul, toMat, transpose, type Mat } from "../../src/analysis/linalg.js";
import { analyzeDeltaW, type DeltaWOptions, type MatrixSource } from "../../src/llm/deltaw.js";
import { invertUpper, pivotedCholesky } from "../../src/llm/deltaw-chol.js";
import { deltaWPlot, deltaWSummary, deltaWTable } from "../../src/llm/deltaw-report.js";
import { syntheticPair } from "../../src/llm/deltaw-synthetic.js";
import { renderSvg } from "../../src/plot/render.js";
import { UserError } from "../../src/util/errors.js";
import { randMat, withSingularValues } from "../analysis/helpers.js";

/** Rounds to float32 like stored weights. */
const f32 = (a: Mat): Mat => toMat(Float32Array.from(a.data), a.rows, a.cols);
const plus = (a: Mat, b: Mat, s = 1): Mat => f32({ rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v + s * b.data[i]) });
/** A source that counts its loads and hands out fresh float32 copies. */
function source(a: Mat): MatrixSource & { loads: number } {
  const src = { rows: a.rows, cols: a.cols, loads: 0, load: () => (src.loads++, Float32Array.from(a.data)) };
  return src;
}
const run = (base: Mat, chat: Mat, o: DeltaWOptions = {}) => analyzeDeltaW(source(base), source(chat), { samples: 50, ...o });
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));

test("pivoted Cholesky factors ΠᵀGΠ = RᵀR across panels; the blocked upper inverse inverts R", () => {
  const rng = new Rng(1);
  const n = 150, a = randMat(rng, 300, n);
  const g64 = matMul(transpose(a), a); // [n, n] SPD
  const g = Float32Array.from(g64.data);
  const c = pivotedCholesky(g, n, 1e-9, { block: 16 });
  assert.equal(c.rank, n);
  let worst = 0;
  for (let i = 0; i < n; i += 7) {
    for (let j = 0; j < n; j += 5) {
      let s = 0;
      for (let k = 0; k <= Math.min(i, j); k++) s += g[k * n + i] * g[k * n + j];
      worst = Math.max(worst, Math.abs(s - g64.data[c.perm[i] * n + c.perm[j]]) / g64.data[c.perm[0] * n + c.perm[0]]);
    }
  }
  assert.ok(worst < 1e-5, `ΠᵀGΠ − RᵀR relative ${worst}`);
  for (let i = 1; i < n; i++) assert.ok(c.perm.includes(i));
  const x = invertUpper(g, n, n, 32); // crosses block boundaries (150 = 4·32 + 22)
  let dev = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = i; k <= j; k++) s += g[i * n + k] * x[k * n + j];
      dev = Math.max(dev, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  assert.ok(dev < 1e-4, `R·R⁻¹ − I: ${dev}`);
});

test("pivoted Cholesky stops at the rank of a rank-deficient Gram", () => {
  const rng = new Rng(2);
  const b = randMat(rng, 200, 30), cm = randMat(rng, 30, 80);
  const a = f32(matMul(b, cm)); // [200, 80], rank 30
  const g = Float32Array.from(matMul(transpose(a), a).data);
  let gmax = 0;
  for (let i = 0; i < 80; i++) gmax = Math.max(gmax, g[i * 80 + i]);
  const c = pivotedCholesky(g, 80, 16 * 2 ** -23 * gmax, { block: 8 });
  assert.equal(c.rank, 30);
});

test("streamed values equal the exact float64 column-space analysis (tall: left side, wide: right side)", () => {
  const rng = new Rng(3);
  for (const [m, n] of [[384, 96], [512, 200], [96, 384]]) {
    const base = f32(randMat(rng, m, n, 0.05));
    const chat = plus(base, randMat(rng, m, n, 0.01));
    const exact = columnSpaceOfMatrices(base, chat, { reference: false, samples: 10 });
    const side = m >= n ? exact.left : exact.right;
    const r = run(base, chat, { svd: "exact", maxVectors: 500 });
    assert.equal(r.side, m >= n ? "left" : "right");
    assert.equal(r.rankBase, exact.rankIT);
    assert.equal(r.k, exact.k);
    assert.equal(r.capped, false);
    assert.equal(r.ambient, Math.max(m, n));
    assert.ok(maxDiff(r.projection, side.projection) < 1e-4, `${m}×${n}: max diff ${maxDiff(r.projection, side.projection)}`);
    assert.ok(maxDiff(r.sigma, side.sigma) < 1e-5 * side.sigma[0]);
    assert.equal(r.baselineAnalytic, side.baselineAnalytic);
    assert.ok(Math.abs(r.normRatio - exact.normRatio) < 1e-5);
    assert.ok(Math.abs(r.mean - side.mean) < 1e-4);
  }
});

test("the randomized SVD path matches the exact one on a low-rank ΔW with a separated spectrum", () => {
  const rng = new Rng(4);
  const m = 512, n = 200;
  const base = f32(randMat(rng, m, n, 0.05));
  const lr = withSingularValues(rng, m, n, [3, 2, 1.4, 1, 0.7, 0.5]).a;
  const chat = f32({ rows: m, cols: n, data: base.data.map((v, i) => v + 0.1 * lr.data[i] + 1e-5 * rng.normal()) });
  const exact = run(base, chat, { svd: "exact" });
  const rand = run(base, chat, { svd: "randomized", seed: 7 });
  assert.equal(rand.method.svd, "randomized");
  assert.equal(rand.k, exact.k);
  assert.ok(maxDiff(rand.projection, exact.projection) < 1e-4, `max diff ${maxDiff(rand.projection, exact.projection)}`);
  assert.ok(maxDiff(rand.sigma, exact.sigma) < 1e-4 * exact.sigma[0]);
});

test("ΔW inside the null space of W_base projects with 1, inside its range with 0 (both orientations)", () => {
  const rng = new Rng(5);
  const m = 160, n = 48;
  const base = f32(randMat(rng, m, n)); // tall [m, n]
  const { basis } = leftNullSpace(base); // [(m − n), m]
  const inNull = matMul(transpose(basis), randMat(rng, m - n, n, 0.1)); // [m, n]: columns in N(W_baseᵀ)
  const tall = run(base, plus(base, inNull));
  assert.ok(tall.k > 0 && tall.projection.every((p) => Math.abs(p - 1) < 1e-4), `tall ${tall.projection}`);
  assert.equal(tall.fracAbove09, 1);
  const inRange = run(base, plus(base, matMul(base, randMat(rng, n, n, 0.1))));
  assert.ok(inRange.projection.every((p) => p < 1e-3), `range ${inRange.projection}`);
  // Wide: the transposes. ΔWᵀ's right singular vectors are ΔW's left ones, inside N(W_baseᵀ) = N((W_baseᵀ)).
  const wide = run(transpose(base), transpose(plus(base, inNull)));
  assert.equal(wide.side, "right");
  assert.ok(wide.projection.every((p) => Math.abs(p - 1) < 1e-4), `wide ${wide.projection}`);
});

test("a random ΔW sits at the analytic baseline √((m−r)/m); so does the sampled baseline", () => {
  const rng = new Rng(6);
  const m = 256, n = 64;
  const base = f32(randMat(rng, m, n));
  const r = run(base, plus(base, randMat(rng, m, n, 0.05)), { samples: 400, seed: 2, maxVectors: 500 });
  const analytic = Math.sqrt((m - n) / m);
  assert.equal(r.rankBase, n);
  assert.ok(Math.abs(r.baselineAnalytic - analytic) < 1e-6);
  assert.ok(Math.abs(r.baselineSampled.mean - analytic) < 0.006, `sampled ${r.baselineSampled.mean}`);
  assert.equal(r.baselineSampled.n, 400);
  assert.ok(r.k > 30);
  assert.ok(Math.abs(r.mean - analytic) < 0.02, `mean ${r.mean} vs ${analytic}`);
});

test("a rank-deficient W_base: rank r, baseline √((m−r)/m), values as the exact analysis", () => {
  const rng = new Rng(7);
  for (const [m, n, rank] of [[300, 90, 60], [90, 300, 60]]) {
    const base = f32(withSingularValues(rng, m, n, Array.from({ length: rank }, (_, i) => 2 - i * 0.02)).a);
    const lr = withSingularValues(rng, m, n, [1, 0.6, 0.4]).a;
    const chat = plus(base, lr, 0.1);
    const exact = columnSpaceOfMatrices(base, chat, { reference: false, samples: 10 });
    const r = run(base, chat);
    assert.equal(r.rankBase, rank);
    assert.equal(exact.rankIT, rank);
    assert.equal(r.nullDim, Math.max(m, n) - rank);
    assert.ok(Math.abs(r.baselineAnalytic - Math.sqrt((Math.max(m, n) - rank) / Math.max(m, n))) < 1e-6);
    const side = m >= n ? exact.left : exact.right;
    assert.ok(maxDiff(r.projection, side.projection) < 1e-4, `${m}×${n}: ${maxDiff(r.projection, side.projection)}`);
  }
});

test("the vector cap: k = maxVectors and capped when 90% of the energy needs more", () => {
  const rng = new Rng(8);
  const base = f32(randMat(rng, 300, 120));
  const chat = plus(base, randMat(rng, 300, 120, 0.05)); // flat spectrum: the 90% rank is large
  const exact = run(base, chat, { maxVectors: 10, svd: "exact" });
  assert.equal(exact.k, 10);
  assert.equal(exact.capped, true);
  assert.ok(exact.kEnergy !== null && exact.kEnergy > 10);
  assert.ok(exact.energyCaptured < 0.9);
  const rand = run(base, chat, { maxVectors: 10, svd: "randomized" });
  assert.equal(rand.k, 10);
  assert.equal(rand.capped, true);
  assert.equal(rand.kEnergy, null);
});

test("each source is loaded once; bad sources give one-line errors", () => {
  const rng = new Rng(9);
  const base = f32(randMat(rng, 40, 20)), chat = plus(base, randMat(rng, 40, 20, 0.1));
  const b = source(base), c = source(chat);
  analyzeDeltaW(b, c, { samples: 0 });
  assert.equal(b.loads, 1);
  assert.equal(c.loads, 1);
  const oneLine = (e: unknown, re: RegExp) => e instanceof UserError && !e.message.includes("\n") && re.test(e.message);
  assert.throws(() => analyzeDeltaW(b, source(f32(randMat(rng, 20, 40)))), (e) => oneLine(e, /chat shape 20×40 differs from base shape 40×20/));
  assert.throws(() => analyzeDeltaW({ rows: 40, cols: 20, load: () => new Float32Array(10) }, c), (e) => oneLine(e, /base\.load\(\) returned 10 values, expected 40×20 = 800/));
  assert.throws(() => analyzeDeltaW(b, c, { energy: 1.5 }), (e) => oneLine(e, /energy must be in \(0, 1\]/));
  assert.throws(() => analyzeDeltaW(b, c, { maxVectors: 0 }), (e) => oneLine(e, /maxVectors/));
  const nan = Float32Array.from(chat.data);
  nan[5] = NaN;
  assert.throws(() => analyzeDeltaW(b, { rows: 40, cols: 20, load: () => nan.slice() }), (e) => oneLine(e, /chat matrix holds NaN/));
  // No change at all: nothing to test, no error.
  const same = analyzeDeltaW(source(base), source(base), { samples: 10 });
  assert.equal(same.k, 0);
  assert.equal(same.normDelta, 0);
  assert.deepEqual(same.projection, []);
});

test("synthetic pair: the structured ΔW keeps the 90% rank small; report table, summary and plot", async () => {
  const pair = syntheticPair(600, 160, { seed: 1 });
  const r = analyzeDeltaW(pair.base, pair.chat, { samples: 50, layer: 3, matrix: "gate_proj" });
  assert.deepEqual(pair.loads, { base: 1, chat: 1 });
  assert.ok(r.k >= 2 && r.k <= 8, `k ${r.k}`);
  assert.ok(Math.abs(r.normRatio - 0.05) < 0.005, `norm ratio ${r.normRatio}`);
  assert.equal(r.rankBase, 160);
  const table = deltaWTable([r]);
  assert.match(table, /^\| layer \| matrix \|/);
  assert.match(table, /\| 3 \| gate_proj \| 600×160 \| left \| 160 \|/);
  assert.match(deltaWSummary(r), /^layer 3 gate_proj: k=\d+, mean 0\.\d{3} \(baseline 0\.\d{3}\)/);
  const spec = deltaWPlot([r, { ...r, layer: 4 }]);
  const values = (spec.data as { values: { kind: string }[] }).values;
  assert.equal(values.filter((v) => v.kind === "point").length, 2 * r.k);
  assert.equal(values.filter((v) => v.kind === "baseline").length, 4);
  assert.match(await renderSvg(spec), /^<svg/);
});
