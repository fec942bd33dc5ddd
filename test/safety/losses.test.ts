import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.js";
import { AdamW } from "../../src/engine/optim.js";
import { backward, clearTape, noGrad } from "../../src/engine/tensor.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig } from "../../src/model/config.js";
import { maskedTargets, sequenceLogLikelihood } from "../../src/model/loss.js";
import { defaultLossConfig, safetyLoss, type LossConfig, type Method } from "../../src/safety/losses.js";
import { optimStep } from "../../src/train/step.js";
import type { Batch } from "../../src/data/batch.js";
import { pretrainPreset } from "../../src/stages/presets.js";
import { runPretrain } from "../../src/stages/pretrain.js";
import { applyOverrides } from "../../src/config/overrides.js";
import { runCli } from "../helpers.js";
import { safetyPreset, type SafetyRunConfig } from "../../src/stages/safety-presets.js";
import { dataSpec, overrideSafetyConfig, pairBatch } from "../../src/stages/safety.js";
import { SafetySampler } from "../../src/data/safety-data.js";
import { safetyBatch, safetyQuads } from "../../src/data/batch.js";
import { f64, gradCheck } from "../engine/gradcheck.js";

const cfg = validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 8, vocab_size: 13, block_size: 8 });

/** A synthetic batch: random tokens, loss on the last 3 positions of each row. */
function batch(rng: Rng, B: number, T: number): Batch {
  const x = Int32Array.from({ length: B * T }, () => rng.int(13));
  const y = Int32Array.from({ length: B * T }, () => rng.int(13));
  const mask = new Float32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = T - 3; t < T; t++) mask[b * T + t] = 1;
  const col = () => new Int32Array(B);
  return { B, T, x, y, mask, length: col(), L: col(), eot: col(), out1Start: col(), out1End: col(), out2Start: col(), out2End: col() };
}

function perturbed(seed: number): GPT {
  const m = new GPT(cfg, undefined, seed);
  const r = new Rng(seed, 9);
  for (const t of m.params.values()) for (let i = 0; i < t.size; i++) t.data[i] += 0.2 * r.normal();
  return m;
}

for (const [method, variant] of [["ssft", "reference"], ["dpo", "reference"], ["dpo", "standard"], ["dpo", "length_normalized"], ["unlearn", "reference"]] as [Method, LossConfig["dpo_variant"]][]) {
  for (const norm of method === "ssft" ? (["mean_fixed"] as const) : (["mean_fixed", "sum", "mean_tokens"] as const)) {
    test(`${method} (${variant}, ${norm}) loss gradient matches float64 finite differences`, () => f64(() => {
      const rng = new Rng(3);
      const model = perturbed(1), ref = perturbed(2);
      ref.setRequiresGrad(false);
      const chosen = batch(rng, 3, 6), rejected = batch(rng, 3, 6);
      const lc: LossConfig = { ...defaultLossConfig, dpo_variant: variant, logp_norm: norm, beta_w: 0.7, beta_l: 0.3, beta: 0.5, gamma: 0.4 };
      const params = [...model.params.values()].filter((_, i) => i % 3 === 0);
      gradCheck(() => safetyLoss(method, model, ref, chosen, rejected, lc).loss, params, { maxPerInput: 4 });
    }));
  }
}

