import { test } from "node:test";
import assert from "node:assert/strict";
import { compileGrammar, grammarLengthRange, GRAMMAR_VARIANTS, grammarRules } from "../../src/data/grammars.js";
import { Expander } from "../../src/data/expand.js";
import { Rng } from "../../src/data/rng.js";
import { letterIndex } from "../../src/data/vocab.js";

test("string lengths of every grammar match reference-code §1.3", () => {
  const expected: Record<string, [number, number]> = {
    base: [261, 486], safe: [54, 81], unsafe: [42, 162], id_mg: [36, 54], ood_mg: [36, 54], intermediate: [45, 54],
  };
  for (const v of GRAMMAR_VARIANTS) for (const k of [1, 2, 3, 4]) assert.deepEqual(grammarLengthRange(v, k), expected[v], `${v}/${k}`);
});

test("letters each PCFG never emits (reference-code §1.3)", () => {
  const missing: Record<number, string[]> = { 1: ["2g"], 2: ["2x", "2z", "3b", "3d"], 3: ["2b", "2h", "2n", "2t", "3c"], 4: ["2a", "2l", "2t", "3a", "3b", "3d"] };
  for (const k of [1, 2, 3, 4]) {
    const rules = grammarRules("base", k);
    const used = new Set<string>();
    for (const rhs of Object.values(rules)) for (const s of rhs.split(/[\s|]+/)) if (letterIndex(s) >= 0) used.add(s);
    assert.equal(used.size, 30 - missing[k]!.length, `PCFG ${k}`);
    for (const m of missing[k]!) assert.ok(!used.has(m), `PCFG ${k} emits ${m}`);
  }
});

test("expansion: sampled full strings have lengths in range; alternatives are uniform", () => {
  const rng = new Rng();
  const e = new Expander();
  for (const v of GRAMMAR_VARIANTS) {
    const g = compileGrammar(v, 1);
    const [lo, hi] = grammarLengthRange(v, 1);
    let sum = 0;
    for (let i = 0; i < 2000; i++) {
      const n = e.expandFull(g, rng.seed(i, 99));
      assert.ok(n >= lo && n <= hi, `${v}: ${n}`);
      sum += n;
    }
    if (v === "base") assert.ok(Math.abs(sum / 2000 - 391) < 6, `base mean length ${sum / 2000} ≈ 391`);
  }
  // id_mg: s → 10# | 10$ | 10$ | 10# | 10*, v → u | s with u → 10#: P(10*) = 1/10 → length 36.
  const g = compileGrammar("id_mg", 2);
  let short = 0;
  for (let i = 0; i < 20000; i++) if (e.expandFull(g, rng.seed(i, 7)) === 36) short++;
  assert.ok(Math.abs(short / 20000 - 0.1) < 0.01, `P(length 36) = ${short / 20000}`);
});

test("level-2 branch labels", () => {
  const g = compileGrammar("intermediate", 1);
  const label = (name: string) => g.branch[g.names.indexOf(name)];
  for (const s of ["r", "r10", "p", "p10"]) assert.equal(label(s), 1, s);
  for (const s of ["10$", "10$10", "10#", "10#10", "10*10"]) assert.equal(label(s), 2, s);
  assert.equal(label("o"), 0);
  const b = compileGrammar("base", 3);
  assert.deepEqual(["r", "q", "p", "10$", "10#", "10*"].map((s) => b.branch[b.names.indexOf(s)]), [1, 1, 1, 2, 2, 2]);
  assert.equal(compileGrammar("ood_mg", 1).names.includes("10$"), false, "unreachable rules are dropped");
});
