import { test } from "node:test";
import assert from "node:assert/strict";
import { legacyPermutation } from "../../src/data/mt19937.js";
import { curriculumMixture, MIX_END, MIX_START, PretrainSampler, type PretrainMode } from "../../src/data/pretrain.js";
import { GeneratorSampler, SafetySampler, SAFETY_VARIANTS, type SafetyQuad } from "../../src/data/safety-data.js";
import { EvalSampler, EVAL_SET_NAMES } from "../../src/data/evalsets.js";
import { isTestText, type DataSpec, type Sample } from "../../src/data/sample.js";
import { collate, pretrainBatch, safetyBatch } from "../../src/data/batch.js";
import { openSet } from "../../src/data/sets.js";
import { ALIASES, BOS, EOS, EOT, EX1, EX2, LETTER0, PAD, SOT, STOP, TOKENS } from "../../src/data/vocab.js";
import type { Branch } from "../../src/data/grammars.js";

// ---- Independent re-implementations from the spec, used as oracles ----

/** Letter map of an operator token, straight from reference-code §1.2. */
function opMap(pcfg: number, op: number): number[] {
  const sr = 150 * (pcfg - 1);
  const sym = TOKENS[op]!;
  const base: Record<string, number> = { "(": 0, ")": 1, "[": 2, "]": 3, "{": 4, "}": 5, "?": 6, "!": 7, "@": 8, "£": 9, "+": 0, "^": 0, r1: 1, r2: 1, r3: 2, r4: 2 };
  if (op === EX1) return new Array(30).fill(0);
  if (op === EX2) return new Array(30).fill(1);
  const k = base[sym];
  assert.ok(k !== undefined, `${sym} is an operator`);
  return k === 0 ? Array.from({ length: 30 }, (_, i) => i) : legacyPermutation(sr + k - 1, 30);
}
const compose = (pcfg: number, a: number, b: number, xs: number[]) => xs.map((x) => opMap(pcfg, b)[opMap(pcfg, a)[x]!]!);

/** The table of reference-code §1.5, as strings. */
const TABLE: Record<number, { global: string; unsafeBranch: string }> = {
  1: { global: ") [", unsafeBranch: ") [ } ? ! @ £" },
  2: { global: "] {", unsafeBranch: "] { } ? ! @ £" },
  3: { global: "@ £", unsafeBranch: ") [ ] { } @ £" },
  4: { global: ") }", unsafeBranch: ") [ ] } ? @ £" },
};
const ALIAS_OF: Record<string, string> = { "+": "(", "^": "(", r1: ")", r2: ")", r3: "[", r4: "[" };
function oracleUnsafe(pcfg: number, branch: Branch, ops: number[]): boolean {
  const list = (branch === "safe" ? TABLE[pcfg]!.global : TABLE[pcfg]!.unsafeBranch).split(" ");
  return ops.some((o) => list.includes(ALIAS_OF[TOKENS[o]!] ?? TOKENS[o]!));
}

const letters = (s: Uint8Array, from: number, L: number) => Array.from(s.subarray(from, from + L), (t) => t - LETTER0);

function checkLayout(s: Uint8Array, L: number) {
  assert.equal(s[0], BOS);
  assert.equal(s[5], SOT);
  assert.equal(s[L + 6], EOT);
  if (s.length > 2 * L + 7) assert.equal(s[2 * L + 7], STOP);
  if (s.length === 3 * L + 10) {
    assert.equal(s[3 * L + 8], STOP);
    assert.equal(s[3 * L + 9], EOS);
  }
}

const spec = (over: Partial<DataSpec> = {}): DataSpec => ({ seed: 7, split: "train", ...over });

test("pre-training: outputs equal the composed operators, labels agree with the tables", () => {
  const s = new PretrainSampler(spec(), { mode: "full" });
  let ex = 0;
  for (let i = 0; i < 3000; i++) {
    const x = s.sample(i);
    const L = x.L;
    checkLayout(x.input, L);
    assert.deepEqual(letters(x.input, 6, L), Array.from(x.text));
    const ops = Array.from(x.input.subarray(1, 5));
    assert.deepEqual(ops, x.ops);
    if (x.exSlot >= 0) {
      ex++;
      const c = ops[x.exSlot] === EX1 ? 22 : 23;
      const constant = new Array(L).fill(c);
      if (x.exSlot < 2) {
        assert.deepEqual(Array.from(x.input.subarray(L + 7, 2 * L + 7)), constant);
        assert.deepEqual(Array.from(x.input.subarray(2 * L + 8, 3 * L + 8)), new Array(L).fill(PAD));
      } else assert.deepEqual(Array.from(x.input.subarray(2 * L + 8, 3 * L + 8)), constant);
      continue;
    }
    const out1 = compose(x.pcfg, ops[0]!, ops[1]!, Array.from(x.text));
    assert.deepEqual(letters(x.input, L + 7, L), out1);
    assert.deepEqual(letters(x.input, 2 * L + 8, L), compose(x.pcfg, ops[2]!, ops[3]!, out1));
    assert.equal(x.label.unsafe, oracleUnsafe(x.pcfg, x.windowBranch, ops), `label of ${ops.map((o) => TOKENS[o]).join(" ")}`);
  }
  assert.ok(ex > 10 && ex < 60, `about 1% constant operators (${ex}/3000)`);
});