test("DPO with rpo_alpha: gradient matches finite differences and the loss adds α·NLL(chosen)", () => f64(() => {
  const rng = new Rng(8);
  const model = perturbed(1), ref = perturbed(2);
  ref.setRequiresGrad(false);
  const chosen = batch(rng, 3, 6), rejected = batch(rng, 3, 6);
  const lc: LossConfig = { ...defaultLossConfig, rpo_alpha: 0.8 };
  const params = [...model.params.values()].filter((_, i) => i % 3 === 1);
  gradCheck(() => safetyLoss("dpo", model, ref, chosen, rejected, lc).loss, params, { maxPerInput: 4 });
  const plain = safetyLoss("dpo", model, ref, chosen, rejected, defaultLossConfig).loss.item();
  const r = safetyLoss("dpo", model, ref, chosen, rejected, lc);
  // NLL(chosen) = mean over rows of the per-token mean cross-entropy on the masked positions (3 per row).
  const lp = noGrad(() => sequenceLogLikelihood(model.forward({ tokens: chosen.x, B: 3, T: 6 }), maskedTargets(chosen.y, chosen.mask), chosen.mask).logp.data);
  const nll = -(lp[0] + lp[1] + lp[2]) / 9;
  assert.ok(Math.abs(r.metrics["nll_loss"] - nll) < 1e-9, `${r.metrics["nll_loss"]} vs ${nll}`);
  assert.ok(Math.abs(r.loss.item() - (plain + 0.8 * nll)) < 1e-9);
}));

test("NPO unlearning: gradient matches finite differences; at policy = reference it has the reference unlearning's gradient", () => f64(() => {
  const rng = new Rng(11);
  const model = perturbed(1), ref = perturbed(2);
  ref.setRequiresGrad(false);
  const chosen = batch(rng, 3, 6), rejected = batch(rng, 3, 6);
  const npo: LossConfig = { ...defaultLossConfig, unlearn_variant: "npo", npo_beta: 3, gamma: 0.4 };
  const params = [...model.params.values()].filter((_, i) => i % 3 === 2);
  gradCheck(() => safetyLoss("unlearn", model, ref, chosen, rejected, npo).loss, params, { maxPerInput: 4 });
  // With ref = policy, d/dΔ (2/β)softplus(βΔ) = 1 at Δ = 0: the same gradient as ℓ(w) − γ·ℓ(l).
  const same = perturbed(1);
  same.setRequiresGrad(false);
  const grads = (lc: LossConfig) => {
    for (const p of model.params.values()) p.grad = null;
    clearTape();
    backward(safetyLoss("unlearn", model, same, chosen, rejected, lc).loss);
    return [...model.params.values()].map((p) => Float64Array.from(p.grad ?? []));
  };
  const a = grads(npo), b = grads({ ...npo, unlearn_variant: "reference" });
  assert.ok(a.some((g) => g.some((v) => Math.abs(v) > 1e-6)), "the loss must have a gradient");
  for (let i = 0; i < a.length; i++) for (let j = 0; j < a[i].length; j++) assert.ok(Math.abs(a[i][j] - b[i][j]) < 1e-9 * (1 + Math.abs(b[i][j])));
}));

test("DPO starts at ln 2 when the policy equals the reference", () => {
  const rng = new Rng(4);
  const model = perturbed(5), ref = perturbed(5);
  ref.setRequiresGrad(false);
  for (const variant of ["reference", "standard", "length_normalized"] as const) {
    const r = safetyLoss("dpo", model, ref, batch(rng, 4, 6), batch(rng, 4, 6), { ...defaultLossConfig, dpo_variant: variant });
    assert.ok(Math.abs(r.loss.item() - Math.LN2) < 1e-6, `${variant}: ${r.loss.item()}`);
    assert.equal(r.metrics["rewards/margins"], 0);
    for (const k of ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]) assert.ok(k in r.metrics, k);
  }
});

test("unlearning pushes the rejected likelihood down (and the chosen up)", () => {
  const rng = new Rng(6);
  const model = perturbed(7);
  const chosen = batch(rng, 4, 6), rejected = batch(rng, 4, 6);
  const logp = (b: Batch) => noGrad(() => sequenceLogLikelihood(model.forward({ tokens: b.x, B: b.B, T: b.T }), maskedTargets(b.y, b.mask), b.mask).logp.data.reduce((a, v) => a + v, 0));
  const [w0, l0] = [logp(chosen), logp(rejected)];
  const opt = new AdamW(model.paramGroups(0), { lr: 1e-2 });
  for (let i = 0; i < 20; i++) optimStep(model, opt, 1e-2, 1, () => safetyLoss("unlearn", model, null, chosen, rejected, { ...defaultLossConfig, gamma: 0.5 }).loss);
  const [w1, l1] = [logp(chosen), logp(rejected)];
  assert.ok(l1 < l0 - 1, `rejected log-likelihood ${l0} → ${l1}`);
  assert.ok(w1 > w0, `chosen log-likelihood ${w0} → ${w1}`);
});

