import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/engine/rng.js";
import { Tensor, alloc, backward, clearTape, noGrad } from "../../src/engine/tensor.js";
import { mul, sum } from "../../src/engine/ops/elementwise.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig, type GPTConfig } from "../../src/model/config.js";
import { meanCrossEntropy, sequenceLogLikelihood } from "../../src/model/loss.js";
import { f64, gradCheck, randTensor } from "./gradcheck.js";

const tiny = (over: Partial<GPTConfig> = {}): GPTConfig => validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 8, vocab_size: 11, block_size: 6, ...over });

function tokens(rng: Rng, n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(V));
}

/** Randomises every parameter (incl. LN and biases) so no gradient is trivially zero. */
function perturb(model: GPT, rng: Rng): void {
  for (const t of model.params.values()) for (let i = 0; i < t.size; i++) t.data[i] += 0.3 * rng.normal();
}

for (const block of ["reference", "preln"] as const) {
  for (const pos of ["pe", "learned"] as const) {
    test(`whole model (${block}, ${pos}): parameter gradients match float64 finite differences`, () => f64(() => {
      const cfg = tiny({ block, pos });
      const rng = new Rng(11);
      const model = new GPT(cfg, undefined, 1);
      perturb(model, rng);
      const B = 2, T = 5;
      const toks = tokens(rng, B * T, cfg.vocab_size);
      const targets = tokens(rng, B * T, cfg.vocab_size);
      targets[3] = -1;
      const params = [...model.params.entries()].filter(([n]) => !(block === "reference" && n.includes("ln_2")));
      gradCheck(() => meanCrossEntropy(model.forward({ tokens: toks, B, T }), targets), params.map(([, t]) => t), { maxPerInput: 6 });
      if (block === "reference") {
        // ln_2 is unused by the reference block: its gradient must be exactly zero (or never allocated).
        const g = model.p("transformer.h.0.ln_2.weight").grad;
        assert.ok(!g || g.every((v) => v === 0));
      }
    }));
  }
}

test("gradients w.r.t. input embeddings (both block types)", () => f64(() => {
  for (const block of ["reference", "preln"] as const) {
    const cfg = tiny({ block });
    const rng = new Rng(12);
    const model = new GPT(cfg, undefined, 2);
    perturb(model, rng);
    model.setRequiresGrad(false);
    const B = 2, T = 4;
    const emb = randTensor(rng, [B, T, cfg.n_embd], 0.5);
    const targets = tokens(rng, B * T, cfg.vocab_size);
    gradCheck(() => meanCrossEntropy(model.forward({ embeds: emb }), targets), [emb], { maxPerInput: 40 });
  }
}));

test("forward from embeddings equals forward from tokens", () => {
  const cfg = tiny();
  const model = new GPT(cfg, undefined, 3);
  const rng = new Rng(13);
  const toks = tokens(rng, 10, cfg.vocab_size);
  const a = noGrad(() => model.forward({ tokens: toks, B: 2, T: 5 }));
  const b = noGrad(() => model.forward({ embeds: model.embedTokens(toks, 2, 5) }));
  assert.deepEqual(a.data, b.data);
});

test("hooks: every name is cached with the documented shape; patching mlp.hook_post changes logits", () => {
  const cfg = tiny();
  const model = new GPT(cfg, undefined, 4);
  const rng = new Rng(14);
  const B = 2, T = 5, C = cfg.n_embd;
  const toks = tokens(rng, B * T, cfg.vocab_size);
  const { logits, cache } = noGrad(() => model.runWithCache({ tokens: toks, B, T }));
  assert.deepEqual([...cache.keys()], model.hookNames());
  assert.deepEqual(cache.get("blocks.1.mlp.hook_post")!.shape, [B, T, 4 * C]);
  assert.deepEqual(cache.get("blocks.0.attn.hook_pattern")!.shape, [B, 2, T, T]);
  assert.deepEqual(cache.get("hook_pos_embed")!.shape, [T, C]);
  // Reference block: the MLP input is the residual after attention.
  assert.deepEqual(cache.get("blocks.0.mlp.hook_in")!.data, cache.get("blocks.0.hook_resid_mid")!.data);
  const filtered = noGrad(() => model.runWithCache({ tokens: toks, B, T }, { namesFilter: (n) => n.endsWith("hook_post") }));
  assert.deepEqual([...filtered.cache.keys()], ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"]);
  // Patching with the cached value is a no-op; zeroing changes the output.
  const same = noGrad(() => model.runWithHooks({ tokens: toks, B, T }, [["blocks.1.mlp.hook_post", () => cache.get("blocks.1.mlp.hook_post")!]]));
  assert.deepEqual(same.data, logits.data);
  const zeroed = noGrad(() => model.runWithHooks({ tokens: toks, B, T }, [["blocks.1.mlp.hook_post", (t) => new Tensor(alloc(t.size), t.shape)]]));
  assert.notDeepEqual(zeroed.data, logits.data);
  assert.throws(() => model.runWithCache({ tokens: toks, B, T }, { namesFilter: ["blocks.9.mlp.hook_post"] }), /unknown hook/);
});

test("a patched activation carries gradients (hook output is part of the graph)", () => f64(() => {
  const cfg = tiny();
  const model = new GPT(cfg, undefined, 5);
  model.setRequiresGrad(false);
  const rng = new Rng(15);
  const B = 1, T = 4;
  const toks = tokens(rng, B * T, cfg.vocab_size);
  const patch = randTensor(rng, [B, T, 4 * cfg.n_embd]);
  const targets = tokens(rng, B * T, cfg.vocab_size);
  gradCheck(() => meanCrossEntropy(model.runWithHooks({ tokens: toks, B, T }, [["blocks.0.mlp.hook_post", () => patch]]), targets), [patch]);
}));

test("sequenceLogLikelihood: per-sequence sums over masked positions", () => {
  const cfg = tiny();
  const model = new GPT(cfg, undefined, 6);
  const rng = new Rng(16);
  const B = 2, T = 5;
  const toks = tokens(rng, B * T, cfg.vocab_size), targets = tokens(rng, B * T, cfg.vocab_size);
  const w = new Float32Array(B * T);
  w[1] = w[2] = w[7] = 1;
  clearTape();
  const logits = model.forward({ tokens: toks, B, T });
  const { logp, count } = sequenceLogLikelihood(logits, targets, w);
  assert.deepEqual([...count], [2, 1]);
  // Direct computation from the logits.
  const V = cfg.vocab_size;
  const lp = (r: number) => {
    const row = logits.data.subarray(r * V, r * V + V);
    const m = Math.max(...row);
    return row[targets[r]] - m - Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
  };
  assert.ok(Math.abs(logp.data[0] - (lp(1) + lp(2))) < 1e-5);
  assert.ok(Math.abs(logp.data[1] - lp(7)) < 1e-5);
  backward(sum(mul(logp, new Tensor(Float32Array.from([1, 1]), [2]))));
  assert.ok(model.p("lm_head.weight").grad!.some((v) => v !== 0));
});

test("config validation names the field", () => {
  assert.throws(() => validateGPTConfig({ n_layer: 0 }), /n_layer/);
  assert.throws(() => validateGPTConfig({ n_embd: 10, n_head: 3 }), /divisible/);
  assert.throws(() => validateGPTConfig({ block: "post" }), /block/);
  assert.throws(() => validateGPTConfig([]), /object/);
});

test("T > block_size is rejected", () => {
  const model = new GPT(tiny(), undefined, 0);
  assert.throws(() => model.forward({ tokens: new Int32Array(7), B: 1, T: 7 }), /block_size/);
});