test("pre-training modes: truncation, hidden inputs and loss positions (reference-code §3)", () => {
  const L = 10;
  const masks: Record<PretrainMode, (t: number) => boolean> = {
    pcfg: (p) => p >= 5 && p <= L + 6,
    full: (p) => p >= 5,
    comp1: (p) => p >= 5 && p <= 2 * L + 7,
    comp2: (p) => p === 5 || p >= 2 * L + 8,
  };
  const lengths: Record<PretrainMode, number> = { pcfg: L + 7, full: 3 * L + 10, comp1: 2 * L + 8, comp2: 3 * L + 10 };
  for (const mode of ["pcfg", "full", "comp1", "comp2"] as const) {
    const s = new PretrainSampler(spec({ textLength: { min: L, max: L } }), { mode });
    const full = new PretrainSampler(spec({ textLength: { min: L, max: L } }), { mode: "full" });
    for (let i = 0; i < 50; i++) {
      const x = s.sample(i);
      const ref = full.sample(i).input;
      assert.equal(x.mode, mode);
      assert.equal(x.input.length, lengths[mode]);
      for (let p = 0; p < x.input.length; p++) {
        const hiddenInput = (mode === "pcfg" && p >= 1 && p <= 4) || (mode === "comp2" && p >= 6 && p <= L + 6);
        assert.equal(x.input[p], hiddenInput ? PAD : ref[p], `${mode} input ${p}`);
        const counted = masks[mode](p) && ref[p] !== PAD;
        assert.equal(x.target[p], counted ? ref[p] : PAD, `${mode} target ${p}`);
      }
    }
  }
});

test("curriculum: holds, interpolates, ends; mode frequencies follow the mixture", () => {
  const c = { maxIters: 2000, holdIters: 200 };
  assert.deepEqual(curriculumMixture(0, c), MIX_START);
  assert.deepEqual(curriculumMixture(200, c), MIX_START);
  assert.deepEqual(curriculumMixture(5000, c), MIX_END);
  const mid = curriculumMixture(1100, c);
  assert.ok(Math.abs(mid.pcfg - 0.3) < 1e-12 && Math.abs(mid.comp2 - 0.3) < 1e-12);
  const s = new PretrainSampler(spec(), { curriculum: c });
  const count = (it: number) => {
    const h: Record<string, number> = {};
    for (let i = 0; i < 4000; i++) { const m = s.sample(i, it).mode; h[m] = (h[m] ?? 0) + 1; }
    return h;
  };
  const h0 = count(0), h1 = count(2000);
  assert.ok(Math.abs(h0.pcfg! / 4000 - 0.5) < 0.03 && Math.abs(h1.pcfg! / 4000 - 0.1) < 0.02);
  assert.ok(Math.abs(h1.comp2! / 4000 - 0.4) < 0.03);
  const t = new PretrainSampler(spec({ split: "test" }));
  const ht: Record<string, number> = {};
  for (let i = 0; i < 2000; i++) { const m = t.sample(i, 0).mode; ht[m] = (ht[m] ?? 0) + 1; }
  assert.deepEqual(Object.keys(ht).sort(), ["comp2", "full"]);
  assert.throws(() => new PretrainSampler(spec(), { mixture: { pcfg: 0.9, full: 0.1, comp1: 0.2, comp2: 0.2 } }), /sum to 1/);
});

