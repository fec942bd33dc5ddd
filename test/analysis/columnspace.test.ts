import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { columnSpaceOfMatrices } from "../../src/analysis/columnspace.js";
import { leftNullSpace, matMul, toMat, transpose, type Mat } from "../../src/analysis/linalg.js";
import { randMat, withSingularValues } from "./helpers.js";

/** Rounds to float32 like stored weights. */
const f32 = (a: Mat): Mat => toMat(Float32Array.from(a.data), a.rows, a.cols);
const plus = (a: Mat, b: Mat): Mat => f32({ rows: a.rows, cols: a.cols, data: a.data.map((v, i) => v + b.data[i]) });

test("ΔW built inside the left null space of W_IT projects with magnitude 1; inside its range with 0", () => {
  const rng = new Rng(10);
  const m = 64, n = 16;
  for (const rank of [16, 5]) {
    const wIT = f32(rank === n ? randMat(rng, m, n) : withSingularValues(rng, m, n, Array.from({ length: rank }, (_, i) => 2 - i * 0.2)).a);
    const { basis } = leftNullSpace(wIT); // [(m − r), m]
    assert.equal(basis.rows, m - rank);
    // ΔW = N·B: every column of ΔW is a combination of null-space vectors.
    const inNull = matMul(transpose(basis), randMat(rng, m - rank, n, 0.1)); // [m, n]
    const e = columnSpaceOfMatrices(wIT, plus(wIT, inNull), { samples: 200 });
    assert.equal(e.rankIT, rank);
    assert.ok(e.k > 0);
    for (const p of e.left.projection) assert.ok(Math.abs(p - 1) < 1e-5, `projection ${p} should be 1`);
    assert.ok(Math.abs(e.left.baselineAnalytic - Math.sqrt((m - rank) / m)) < 1e-6);
    assert.equal(e.left.fracAbove09, 1);
    // ΔW = W_IT·B lies in the range of W_IT: projection 0.
    const inRange = matMul(wIT, randMat(rng, n, n, 0.1));
    const e2 = columnSpaceOfMatrices(wIT, plus(wIT, inRange), { samples: 50 });
    for (const p of e2.left.projection) assert.ok(p < 1e-3, `projection ${p} should be 0`);
  }
});

test("a random ΔW matches the analytic baseline √((m−r)/m) within sampling error", () => {
  const rng = new Rng(11);
  const m = 256, n = 64;
  const wIT = f32(randMat(rng, m, n));
  const e = columnSpaceOfMatrices(wIT, plus(wIT, randMat(rng, m, n, 0.05)), { samples: 2000, seed: 3 });
  const analytic = Math.sqrt((m - n) / m);
  assert.equal(e.rankIT, n);
  assert.ok(Math.abs(e.left.baselineAnalytic - analytic) < 1e-6);
  // ‖P_N x‖² ~ Beta((m−r)/2, r/2): std of ‖P_N x‖ ≈ 0.022 here, so the sampled mean is within ~0.002.
  assert.ok(Math.abs(e.left.baselineSampled.mean - analytic) < 0.006, `sampled ${e.left.baselineSampled.mean} vs ${analytic}`);
  assert.ok(Math.abs(e.left.baselineSampled.std - 0.022) < 0.006, `std ${e.left.baselineSampled.std}`);
  // ΔW's left singular vectors are Haar-random directions: their mean projection sits at the baseline.
  assert.ok(e.k > 30);
  assert.ok(Math.abs(e.left.mean - analytic) < 0.02, `mean projection ${e.left.mean} vs ${analytic}`);
  // The right side of a [m, n] full-rank matrix has a trivial null space.
  assert.equal(e.right.nullDim, 0);
  assert.ok(e.right.projection.every((p) => p < 1e-3));
  // Reference variant: values are sines, within [0, 1], with its own baseline.
  assert.ok(e.reference && e.reference.values.length === e.reference.kST);
  assert.ok(e.reference.values.every((v) => v >= 0 && v <= 1));
  assert.ok(Math.abs(e.reference.baseline - Math.sqrt((m - e.reference.kIT) / m)) < 1e-5);
});

test("column-space analysis is deterministic (seeded)", () => {
  const rng = new Rng(12);
  const wIT = f32(randMat(rng, 48, 12)), wST = plus(wIT, randMat(rng, 48, 12, 0.1));
  assert.deepEqual(columnSpaceOfMatrices(wIT, wST, { seed: 4 }), columnSpaceOfMatrices(wIT, wST, { seed: 4 }));
});
