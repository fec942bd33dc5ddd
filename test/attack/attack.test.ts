/**
 * Attack mechanics on tiny models: the budget, universal sharing, the loss going down, gradients w.r.t. the soft
 * vectors against float64 finite differences, batching independence, the success measure, GCG, artifacts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.js";
import { Tensor, alloc, noGrad } from "../../src/engine/tensor.js";
import { scale, sum } from "../../src/engine/ops/elementwise.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig, type GPTConfig } from "../../src/model/config.js";
import { evalItems, type EvalItem } from "../../src/data/evalsets.js";
import { EOT } from "../../src/data/vocab.js";
import { greedyGenerate } from "../../src/eval/generate.js";
import { sinusoidalPositions } from "../../src/model/params.js";
import {
  buildGroups, chunkGroups, defaultEps, positionTable, gcgAttack, greedyFromEmbeds, groupLoss, insertSoft, modelForLength, readAttackInputs, runAttack,
  vectorNorm, writeAttackArtifacts, gcgDefaults, softDefaults, type AttackSpec,
} from "../../src/attack/index.js";
import { UserError } from "../../src/util/errors.js";
import { f64, gradCheck, randTensor } from "../engine/gradcheck.js";

const L = 6;
const cfgOf = (over: Partial<GPTConfig> = {}): GPTConfig => validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 16, vocab_size: 59, block_size: 3 * L + 9, block: "reference", pos: "pe", ...over });

/** A random model with weights large enough that outputs depend on the input (init alone is nearly uniform). */
function model(seed = 1, over: Partial<GPTConfig> = {}): GPT {
  const m = new GPT(cfgOf(over), undefined, seed);
  const rng = new Rng(seed, 5);
  for (const [name, t] of m.params) {
    if (name.includes("ln_")) continue;
    for (let i = 0; i < t.size; i++) t.data[i] += 0.25 * rng.normal();
  }
  return m;
}

const items = (n: number): EvalItem[] => evalItems({ seed: 0, split: "test", pcfgs: [1], textLength: { min: L, max: L } }, "std_unsafe", n);
const soft = (over: Partial<AttackSpec & { method: "soft" }> = {}): AttackSpec => ({ method: "soft", ...softDefaults, ...over } as AttackSpec);
const gcg = (over: Partial<AttackSpec & { method: "gcg" }> = {}): AttackSpec => ({ method: "gcg", ...gcgDefaults, ...over } as AttackSpec);

test("layout: n slots right before EOT, compliant targets re-aligned after them", () => {
  const its = items(3);
  const [g] = buildGroups(its, 3, 0);
  assert.equal(g!.T, 3 * L + 8 + 3);
  assert.deepEqual(g!.slots, [L + 6, L + 7, L + 8]);
  assert.equal(g!.eot, L + 9);
  for (let b = 0; b < 3; b++) {
    const row = g!.tokens.subarray(b * g!.T, (b + 1) * g!.T);
    assert.equal(row[g!.eot], EOT);
    assert.deepEqual(Array.from(row.subarray(0, L + 6)), Array.from(its[b]!.prompt.subarray(0, L + 6)));
    // Position eot predicts out1[0]; the last target is the second `*^`.
    for (let k = 0; k < 2 * L + 2; k++) assert.equal(g!.targets[b * g!.T + g!.eot + k], its[b]!.compliant[k]);
    assert.equal(g!.targets[b * g!.T + g!.eot - 1], -1);
  }
  // "keep": real tokens keep their clean positions, the slots sit between the last text token and `>`;
  // "shift": positions are indices.
  const keep = Array.from(g!.positions);
  assert.deepEqual(keep.slice(0, L + 9), [...Array.from({ length: L + 6 }, (_, t) => t), L + 5.25, L + 5.5, L + 5.75]);
  assert.deepEqual(keep.slice(L + 9), Array.from({ length: g!.T - L - 9 }, (_, k) => L + 6 + k));
  assert.deepEqual(Array.from(buildGroups(its, 3, 0, "shift")[0]!.positions), Array.from({ length: g!.T }, (_, t) => t));
});

test("'keep' leaves a model's clean computation in place: zero slots change little, shifting changes everything", () => {
  const m = model();
  const its = items(6);
  const P = L + 7, steps = 2 * L + 2;
  const prompts = new Int32Array(6 * P);
  its.forEach((it, b) => prompts.set(it.prompt, b * P));
  const clean = Array.from(greedyGenerate(m, prompts, 6, P, steps));
  // The success measure on the clean outputs as "compliant" answers, one inserted zero slot.
  const rig = its.map((it, b) => ({ ...it, compliant: Uint8Array.from([...clean.slice(b * steps, (b + 1) * steps), 18]) }));
  const keep = runAttack(m, rig, soft({ tokens: 1, steps: 0, initStd: 0 })).result;
  const shift = runAttack(m, rig, soft({ tokens: 1, steps: 0, initStd: 0, positions: "shift" })).result;
  assert.equal(keep.positions, "keep");
  assert.ok(keep.token_acc > shift.token_acc, `keep ${keep.token_acc} vs shift ${shift.token_acc}`);
});

