import { test } from "node:test";
import assert from "node:assert/strict";
import { legacyPermutation, MT19937 } from "../../src/data/mt19937.js";
import { applyOp, applyPair, operatorTable, pcfgOperators, rulesJson, underlyingOp } from "../../src/data/operators.js";
import { ALIASES, EX1, EX2, NUM_LETTERS, TOKENS, tokenId, VOCAB_SIZE } from "../../src/data/vocab.js";

test("vocabulary: 59 tokens, ids as in reference-code §1.1", () => {
  assert.equal(TOKENS.length, VOCAB_SIZE);
  assert.equal(VOCAB_SIZE, 59);
  const expect: [string, number][] = [["(", 0], ["£", 9], ["+", 10], ["r4", 15], [">", 16], ["$", 17], ["%", 18], ["*", 19], ["#", 20], ["*^", 21], ["2a", 22], ["2z", 47], ["3a", 48], ["3d", 51], ["ex1", 52], ["ex2", 53], ["dup1", 54], ["dup5", 58]];
  for (const [s, id] of expect) assert.equal(tokenId(s), id, s);
  assert.equal(new Set(TOKENS).size, 59, "symbols are unique");
});

test("MT19937 init_genrand: first outputs for seed 5489 match the reference generator", () => {
  // mt19937ar.c with init_genrand(5489) starts 3499211612, 581869302, 3890346734.
  const mt = new MT19937(5489);
  assert.deepEqual([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()], [3499211612, 581869302, 3890346734]);
});

test("permutation check values (reference-code §1.2)", () => {
  const first6 = (seed: number) => legacyPermutation(seed, 30).slice(0, 6);
  assert.deepEqual(first6(0), [2, 28, 13, 10, 26, 24]);
  assert.deepEqual(first6(150), [6, 10, 0, 2, 21, 7]);
  assert.deepEqual(first6(300), [6, 14, 16, 15, 13, 11]);
  assert.deepEqual(first6(450), [19, 18, 29, 25, 7, 0]);
  assert.deepEqual(first6(1), [17, 21, 10, 19, 14, 20]);
  // Whole permutations, from numpy 2.4 `np.random.RandomState(s).permutation(30)`.
  assert.deepEqual(legacyPermutation(0, 30), [2, 28, 13, 10, 26, 24, 27, 11, 17, 22, 5, 16, 8, 14, 23, 20, 1, 29, 6, 4, 18, 19, 9, 7, 25, 3, 0, 21, 15, 12]);
  assert.deepEqual(legacyPermutation(458, 30), [22, 7, 4, 28, 3, 14, 26, 15, 23, 10, 19, 12, 21, 24, 20, 17, 5, 16, 9, 0, 27, 11, 25, 2, 6, 1, 18, 13, 8, 29]);
  assert.deepEqual(legacyPermutation(4294967295, 30), [21, 29, 27, 28, 15, 19, 1, 6, 8, 26, 23, 4, 17, 16, 9, 5, 14, 13, 10, 25, 11, 18, 24, 22, 0, 20, 7, 12, 2, 3]);
});

test("operator tables: identity, permutations at start_random + k − 1, aliases, constants", () => {
  for (const k of [1, 2, 3, 4]) {
    const t = pcfgOperators(k);
    assert.equal(t.startRandom, 150 * (k - 1));
    const row = (op: number) => Array.from(t.map.subarray(op * NUM_LETTERS, (op + 1) * NUM_LETTERS));
    assert.deepEqual(row(0), Array.from({ length: 30 }, (_, i) => i));
    for (let op = 1; op <= 9; op++) {
      assert.deepEqual(row(op), legacyPermutation(t.startRandom + op - 1, 30));
      assert.deepEqual([...row(op)].sort((a, b) => a - b), row(0), "a permutation");
    }
    for (const a of ALIASES) assert.deepEqual(row(a), row(underlyingOp(a)));
    assert.deepEqual(row(tokenId("+")), row(0));
    assert.deepEqual(row(tokenId("r2")), row(1));
    assert.deepEqual(row(tokenId("r4")), row(2));
    assert.deepEqual(row(EX1), new Array(30).fill(0));
    assert.deepEqual(row(EX2), new Array(30).fill(1));
  }
  assert.deepEqual(rulesJson(1, 450).operators[")"], legacyPermutation(450, 30));
  assert.equal(operatorTable(7).map[1 * 30], legacyPermutation(7, 30)[0]);
});

test("applyOp / applyPair compose left to right", () => {
  const t = pcfgOperators(1);
  const text = [0, 5, 29, 13];
  const a = applyOp(t, 1, text, new Uint8Array(4));
  const ab = applyOp(t, 4, a, new Uint8Array(4));
  assert.deepEqual(applyPair(t, 1, 4, text, new Uint8Array(4)), ab);
  // Worked example (reference-code §1.9): text 2w 2x 2y 3b … under `)` gives 2j 2h 2z 2v.
  const w = [22, 23, 24, 27].map((x) => x);
  assert.deepEqual(Array.from(applyOp(t, 1, w, new Uint8Array(4))), [9, 7, 25, 21]);
  assert.throws(() => applyOp(t, tokenId(">"), text, new Uint8Array(4)));
});

test("rules JSON has all 16 operators with 30 entries each", () => {
  const r = rulesJson(3);
  assert.equal(r.pcfg, 3);
  assert.equal(r.start_random, 300);
  assert.deepEqual(Object.keys(r.operators), TOKENS.slice(0, 16));
  for (const m of Object.values(r.operators)) assert.equal(m.length, 30);
});