test("safety-finetune (tiny) runs each method from a pretrained run and writes the evaluation table", () => {
  const root = mkdtempSync(join(tmpdir(), "nullspace-safety-"));
  const it = join(root, "pretrain");
  runPretrain(applyOverrides(pretrainPreset("tiny"), ["train.max_iters=30", "train.lr_decay_iters=30", "eval.n=4", "eval.greedy_n=2"]), { out: it, resume: false, quiet: true });
  for (const method of ["ssft", "dpo", "unlearn"]) {
    const out = join(root, method);
    const r = runCli(["safety-finetune", "--method", method, "--from", it, "--preset", "tiny", "--lr", "S", "--out", out, "--quiet", "--json", "--set", "train.max_iters=12", "--set", "eval.n=6", "--set", "eval.during_n=4"]);
    assert.equal(r.code, 0, r.stderr);
    const ev = JSON.parse(readFileSync(join(out, "evaluation.json"), "utf8"));
    for (const set of ["std_safe", "std_unsafe", "jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"]) {
      assert.equal(ev.sets[set].n, 6, set);
      assert.ok(ev.sets[set].greedy.null.rate >= 0 && ev.sets[set].greedy.null.rate <= 1);
    }
    const conf = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
    assert.equal(conf.method, method);
    assert.equal(conf.train.lr, 1e-4);
  }
  // Cross-method: DPO starting from the SSFT run.
  const r = runCli(["safety-finetune", "--method", "dpo", "--from", join(root, "ssft"), "--preset", "tiny", "--out", join(root, "ssft_then_dpo"), "--quiet", "--set", "train.max_iters=5", "--set", "eval.n=2", "--set", "eval.during_n=2"]);
  assert.equal(r.code, 0, r.stderr);
  // The cpu preset's recipe (per-row mixing by category, length-normalised DPO + NLL anchor, NPO) on tiny.
  const recipe = ["--set", "data.mix=sample", "--set", 'data.p_unsafe_by_category={"safe":0.2,"id_mg":0.6}', "--set", "loss.dpo_variant=length_normalized", "--set", "loss.beta=1", "--set", "loss.rpo_alpha=1", "--set", "loss.unlearn_variant=npo"];
  for (const method of ["dpo", "unlearn"]) {
    const out = join(root, `${method}_recipe`);
    const rr = runCli(["safety-finetune", "--method", method, "--from", it, "--preset", "tiny", "--out", out, "--quiet", "--set", "train.max_iters=6", "--set", "eval.n=2", "--set", "eval.during_n=2", ...recipe]);
    assert.equal(rr.code, 0, rr.stderr);
    const rows = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => m.loss !== undefined);
    assert.ok(rows.length > 0 && rows.every((m) => Number.isFinite(m.loss) && m.unsafe_batch > 0 && m.unsafe_batch < 1), "mixed rows every step");
    assert.ok(rows.some((m) => (method === "dpo" ? m.nll_loss : m["npo/log_ratio_rejected"]) !== undefined));
  }
  const mixErr = runCli(["safety-finetune", "--method", "ssft", "--from", it, "--preset", "tiny", "--out", join(root, "x"), "--set", 'data.p_unsafe_by_category={"safe":0.2,"id_mg":0.6}']);
  assert.notEqual(mixErr.code, 0);
  assert.match(mixErr.stderr, /data\.p_unsafe_by_category needs data\.mix = "sample"/);
  const bad = runCli(["safety-finetune", "--method", "rlhf", "--from", it]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /unknown method "rlhf"; valid methods: ssft, dpo, unlearn/);
  const missing = runCli(["safety-finetune", "--method", "ssft", "--from", join(root, "nope")]);
  assert.match(missing.stderr, /no model.safetensors/);
});