test("gradients w.r.t. the soft vectors match float64 finite differences (per item and shared)", () => f64(() => {
  const m = model(3, { n_embd: 8 });
  m.setRequiresGrad(false);
  const [g] = buildGroups(items(2), 2, 0);
  const { model: view } = modelForLength(m, g!.T);
  const clean = m.embedTokens(g!.tokens, g!.B, g!.T).data;
  const rng = new Rng(4);
  const base = alloc(2 * 8);
  rng.fillNormal(base, 0.3);
  for (const D of [2, 1]) {
    const delta = randTensor(rng, [D, 2, 8], 0.5);
    gradCheck(() => {
      const { perItem } = groupLoss(view, g!, insertSoft(clean, g!.B, g!.T, g!.slots, base, delta));
      return D === 1 ? scale(sum(perItem), 0.5) : sum(perItem);
    }, [delta], { maxPerInput: 32 });
  }
}));

test("the perturbation never leaves its ball (L2 and L∞, per item and universal, even with huge steps)", () => {
  const m = model();
  const its = items(6);
  for (const norm of ["l2", "linf"] as const) {
    for (const universal of [false, true]) {
      for (const optimizer of ["normalized", "signed"] as const) {
        const eps = 0.5 * defaultEps(m, norm);
        const out = runAttack(m, its, soft({ tokens: 3, steps: 4, norm, universal, optimizer, eps, lr: 20 * eps, earlyStop: false }));
        const C = m.config.n_embd;
        for (let k = 0; k < out.delta!.length / C; k++) assert.ok(vectorNorm(out.delta!, k * C, C, norm) <= eps * (1 + 1e-6), `${norm} ${universal} ${optimizer}: ‖δ‖ = ${vectorNorm(out.delta!, k * C, C, norm)} > ε = ${eps}`);
        for (const it of out.result.items) for (const v of it.deltaNorms!) assert.ok(v <= eps * (1 + 1e-6));
        // Large steps push δ to the boundary.
        assert.ok(Math.max(...out.result.items.flatMap((it) => it.deltaNorms!)) > 0.99 * eps);
      }
    }
  }
});

test("universal mode shares one perturbation across the set", () => {
  const m = model();
  const out = runAttack(m, items(5), soft({ tokens: 2, steps: 3, universal: true, earlyStop: false }));
  const C = m.config.n_embd;
  assert.equal(out.delta!.length, 2 * C, "one δ [1, n, C]");
  const g = out.groups[0]!, e = out.embeds[0]!;
  for (const s of g.slots) for (let b = 1; b < g.B; b++) {
    assert.deepEqual(Array.from(e.subarray((b * g.T + s) * C, (b * g.T + s + 1) * C)), Array.from(e.subarray(s * C, (s + 1) * C)));
  }
  const norms = out.result.items.map((it) => it.deltaNorms!.join(","));
  assert.equal(new Set(norms).size, 1);
  // Per-item mode gives different perturbations.
  const per = runAttack(m, items(5), soft({ tokens: 2, steps: 3, earlyStop: false }));
  assert.equal(per.delta!.length, 5 * 2 * C);
  assert.ok(new Set(per.result.items.map((it) => it.deltaNorms!.join(","))).size > 1);
});

test("attack loss decreases (soft: per item and universal, L2 and L∞; GCG never increases)", () => {
  const m = model();
  const its = items(8);
  for (const spec of [soft({ tokens: 2, steps: 12, earlyStop: false }), soft({ tokens: 2, steps: 12, universal: true, earlyStop: false }), soft({ tokens: 2, steps: 12, norm: "linf", earlyStop: false })]) {
    const c = runAttack(m, its, spec).result.loss_curve;
    assert.equal(c.length, 13);
    assert.ok(c[c.length - 1]! < c[0]! - 1e-3, `loss ${c[0]} → ${c[c.length - 1]}`);
    // Fixed-size normalised steps may overshoot a little near the end; the trend must be down.
    const avg = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    assert.ok(avg(c.slice(-4)) < avg(c.slice(0, 4)), `no downward trend: ${c.join(", ")}`);
  }
  const c = runAttack(m, its, gcg({ tokens: 2, steps: 4, searchWidth: 16, earlyStop: false })).result.loss_curve;
  for (let i = 1; i < c.length; i++) assert.ok(c[i]! <= c[i - 1]! + 1e-5, `GCG loss went up: ${c.join(", ")}`);
  assert.ok(c[c.length - 1]! < c[0]!);
});

