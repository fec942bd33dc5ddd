import { test } from "node:test";
import assert from "node:assert/strict";
import { AdamW, clipGradNorm } from "../../src/engine/optim.js";
import { Rng } from "../../src/engine/rng.js";
import { Tensor } from "../../src/engine/tensor.js";
import { backend } from "../../src/engine/backend/index.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig } from "../../src/model/config.js";
import { meanCrossEntropy } from "../../src/model/loss.js";
import { optimStep } from "../../src/train/step.js";

test("AdamW matches PyTorch's update rule (hand-computed, 3 steps, with weight decay)", () => {
  const p = new Tensor(Float32Array.from([1, -2]), [2], true);
  const opt = new AdamW([{ params: [{ name: "p", tensor: p }], weightDecay: 0.1 }], { lr: 0.01, betas: [0.9, 0.95], eps: 1e-8 });
  const grads = [[0.5, -1], [0.25, 2], [-1, 0.5]];
  // Reference in float64 following torch.optim.AdamW (decoupled decay, bias correction, eps after sqrt).
  const ref = [1, -2], m = [0, 0], v = [0, 0];
  for (let t = 1; t <= 3; t++) {
    p.grad = Float32Array.from(grads[t - 1]);
    opt.update(0.01);
    for (let i = 0; i < 2; i++) {
      const g = grads[t - 1][i];
      ref[i] *= 1 - 0.01 * 0.1;
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.95 * v[i] + 0.05 * g * g;
      const mh = m[i] / (1 - 0.9 ** t), denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.95 ** t) + 1e-8;
      ref[i] -= 0.01 * mh / denom;
    }
  }
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(p.data[i] - ref[i]) < 1e-6, `${p.data[i]} vs ${ref[i]}`);
});

test("clipGradNorm scales to the max norm and reports the pre-clip norm", () => {
  const a = new Tensor(new Float32Array(2), [2], true), b = new Tensor(new Float32Array(1), [1], true);
  a.grad = Float32Array.from([3, 0]);
  b.grad = Float32Array.from([4]);
  const n = clipGradNorm([a, b], 1);
  assert.ok(Math.abs(n - 5) < 1e-6);
  assert.ok(Math.abs(Math.hypot(a.grad[0], b.grad[0]) - 1) < 1e-5);
});

function trainRun(steps: number, seed: number): GPT {
  const cfg = validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 16, vocab_size: 13, block_size: 12 });
  const model = new GPT(cfg, undefined, seed);
  const opt = new AdamW(model.paramGroups(0.1), { lr: 3e-2 });
  const rng = new Rng(seed, 3);
  const B = 4, T = 10;
  for (let s = 0; s < steps; s++) {
    // A learnable task: predict the current token (copy), so the loss must fall.
    const toks = Int32Array.from({ length: B * T }, () => rng.int(13));
    optimStep(model, opt, 3e-2, 1.0, () => meanCrossEntropy(model.forward({ tokens: toks, B, T }), toks));
  }
  return model;
}

test(`same seed → bit-identical weights after N steps (${backend().name} backend); loss falls`, () => {
  const a = trainRun(40, 7), b = trainRun(40, 7), c = trainRun(40, 8);
  for (const [name, t] of a.params) assert.deepEqual(t.data, b.p(name).data, name);
  assert.notDeepEqual(a.p("lm_head.weight").data, c.p("lm_head.weight").data);
  // The copy task is learnable: loss after training is far below ln(13).
  const toks = Int32Array.from({ length: 40 }, (_, i) => (i * 7) % 13);
  const loss = meanCrossEntropy(a.forward({ tokens: toks, B: 4, T: 10 }), toks).item();
  assert.ok(loss < Math.log(13) - 0.5, `loss ${loss}`);
});
