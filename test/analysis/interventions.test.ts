import { test } from "node:test";
import assert from "node:assert/strict";
import { alphaSweep, applyDelta, interpolateModels } from "../../src/analysis/interventions.js";
import { modelPair } from "./helpers.js";

test("W_IT + α·ΔW: α = 0 and 1 reproduce the models bit for bit; α = 0.5 is the midpoint; α = 2 extrapolates", () => {
  const { it, st } = modelPair(3);
  const name = "transformer.h.1.mlp.c_fc.weight";
  assert.deepEqual(interpolateModels(it, st, 0).p(name).data, it.p(name).data);
  assert.deepEqual(interpolateModels(it, st, 1).p(name).data, st.p(name).data);
  const mid = interpolateModels(it, st, 0.5).p(name).data, ext = interpolateModels(it, st, 2).p(name).data;
  const wi = it.p(name).data, ws = st.p(name).data;
  for (let i = 0; i < mid.length; i += 7) {
    assert.ok(Math.abs(mid[i] - (wi[i] + ws[i]) / 2) < 1e-7);
    assert.ok(Math.abs(ext[i] - (2 * ws[i] - wi[i])) < 1e-6);
  }
  // A filter moves only the chosen parameters.
  const only = interpolateModels(it, st, 1, (n) => n === name);
  assert.deepEqual(only.p(name).data, ws);
  assert.deepEqual(only.p("transformer.h.0.mlp.c_fc.weight").data, it.p("transformer.h.0.mlp.c_fc.weight").data);
});

test("transfer: another model's weights plus this ΔW", () => {
  const { it, st } = modelPair(4);
  const other = modelPair(5).it;
  const name = "lm_head.weight";
  const t = applyDelta(other, it, st, 1).p(name).data;
  for (let i = 0; i < t.length; i += 5) assert.ok(Math.abs(t[i] - (other.p(name).data[i] + st.p(name).data[i] - it.p(name).data[i])) < 1e-6);
});

test("α-sweep calls evaluate on each W(α) in order and collects the curves", async () => {
  const { it, st } = modelPair(6);
  const name = "transformer.h.0.mlp.c_proj.weight";
  const seen: number[] = [];
  const r = await alphaSweep(it, st, (model, alpha) => {
    seen.push(alpha);
    // A fake metric: distance from W_IT along ΔW, recovered from the weights.
    const w = model.p(name).data, wi = it.p(name).data, ws = st.p(name).data;
    let num = 0, den = 0;
    for (let i = 0; i < w.length; i++) { num += (w[i] - wi[i]) * (ws[i] - wi[i]); den += (ws[i] - wi[i]) ** 2; }
    return { instruct: 1, null: num / den, attack: 0 };
  }, { alphas: [0, 1, 3], label: "ssft" });
  assert.deepEqual(seen, [0, 1, 3]);
  assert.equal(r.points.length, 3);
  r.points.forEach((p) => assert.ok(Math.abs(p.null - p.alpha) < 1e-4));
  await assert.rejects(alphaSweep(it, st, () => ({ instruct: 1 }) as never, { alphas: [0] }), /numeric null/);
});