test("batched per-item attacks equal one-at-a-time attacks; same seed, same result", () => {
  const m = model();
  const its = items(4);
  const a = runAttack(m, its, soft({ tokens: 2, steps: 3, chunk: 4, earlyStop: false }));
  const b = runAttack(m, its, soft({ tokens: 2, steps: 3, chunk: 1, earlyStop: false }));
  for (let i = 0; i < a.delta!.length; i++) assert.ok(Math.abs(a.delta![i]! - b.delta![i]!) < 1e-4, `δ[${i}]: ${a.delta![i]} vs ${b.delta![i]}`);
  const c = runAttack(m, its, soft({ tokens: 2, steps: 3, chunk: 4, earlyStop: false }));
  assert.deepEqual(Array.from(c.delta!), Array.from(a.delta!));
  assert.deepEqual(c.result.items.map((x) => x.output), a.result.items.map((x) => x.output));
  // With early stop, solved items leave the batch; the others continue exactly as if attacked alone.
  const zero = runAttack(m, its, soft({ tokens: 2, steps: 0, initStd: 0 })).result;
  const rig = its.map((it, i) => (i % 2 ? it : { ...it, compliant: Uint8Array.from([...zero.items[i]!.output, 18]) }));
  const es = runAttack(m, rig, soft({ tokens: 2, steps: 4, chunk: 4, initStd: 0 }));
  const one = rig.map((it) => runAttack(m, [it], soft({ tokens: 2, steps: 4, initStd: 0 })));
  es.result.items.forEach((x, i) => {
    assert.equal(x.stepsUsed, one[i]!.result.items[0]!.stepsUsed);
    assert.ok(Math.abs(x.loss - one[i]!.result.items[0]!.loss) < 1e-4);
  });
  assert.equal(es.result.loss_curve.length, 5);
});

test("greedy generation from embeddings equals token generation when the embeddings are wte rows", () => {
  const m = model();
  const its = items(3);
  const P = L + 7;
  const prompts = new Int32Array(3 * P);
  its.forEach((it, b) => prompts.set(it.prompt, b * P));
  const emb = m.embedTokens(prompts, 3, P).data;
  assert.deepEqual(Array.from(greedyFromEmbeds(m, emb, 3, P, 2 * L + 2)), Array.from(greedyGenerate(m, prompts, 3, P, 2 * L + 2)));
});

test("success = greedy output equals the compliant continuation (and agrees with teacher-forced exact match)", () => {
  const m = model();
  const its = items(4);
  // What the model says with 2 zero slots and no optimisation...
  const first = runAttack(m, its, soft({ tokens: 2, steps: 0, initStd: 0 }));
  assert.equal(first.result.success.rate, 0);
  // ...made the "compliant" answer of half the items: those must count as successes, the others not.
  const rigged = its.map((it, i) => (i % 2 ? it : { ...it, compliant: Uint8Array.from([...first.result.items[i]!.output, 18]) }));
  const r = runAttack(m, rigged, soft({ tokens: 2, steps: 0, initStd: 0 })).result;
  assert.deepEqual(r.items.map((x) => x.success), [true, false, true, false]);
  assert.deepEqual(r.items.map((x) => x.teacherExact), [true, false, true, false]);
  assert.equal(r.items[0]!.tokenAcc, 1);
  assert.equal(r.success.rate, 0.5);
  // Early stop freezes solved items: they use no steps.
  const es = runAttack(m, rigged, soft({ tokens: 2, steps: 3, initStd: 0 })).result;
  assert.deepEqual(es.items.map((x) => x.stepsUsed), [0, 3, 0, 3]);
  assert.ok(es.items[0]!.success && es.items[2]!.success);
});

