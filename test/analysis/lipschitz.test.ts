import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { noGrad, Tensor } from "../../src/engine/tensor.js";
import { maxLogitGradientFromEmbeds, maxLogitGradientNorms } from "../../src/analysis/lipschitz.js";
import { GPT } from "../../src/model/gpt.js";
import { f64 } from "../engine/gradcheck.js";
import { randomInputs, tinyConfig } from "./helpers.js";

test("Lipschitz gradient (∂ max logit at EOT / ∂ embeddings before EOT) matches float64 finite differences", () => f64(() => {
  const cfg = tinyConfig({ n_embd: 8, block_size: 16 });
  const model = new GPT(cfg, undefined, 5);
  const rng = new Rng(40);
  for (const t of model.params.values()) for (let i = 0; i < t.size; i++) t.data[i] += 0.2 * rng.normal();
  const T = 9, start = 6, C = cfg.n_embd, V = cfg.vocab_size;
  const tokens = Int32Array.from({ length: T }, () => rng.int(V));
  const emb = model.embedTokens(tokens, 1, T);
  const g = maxLogitGradientFromEmbeds(model, emb, start);
  assert.equal(g.length, start * C);
  // The arg-max at the base point, held fixed for the differences (max is locally that logit).
  const base = noGrad(() => model.forward({ embeds: emb })).data;
  let best = 0;
  for (let v = 1; v < V; v++) if (base[start * V + v] > base[start * V + best]) best = v;
  const f = (e: Tensor) => noGrad(() => model.forward({ embeds: e })).data[start * V + best];
  const h = 1e-6;
  let checked = 0;
  for (let k = 0; k < start * C; k += 3) {
    const ep = new Tensor(emb.data.slice(), emb.shape), em = new Tensor(emb.data.slice(), emb.shape);
    ep.data[k] += h;
    em.data[k] -= h;
    const num = (f(ep) - f(em)) / (2 * h);
    assert.ok(Math.abs(num - g[k]) < 1e-6 + 1e-5 * Math.abs(num), `element ${k}: analytic ${g[k]} vs numeric ${num}`);
    checked++;
  }
  assert.ok(checked >= 15);
  // The batched norms agree with the single-input gradient.
  const { norms, gradients } = maxLogitGradientNorms(model, [{ tokens: [...tokens, 0], start }], { keepGradients: true });
  let ss = 0;
  for (const v of g) ss += v * v;
  assert.ok(Math.abs(norms[0] - Math.sqrt(ss)) < 1e-9 * Math.sqrt(ss));
  assert.equal(gradients![0].length, start * C);
}));

test("batched Lipschitz norms equal per-sample norms; parameters stay trainable", () => {
  const model = new GPT(tinyConfig(), undefined, 6);
  const inputs = randomInputs(new Rng(41), 5);
  const a = maxLogitGradientNorms(model, inputs, { batchSize: 5 }).norms;
  const b = maxLogitGradientNorms(model, inputs, { batchSize: 1 }).norms;
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4 * b[i], `${a[i]} vs ${b[i]}`);
  assert.ok([...model.params.values()].every((t) => t.requiresGrad && t.grad === null));
});