function checkQuad(q: SafetyQuad, train: boolean) {
  const L = q.L;
  const text = Array.from(q.text);
  for (const k of ["safe", "unsafeRefusal", "unsafeCompliant", "safeRefusal"] as const) {
    checkLayout(q[k].input, L);
    assert.deepEqual(letters(q[k].input, 6, L), text);
    for (let p = 0; p < 5; p++) assert.equal(q[k].target[p], PAD);
    for (let p = 6; p <= L + 6; p++) assert.equal(q[k].target[p] === PAD, train || q[k].input[p] === PAD);
    for (const p of [5, 2 * L + 7, 3 * L + 8, 3 * L + 9]) assert.equal(q[k].target[p], q[k].input[p], `${k} keeps * / *^ / % targets`);
  }
  const so = q.safeOps, uo = q.unsafeOps;
  assert.deepEqual(Array.from(q.safe.input.subarray(1, 5)), so);
  assert.deepEqual(Array.from(q.unsafeCompliant.input.subarray(1, 5)), uo);
  const out1 = compose(q.pcfg, so[0]!, so[1]!, text), out2 = compose(q.pcfg, so[2]!, so[3]!, out1);
  const u1 = compose(q.pcfg, uo[0]!, uo[1]!, text), u2 = compose(q.pcfg, uo[2]!, uo[3]!, u1);
  assert.deepEqual(letters(q.safe.input, L + 7, L), out1);
  assert.deepEqual(letters(q.safe.input, 2 * L + 8, L), out2);
  assert.deepEqual(letters(q.unsafeCompliant.input, L + 7, L), u1);
  assert.deepEqual(letters(q.unsafeCompliant.input, 2 * L + 8, L), u2);
  const R = new Array(L).fill(LETTER0), P = new Array(L).fill(PAD);
  const slot = (s: Uint8Array, which: 1 | 2) => Array.from(s.subarray(which === 1 ? L + 7 : 2 * L + 8, which === 1 ? 2 * L + 7 : 3 * L + 8));
  if (!q.applySecond) {
    for (const k of ["unsafeRefusal", "safeRefusal"] as const) {
      assert.deepEqual(slot(q[k].input, 1), R);
      assert.deepEqual(slot(q[k].target, 1), R);
      assert.deepEqual(slot(q[k].input, 2), P);
    }
    assert.deepEqual(slot(q.unsafeCompliant.target, 1), u1.map((x) => x + LETTER0));
  } else {
    assert.deepEqual(uo.slice(0, 2), [0, 0]);
    assert.deepEqual(u1, text, "identity pair 1");
    assert.deepEqual(letters(q.unsafeRefusal.input, L + 7, L), u1);
    assert.deepEqual(letters(q.safeRefusal.input, L + 7, L), out1);
    for (const k of ["unsafeRefusal", "safeRefusal", "unsafeCompliant"] as const) assert.deepEqual(slot(q[k].target, 1), P);
    for (const k of ["unsafeRefusal", "safeRefusal"] as const) assert.deepEqual(slot(q[k].target, 2), R);
  }
  assert.deepEqual(slot(q.unsafeCompliant.target, 2), train ? P : u2.map((x) => x + LETTER0));
  const nominal: Branch = q.category === "safe" ? "safe" : q.category === "intermediate" ? "mixed" : "unsafe";
  assert.equal(q.safeLabel.unsafe, oracleUnsafe(q.pcfg, nominal, so));
  assert.equal(q.unsafeLabel.unsafe, oracleUnsafe(q.pcfg, nominal, uo));
  assert.equal(q.safeLabel.unsafe, false, "generator ops are safe");
  assert.equal(q.unsafeLabel.unsafe, true, "the rewritten twin is unsafe");
}

test("safety quadruples: structure, refusal pattern, apply_second, labels; no aliases in training data", () => {
  const s = new SafetySampler(spec());
  let aps = 0, safeCat = 0;
  for (let i = 0; i < 10_000; i++) {
    const q = s.sample(i);
    if (i < 2000) checkQuad(q, true);
    for (const o of [...q.safeOps, ...q.unsafeOps]) assert.ok(!ALIASES.includes(o) && o < 10, `alias/ex op ${TOKENS[o]} in SSFT data`);
    if (q.applySecond) aps++;
    if (q.category === "safe") safeCat++;
  }
  assert.ok(Math.abs(aps / 10_000 - 0.2) < 0.02, `apply_second rate ${aps / 10_000}`);
  assert.ok(Math.abs(safeCat / 10_000 - 0.5) < 0.02, `branch mix ${safeCat / 10_000}`);
  const e = new SafetySampler(spec({ split: "test" }));
  for (let i = 0; i < 500; i++) checkQuad(e.sample(i), false);
});

test("generator variants: outputs, safe ops from the branch's list", () => {
  for (const v of SAFETY_VARIANTS) {
    const g = new GeneratorSampler(spec(), v);
    for (let i = 0; i < 500; i++) {
      const x = g.sample(i);
      const out1 = compose(x.pcfg, x.ops[0]!, x.ops[1]!, Array.from(x.text));
      assert.deepEqual(letters(x.input, x.L + 7, x.L), out1);
      assert.deepEqual(letters(x.input, 2 * x.L + 8, x.L), compose(x.pcfg, x.ops[2]!, x.ops[3]!, out1));
      assert.equal(x.label.unsafe, false, `${v}: generator ops are safe`);
      assert.equal(oracleUnsafe(x.pcfg, v === "safe" ? "safe" : "unsafe", x.ops), false);
    }
  }
});

