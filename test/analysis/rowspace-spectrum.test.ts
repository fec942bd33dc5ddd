import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { Tensor } from "../../src/engine/tensor.js";
import { GPT } from "../../src/model/gpt.js";
import { rowSpaceScores } from "../../src/analysis/rowspace.js";
import { spectrumEvolution, spectrumOf } from "../../src/analysis/spectrum.js";
import { svd, zerosMat } from "../../src/analysis/linalg.js";
import { modelPair, randMat, withSingularValues } from "./helpers.js";

test("row-space scores: gain = ‖M a‖/‖a‖ = √Σ score_j², and a rank-1 M sees only its row direction", () => {
  const rng = new Rng(50);
  const m = randMat(rng, 24, 8), n = 10;
  const a = randMat(rng, n, 8);
  const d = svd(m);
  const { scores, gain } = rowSpaceScores(d.s, d.Vt!, a.data, n, 3);
  assert.equal(scores.length, 3);
  for (let i = 0; i < n; i++) {
    let ma = 0, aa = 0;
    for (let r = 0; r < 24; r++) {
      let s = 0;
      for (let c = 0; c < 8; c++) s += m.data[r * 8 + c] * a.data[i * 8 + c];
      ma += s * s;
    }
    for (let c = 0; c < 8; c++) aa += a.data[i * 8 + c] ** 2;
    assert.ok(Math.abs(gain[i] - Math.sqrt(ma / aa)) < 1e-12);
  }
  // M = 3·u vᵀ: a = v gives gain 3 and |score_0| = 3; a ⟂ v gives 0.
  const { a: r1, v } = withSingularValues(rng, 12, 6, [3]);
  const e = svd(r1);
  const inputs = zerosMat(2, 6);
  inputs.data.set(v.data.subarray(0, 6), 0);
  inputs.data.set([v.data[1], -v.data[0], 0, 0, 0, 0], 6);
  const r = rowSpaceScores(e.s, e.Vt!, inputs.data, 2, 1);
  assert.ok(Math.abs(r.gain[0] - 3) < 1e-12 && Math.abs(r.scores[0][0] - 3) < 1e-12);
  assert.ok(r.gain[1] < 1e-12);
});

test("spectrum: a rank-3 update has numerical and energy rank ≤ 3; evolution over checkpoints", () => {
  const rng = new Rng(51);
  const { a } = withSingularValues(rng, 40, 10, [2, 1, 0.5]);
  const s = spectrumOf(a);
  assert.equal(s.numericalRank, 3);
  assert.equal(s.energyRank, 2); // (4 + 1)/5.25 = 0.95 ≥ 0.9
  assert.ok(s.entropyRank > 1 && s.entropyRank < 3);
  assert.ok(Math.abs(s.topShare - 4 / 5.25) < 1e-5);
  const { it, st } = modelPair(2);
  // Checkpoints at 1/2 and all of the way: the norm ratio doubles.
  const half = new GPT(it.config, new Map([...it.params].map(([k, t]) => [k, new Tensor(t.data.map((v, i) => v + 0.5 * (st.p(k).data[i] - v)), t.shape)])));
  const ev = spectrumEvolution(it, [{ step: 20, load: () => st }, { step: 10, load: () => half }], { matrices: ["c_fc"] });
  assert.deepEqual(ev.points.map((p) => p.step), [10, 10, 20, 20]);
  const r10 = ev.points.find((p) => p.step === 10 && p.layer === 0)!.normRatio, r20 = ev.points.find((p) => p.step === 20 && p.layer === 0)!.normRatio;
  assert.ok(Math.abs(r20 / r10 - 2) < 1e-3, `${r20} / ${r10}`);
});
