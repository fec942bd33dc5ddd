import { test } from "node:test";
import assert from "node:assert/strict";
import { compileGrammar, GRAMMAR_VARIANTS, grammarRules, type CompiledGrammar, type GrammarVariant } from "../../src/data/grammars.js";
import { Validator } from "../../src/data/validator.js";
import { SamplerCore } from "../../src/data/sample.js";
import { letterIndex, NUM_LETTERS } from "../../src/data/vocab.js";

/**
 * An independent, brute-force oracle for small n: bottom-up sets of concrete strings (prefixes,
 * suffixes, short full strings, infixes of length n), each carrying the set of branch-touch masks.
 */
function windowOracle(g: CompiledGrammar, n: number): Map<string, number> {
  type Bag = Map<string, number>; // string → touch-mask set (bit m = mask m possible)
  const add = (b: Bag, s: string, t: number) => b.set(s, (b.get(s) ?? 0) | t);
  const prod = (s: number, t: number) => {
    let r = 0;
    for (let a = 0; a < 4; a++) for (let c = 0; c < 4; c++) if (s & (1 << a) && t & (1 << c)) r |= 1 << (a | c);
    return r;
  };
  const full: Bag[] = [], pre: Bag[] = [], suf: Bag[] = [], inf: Bag[] = [];
  for (let k = 0; k < NUM_LETTERS; k++) {
    const s = String.fromCharCode(65 + k);
    const one = new Map([[s, 1]]);
    full.push(one); pre.push(one); suf.push(one);
    inf.push(n === 1 ? one : new Map());
  }
  // Concatenation of bags with a length cap.
  const cat = (x: Bag, y: Bag, cap: number, exact = false): Bag => {
    const out: Bag = new Map();
    for (const [a, ta] of x) for (const [b, tb] of y) {
      const l = a.length + b.length;
      if (l > cap || (exact && l !== cap)) continue;
      add(out, a + b, prod(ta, tb));
    }
    return out;
  };
  for (let a = 0; a < g.names.length; a++) {
    const F: Bag = new Map(), P: Bag = new Map(), S: Bag = new Map(), I: Bag = new Map();
    for (let b = g.altStart[a]!; b < g.altStart[a + 1]!; b++) {
      const cs = Array.from(g.children.subarray(g.childStart[b]!, g.childStart[b + 1]!));
      const k = cs.length;
      for (const c of cs) for (const [s, t] of inf[c]!) add(I, s, t);
      // chains of full children c[i..j)
      const chain = (i: number, j: number): Bag => {
        let acc: Bag = new Map([["", 1]]);
        for (let m = i; m < j; m++) acc = cat(acc, full[cs[m]!]!, n);
        return acc;
      };
      for (const [s, t] of chain(0, k)) add(F, s, t);
      for (let m = 0; m < k; m++) {
        for (const [s, t] of cat(chain(0, m), pre[cs[m]!]!, n)) add(P, s, t);
        for (const [s, t] of cat(suf[cs[m]!]!, chain(m + 1, k), n)) add(S, s, t);
        for (let q = m + 1; q < k; q++) {
          const left = cat(suf[cs[m]!]!, chain(m + 1, q), n);
          for (const [s, t] of cat(left, pre[cs[q]!]!, n, true)) add(I, s, t);
        }
      }
    }
    const br = g.branch[a]!;
    const relabel = (x: Bag) => { if (br) for (const k of x.keys()) x.set(k, 1 << br); };
    [F, P, S, I].forEach(relabel);
    full.push(F); pre.push(P); suf.push(S); inf.push(I);
  }
  const v = NUM_LETTERS + g.start;
  const out: Bag = new Map();
  for (const bag of [inf[v]!, pre[v]!, suf[v]!]) for (const [s, t] of bag) if (s.length === n) add(out, s, t);
  return out;
}

const decode = (s: string) => Array.from(s, (ch) => ch.charCodeAt(0) - 65);

test("validator agrees with a brute-force oracle on every window (small n, several grammars)", () => {
  const cases: [GrammarVariant, number, number][] = [
    ["safe", 1, 4], ["id_mg", 1, 7], ["intermediate", 1, 12], ["base", 2, 11], ["id_mg", 4, 13], ["intermediate", 2, 5], ["ood_mg", 3, 8], ["unsafe", 4, 6], ["base", 1, 5], ["safe", 4, 10],
  ];
  for (const [variant, pcfg, n] of cases) {
    const g = compileGrammar(variant, pcfg);
    const oracle = windowOracle(g, n);
    const val = new Validator(g);
    assert.ok(oracle.size > 10, `${variant}: oracle found windows`);
    for (const [s, t] of oracle) assert.equal(val.touchSet(decode(s)), t, `${variant}/${pcfg} n=${n} window ${s}`);
    // Negatives: windows of other grammars / PCFGs, and one-letter mutations of positives.
    const others = windowOracle(compileGrammar(variant === "safe" ? "id_mg" : "safe", pcfg === 4 ? 1 : pcfg + 1), n);
    let neg = 0;
    for (const s of others.keys()) {
      const expected = oracle.get(s) ?? 0;
      assert.equal(val.touchSet(decode(s)), expected, `${variant} foreign window ${s}`);
      if (!expected) neg++;
    }
    let i = 0;
    for (const s of oracle.keys()) {
      if (i++ > 400) break;
      const w = decode(s);
      w[i % n] = (w[i % n]! + 1 + (i % 29)) % 30;
      const m = String.fromCharCode(...w.map((x) => x + 65));
      assert.equal(val.touchSet(w), oracle.get(m) ?? 0, `${variant} mutated ${m}`);
    }
    assert.ok(neg > 0, "some negatives were checked");
  }
});