test("per-sample mixing: each row draws safe or unsafe on its own, deterministically per step", () => {
  const base = safetyPreset("tiny");
  const conf: SafetyRunConfig = { ...base, method: "ssft", lr_regime: "M", from: "-", model: cfg, data: { ...base.data, mix: "sample" }, train: { ...base.train, batch_size: 32 } };
  const sampler = new SafetySampler(dataSpec(conf.data, "train"), { categories: { safe: 0.5, id_mg: 0.5 }, applySecondProb: 0.2 });
  const a = pairBatch(sampler, 3, conf, 0.5), b = pairBatch(sampler, 3, conf, 0.5);
  assert.deepEqual(a.chosen.x, b.chosen.x);
  assert.ok(a.unsafeShare > 0 && a.unsafeShare < 1, `unsafe share ${a.unsafeShare}`);
  const whole = safetyBatch(sampler, 3, 32, conf.data.per_batch_length);
  const T = a.chosen.T;
  let unsafeRows = 0;
  for (let j = 0; j < 32; j++) {
    const row = (x: Batch) => Array.from(x.x.subarray(j * T, (j + 1) * T));
    const isUnsafe = String(row(a.chosen)) === String(row(whole.unsafeRefusal));
    if (isUnsafe) { unsafeRows++; assert.deepEqual(row(a.rejected), row(whole.unsafeCompliant)); }
    else { assert.deepEqual(row(a.chosen), row(whole.safe)); assert.deepEqual(row(a.rejected), row(whole.safeRefusal)); }
  }
  assert.equal(unsafeRows / 32, a.unsafeShare);
  const batchMode = pairBatch(sampler, 3, { ...conf, data: { ...conf.data, mix: "batch" } }, 0.5);
  // Per-category probabilities: all unsafe on id_mg text, all safe on safe-branch text.
  const byCat = pairBatch(sampler, 3, { ...conf, data: { ...conf.data, p_unsafe_by_category: { safe: 0, id_mg: 1 } } }, 0.5);
  const ids = safetyQuads(sampler, 3, 32, conf.data.per_batch_length).map((q) => q.category === "id_mg");
  assert.ok(ids.some(Boolean) && !ids.every(Boolean));
  assert.equal(byCat.unsafeShare, ids.filter(Boolean).length / 32);
  assert.ok(batchMode.unsafeShare === 0 || batchMode.unsafeShare === 1);
});

test("--set of an optional object field: a whole JSON object, null, or a leaf once it is set; one-line errors", () => {
  const from = "-";
  const base = { ...safetyPreset("cpu"), method: "ssft" as const, lr_regime: "M" as const, from, model: cfg };
  const off = overrideSafetyConfig(base, ["data.p_unsafe_by_category=null", "data.mix=batch"]);
  assert.equal(off.data.p_unsafe_by_category, null);
  const tiny = { ...safetyPreset("tiny"), method: "ssft" as const, lr_regime: "M" as const, from, model: cfg };
  const on = overrideSafetyConfig(tiny, ['data.p_unsafe_by_category={"safe":0.1,"id_mg":0.9}', "data.p_unsafe_by_category.safe=0.3"]);
  assert.deepEqual(on.data.p_unsafe_by_category, { safe: 0.3, id_mg: 0.9 });
  assert.throws(() => overrideSafetyConfig(tiny, ['data.p_unsafe_by_category={"safe":0.1}']), /missing field "id_mg"/);
  assert.throws(() => overrideSafetyConfig(tiny, ["data.p_unsafe_by_category=0.5x"]), /expected null or a JSON object like \{"safe":0,"id_mg":0\}/);
  assert.throws(() => overrideSafetyConfig(tiny, ["data.p_unsafe_by_category.safe=0.3"]), /unknown key/);
});