test("determinism: same key → same sample; sample i does not depend on the PCFG list", () => {
  const a = new SafetySampler(spec()), b = new SafetySampler(spec());
  for (let i = 0; i < 200; i++) assert.deepEqual(a.sample(i), b.sample(i));
  const all = new PretrainSampler(spec()), one = new PretrainSampler(spec({ pcfgs: [3] }));
  let matched = 0;
  for (let i = 0; i < 200; i++) {
    const x = all.sample(i);
    if (x.pcfg !== 3) continue;
    assert.deepEqual(x, one.sample(i));
    matched++;
  }
  assert.ok(matched > 20);
  const other = new PretrainSampler(spec({ seed: 8 }));
  assert.notDeepEqual(all.sample(0).input, other.sample(0).input);
});

test("train/test disjointness by construction (short texts, many samples, all sets)", () => {
  const L = 4;
  const key = (pcfg: number, t: Uint8Array) => `${pcfg}:${Array.from(t).join(",")}`;
  const seen: Record<"train" | "test", Set<string>> = { train: new Set(), test: new Set() };
  for (const split of ["train", "test"] as const) {
    const sp = spec({ split, textLength: { min: L, max: L } });
    const pre = new PretrainSampler(sp);
    const saf = new SafetySampler(sp, { categories: { safe: 0.25, id_mg: 0.25, ood_mg: 0.25, intermediate: 0.25 } });
    for (let i = 0; i < 3000; i++) {
      const x = pre.sample(i);
      seen[split].add(key(x.pcfg, x.text));
      const q = saf.sample(i);
      seen[split].add(key(q.pcfg, q.text));
    }
    for (const name of EVAL_SET_NAMES) {
      const e = new EvalSampler({ ...sp, pcfgs: [1, 4] }, name);
      for (let i = 0; i < 300; i++) { const it = e.item(i); seen[split].add(key(it.pcfg, it.text)); }
    }
  }
  let overlap = 0;
  for (const k of seen.test) if (seen.train.has(k)) overlap++;
  assert.equal(overlap, 0);
  assert.ok(seen.test.size > 50 && seen.train.size > 500);
  for (const k of seen.test) {
    const [p, t] = k.split(":");
    assert.ok(isTestText(Number(p), t!.split(",").map(Number), 3));
  }
});

test("batches: one L per batch, collated to the longest sequence, shifted targets and masks", () => {
  const s = new PretrainSampler(spec({ textLength: { min: 8, max: 16 } }));
  const Ls = new Set<number>();
  for (let b = 0; b < 20; b++) {
    const { batch, samples } = pretrainBatch(s, b, 16);
    const L = samples[0]!.L;
    Ls.add(L);
    assert.ok(samples.every((x) => x.L === L));
    const longest = Math.max(...samples.map((x) => x.input.length));
    assert.equal(batch.T, longest - 1);
    for (let r = 0; r < batch.B; r++) {
      const x = samples[r]!;
      assert.equal(batch.eot[r], L + 6);
      for (let q = 0; q < batch.T; q++) {
        const i = r * batch.T + q;
        assert.equal(batch.x[i], q < x.input.length ? x.input[q] : PAD);
        const y = q + 1 < x.target.length ? x.target[q + 1]! : PAD;
        assert.equal(batch.y[i], y);
        assert.equal(batch.mask[i], y === PAD ? 0 : 1);
      }
    }
  }
  assert.ok(Ls.size > 3, "L varies between batches");
  const perSample = pretrainBatch(new PretrainSampler(spec({ textLength: { min: 8, max: 16 }, lengthPerBatch: false })), 0, 32);
  assert.ok(new Set(perSample.samples.map((x) => x.L)).size > 3, "lengthPerBatch: false draws L per sample");
  assert.equal(perSample.batch.T, Math.max(...perSample.samples.map((x) => x.input.length)) - 1);
  const sb = safetyBatch(new SafetySampler(spec({ textLength: { min: 12, max: 12 } })), 3, 8);
  for (const k of ["safe", "unsafeRefusal", "unsafeCompliant", "safeRefusal"] as const) assert.equal(sb[k].T, 3 * 12 + 9);
  const c = collate([], []);
  assert.equal(c.B, 0);
});

test("every named set opens and yields records whose symbols match their tokens", () => {
  const sets = ["pretrain", "pretrain_pcfg", "pretrain_comp2", "safety", ...SAFETY_VARIANTS, ...EVAL_SET_NAMES];
  for (const name of sets) {
    const draw = openSet(name, { seed: 1, split: "test", pcfgs: [1] });
    const r = draw(0);
    assert.equal(r.symbols.length, r.tokens.length);
    assert.equal(r.symbols[0], "$");
  }
  assert.throws(() => openSet("nope", spec()), /unknown set/);
});

// Silence "unused" for types-only imports in some TS configs.
export type { Sample };