test("every sampled text passes the validator for its grammar and branch (10,000 per grammar)", () => {
  for (const variant of GRAMMAR_VARIANTS) {
    const validators = [1, 2, 3, 4].map((k) => Validator.for(variant, k));
    const core = new SamplerCore({ seed: 11, split: "train", textLength: { min: 8, max: 35 } }, `validate_${variant}`);
    const w = new Uint8Array(35);
    for (let i = 0; i < 10_000; i++) {
      const pcfg = core.pickPcfg(i);
      const L = core.drawLength(core.head(pcfg, i));
      const text = w.subarray(0, L);
      const branch = core.drawText(pcfg, i, variant, L, 1, text);
      const r = validators[pcfg - 1]!.recognise(text);
      assert.ok(r.valid && r[branch], `${variant} pcfg ${pcfg} sample ${i} (${branch}) rejected`);
      if (variant === "safe") assert.ok(!r.unsafe && !r.mixed);
      if (variant === "id_mg" || variant === "unsafe" || variant === "ood_mg") assert.ok(!r.safe && !r.mixed);
    }
  }
});

test("validator rejects texts from another PCFG's leaves and random strings", () => {
  const v = Validator.for("base", 1);
  const core = new SamplerCore({ seed: 1, split: "train", pcfgs: [2] }, "neg");
  const w = new Uint8Array(20);
  let accepted = 0;
  for (let i = 0; i < 500; i++) {
    core.drawText(2, i, "base", 20, 2, w);
    if (v.accepts(w)) accepted++;
  }
  assert.equal(accepted, 0);
  assert.equal(v.accepts([0, 0, 0, 0, 0, 0]), false);
  assert.equal(v.accepts([]), true, "the empty window is trivially an infix");
});

/**
 * A second, structurally different oracle for long windows in the safe grammar: every safe string
 * is a sequence of level-4 nodes of exactly 9 letters, and there are few such sequences. A window
 * is an infix iff, for some sequence and offset, each overlapped node can produce its piece.
 */
function safeInfixOracle(pcfg: number): (w: number[]) => boolean {
  const rules = grammarRules("safe", pcfg);
  const alts = (s: string) => rules[s]!.split("|").map((a) => a.trim().split(/\s+/));
  const expandAll = (s: string): string[][] => {
    if (letterIndex(s) >= 0) return [[s]];
    const out: string[][] = [];
    for (const alt of alts(s)) {
      let acc: string[][] = [[]];
      for (const c of alt) acc = acc.flatMap((x) => expandAll(c).map((y) => [...x, ...y]));
      out.push(...acc);
    }
    return out;
  };
  const L4 = new Set(["l", "k", "j", "1f", "1h"]);
  const l4Strings = new Map<string, number[][]>();
  for (const s of L4) l4Strings.set(s, expandAll(s).map((x) => x.map(letterIndex)));
  // Level-4 sequences from v (stop expanding at level 4).
  const seqs = (s: string): string[][] => {
    if (L4.has(s)) return [[s]];
    const out: string[][] = [];
    for (const alt of alts(s)) {
      let acc: string[][] = [[]];
      for (const c of alt) acc = acc.flatMap((x) => seqs(c).map((y) => [...x, ...y]));
      out.push(...acc);
    }
    return out;
  };
  const all = [...new Set(seqs("v").map((x) => x.join(" ")))].map((x) => x.split(" "));
  return (w) => {
    const n = w.length;
    for (const seq of all) {
      for (let s = 0; s + n <= 9 * seq.length; s++) {
        let ok = true;
        for (let node = Math.floor(s / 9); ok && node * 9 < s + n; node++) {
          const from = Math.max(s, node * 9), to = Math.min(s + n, node * 9 + 9);
          ok = l4Strings.get(seq[node]!)!.some((str) => {
            for (let p = from; p < to; p++) if (str[p - node * 9] !== w[p - s]) return false;
            return true;
          });
        }
        if (ok) return true;
      }
    }
    return false;
  };
}

test("long windows: safe-grammar membership agrees with a level-4 enumeration oracle (L = 16, 25)", () => {
  for (const pcfg of [1, 3]) {
    const oracle = safeInfixOracle(pcfg);
    const val = Validator.for("safe", pcfg);
    for (const [variant, L] of [["intermediate", 25], ["id_mg", 16], ["safe", 25], ["base", 20]] as const) {
      const core = new SamplerCore({ seed: 2, split: "train", pcfgs: [pcfg] }, `oracle_${variant}`);
      const w = new Uint8Array(L);
      let yes = 0;
      for (let i = 0; i < 150; i++) {
        core.drawText(pcfg, i, variant, L, 1, w);
        const expected = oracle(Array.from(w));
        assert.equal(val.accepts(w), expected, `${variant} L=${L} window ${i}`);
        if (expected) yes++;
      }
      if (variant === "safe") assert.equal(yes, 150);
      if (variant === "intermediate") assert.ok(yes > 75, `intermediate windows in safe at L=25: ${yes}/150`);
    }
  }
});