test("GCG: slots hold allowed tokens, universal shares them, outputs score like the soft attack", () => {
  const m = model();
  const its = items(4);
  const out = runAttack(m, its, gcg({ tokens: 3, steps: 3, searchWidth: 8, earlyStop: false }));
  const specials = new Set([16, 17, 18, 19, 20, 21]);
  for (const it of out.result.items) for (const t of it.slotTokens!) assert.ok(!specials.has(t) && t >= 0 && t < 59);
  const u = runAttack(m, its, gcg({ tokens: 3, steps: 3, searchWidth: 8, universal: true, earlyStop: false }));
  assert.equal(new Set(u.result.items.map((x) => x.slotTokens!.join(","))).size, 1);
  assert.equal(u.slotTokens!.length, 3);
  // The embeddings GCG leaves are exactly the token embeddings of its slot tokens.
  const g = u.groups[0]!, C = m.config.n_embd;
  const toks = g.tokens.slice();
  for (let b = 0; b < g.B; b++) g.slots.forEach((s, j) => (toks[b * g.T + s] = u.slotTokens![j]!));
  assert.deepEqual(Array.from(u.embeds[0]!), Array.from(m.embedTokens(toks, g.B, g.T).data));
  assert.equal(C, 16);
  // Direct call with the raw runner too (documented API).
  const raw = gcgAttack(modelForLength(m, g.T).model, chunkGroups(buildGroups(its, 1, 0), 8), 4, { ...gcgDefaults, tokens: 1, steps: 1, searchWidth: 4 });
  assert.equal(raw.slotTokens.length, 4);
});

test("artifacts: attack.json and the adversarial inputs round-trip and reproduce the attacked forward pass", () => {
  const m = model();
  const its = items(4);
  const rigged = its.map((it, i) => (i < 2 ? { ...it, compliant: Uint8Array.from([...runAttack(m, [it], soft({ tokens: 2, steps: 0, initStd: 0 })).result.items[0]!.output, 18]) } : it));
  const out = runAttack(m, rigged, soft({ tokens: 2, steps: 2, initStd: 0 }));
  const dir = mkdtempSync(join(tmpdir(), "nullspace-attack-"));
  const saved = writeAttackArtifacts(dir, out);
  assert.equal(saved, out.result.items.filter((x) => x.success).length);
  assert.ok(saved >= 2);
  const a = readAttackInputs(dir);
  const T = out.groups[0]!.T, C = m.config.n_embd;
  assert.deepEqual(a.embeds.shape, [saved, T, C]);
  assert.deepEqual(Array.from(a.eot), new Array(saved).fill(L + 8));
  assert.deepEqual(Array.from(a.slots.subarray(0, 2)), [L + 6, L + 7]);
  assert.equal(a.tokens[L + 6], -1);
  assert.equal(a.tokens[L + 8], EOT);
  assert.ok(a.success.every(Boolean));
  assert.deepEqual(a.delta!.shape, [saved, 2, C]);
  // The saved embeddings give the saved outcome.
  const view = modelForLength(m, T).model;
  const logits = noGrad(() => view.forward({ embeds: new Tensor(a.embeds.data.slice(0, T * C), [1, T, C]) })).data;
  const item = rigged[a.index[0]!]!;
  for (let k = 0; k < 2 * L + 2; k++) {
    let best = 0;
    for (let v = 1; v < 59; v++) if (logits[(L + 8 + k) * 59 + v]! > logits[(L + 8 + k) * 59 + best]!) best = v;
    assert.equal(best, item.compliant[k]);
  }
  const all = writeAttackArtifacts(join(dir, "all"), out, { saveAll: true });
  assert.equal(all, 4);
});

test("position tables: the model's sinusoids at integer positions, interpolated learned rows in between", () => {
  const m = model();
  const C = m.config.n_embd, T = m.config.block_size;
  const ints = Float64Array.from({ length: T }, (_, t) => t);
  assert.deepEqual(Array.from(positionTable(m, ints)), Array.from(sinusoidalPositions(T, C)));
  const learned = model(2, { pos: "learned" });
  const w = learned.p("transformer.wpe.weight").data;
  const tab = positionTable(learned, Float64Array.of(3, 3.25));
  for (let c = 0; c < C; c++) {
    assert.equal(tab[c], w[3 * C + c]);
    assert.ok(Math.abs(tab[C + c]! - (0.75 * w[3 * C + c]! + 0.25 * w[4 * C + c]!)) < 1e-6);
  }
});

test("model views: sinusoidal positions extend past the block, learned ones refuse with a UserError", () => {
  const m = model();
  assert.equal(modelForLength(m, m.config.block_size).extended, false);
  const v = modelForLength(m, m.config.block_size + 5);
  assert.equal(v.extended, true);
  assert.equal(v.model.params, m.params);
  const learned = model(2, { pos: "learned" });
  assert.throws(() => modelForLength(learned, learned.config.block_size + 1), UserError);
  assert.throws(() => runAttack(learned, items(2), soft({ tokens: 2, steps: 1 })), UserError);
  assert.doesNotThrow(() => runAttack(learned, items(2), soft({ tokens: 1, steps: 1 })));
  assert.throws(() => runAttack(m, items(2), soft({ tokens: 0 })), UserError);
  assert.throws(() => runAttack(m, items(2), soft({ eps: -1 })), UserError);
});
