import { test } from "node:test";
import assert from "node:assert/strict";
import { EvalSampler, EVAL_SET_NAMES, type EvalItem } from "../../src/data/evalsets.js";
import { evalBatch } from "../../src/data/batch.js";
import { applyPair, pcfgOperators } from "../../src/data/operators.js";
import { isUnsafeOp, safetyTable } from "../../src/data/safety.js";
import { ALIASES, EOS, IDENTITY, LETTER0, PAD, STOP } from "../../src/data/vocab.js";

const N = 400;
const items = (name: (typeof EVAL_SET_NAMES)[number], pcfgs = [1, 3, 4]): EvalItem[] => {
  const s = new EvalSampler({ seed: 5, split: "test", pcfgs, textLength: { min: 10, max: 30 } }, name);
  return Array.from({ length: N }, (_, i) => s.item(i));
};

function checkCommon(it: EvalItem) {
  const L = it.L;
  assert.equal(it.prompt.length, L + 7);
  assert.deepEqual(Array.from(it.prompt.subarray(1, 5)), it.ops);
  assert.deepEqual(Array.from(it.prompt.subarray(6, 6 + L), (t) => t - LETTER0), Array.from(it.text));
  const t = pcfgOperators(it.pcfg);
  const u1 = applyPair(t, it.ops[0]!, it.ops[1]!, it.text, new Uint8Array(L));
  const u2 = applyPair(t, it.ops[2]!, it.ops[3]!, u1, new Uint8Array(L));
  assert.deepEqual(Array.from(it.compliant), [...Array.from(u1, (x) => x + LETTER0), STOP, ...Array.from(u2, (x) => x + LETTER0), STOP, EOS]);
  const R = new Array(L).fill(LETTER0), P = new Array(L).fill(PAD);
  assert.deepEqual(Array.from(it.refusal), it.applySecond ? [...P, STOP, ...R, STOP, EOS] : [...R, STOP, ...P, STOP, EOS]);
  assert.equal(it.label.unsafe, true, `${it.set}: prompt is unsafe`);
  assert.ok(it.label.reasons.length > 0);
  assert.deepEqual(Array.from(it.pairs.compliant.input.subarray(L + 7)), Array.from(it.compliant));
  assert.deepEqual(Array.from(it.pairs.refusal.target.subarray(L + 7)), Array.from(it.refusal));
  if (it.safe) {
    assert.equal(it.safe.label.unsafe, false, `${it.set}: twin is safe`);
    const o = it.safe.ops;
    const s1 = applyPair(t, o[0]!, o[1]!, it.text, new Uint8Array(L));
    assert.deepEqual(Array.from(it.safe.answer.subarray(0, L)), Array.from(s1, (x) => x + LETTER0));
    assert.deepEqual(Array.from(it.safe.prompt.subarray(5)), Array.from(it.prompt.subarray(5)), "same text");
  }
}

test("every evaluation set: prompt layout, compliant = composed ops, refusal pattern, unsafe label, safe twin", () => {
  for (const name of EVAL_SET_NAMES) for (const it of items(name)) checkCommon(it);
});

test("std_safe / std_unsafe / jb_misgen_text / jb_co_text use their grammars and operator lists", () => {
  const grammar = { std_safe: "safe", std_unsafe: "id_mg", jb_misgen_text: "ood_mg", jb_co_text: "intermediate" } as const;
  for (const [name, g] of Object.entries(grammar)) for (const it of items(name as keyof typeof grammar)) assert.equal(it.grammar, g);
  for (const it of items("jb_co_text")) {
    const t = safetyTable(it.pcfg);
    for (const o of it.ops) assert.ok(o === IDENTITY || t.unsafeBranchOnly.includes(o), "ops from the unsafe-branch-only list");
    assert.ok(it.ops.every((o) => !t.globallyUnsafe.includes(o)), "no globally unsafe op: unsafe only through the text");
  }
  for (const it of items("std_safe")) assert.ok(it.ops.some((o) => safetyTable(it.pcfg).globallyUnsafe.includes(o)));
});

test("jb_co_task: every pair = one unsafe op + one safe non-identity op, on safe and unsafe text", () => {
  const grammars = new Set<string>();
  for (const it of items("jb_co_task")) {
    grammars.add(it.grammar);
    const branch = it.grammar === "safe" ? "safe" : "unsafe";
    for (const p of [0, 2]) {
      const pair = [it.ops[p]!, it.ops[p + 1]!];
      const unsafe = pair.filter((o) => isUnsafeOp(it.pcfg, branch, o));
      assert.equal(unsafe.length, 1, `pair ${pair}`);
      const other = pair.find((o) => !isUnsafeOp(it.pcfg, branch, o))!;
      assert.ok(other !== IDENTITY && other < 10);
    }
  }
  assert.deepEqual([...grammars].sort(), ["id_mg", "safe"]);
});

test("jb_co_comp: pair 1 keeps the safe ops, the unsafe op sits only in pair 2", () => {
  for (const it of items("jb_co_comp")) {
    const branch = it.grammar === "safe" ? "safe" : "unsafe";
    assert.deepEqual(it.ops.slice(0, 2), it.safe!.ops.slice(0, 2));
    assert.ok(it.ops.slice(0, 2).every((o) => !isUnsafeOp(it.pcfg, branch, o)));
    const changed = [2, 3].filter((k) => it.ops[k] !== it.safe!.ops[k]);
    assert.ok(changed.length <= 1);
    assert.ok(it.ops.slice(2).some((o) => isUnsafeOp(it.pcfg, branch, o)));
  }
});

test("jb_misgen_tokens: alias operators (never seen in safety fine-tuning), at least one unsafe", () => {
  const used = new Set<number>();
  for (const it of items("jb_misgen_tokens")) {
    assert.equal(it.grammar, "base");
    for (const o of it.ops) {
      assert.ok(o === IDENTITY || ALIASES.includes(o));
      used.add(o);
    }
    assert.ok(it.ops.some((o) => ALIASES.includes(o) && isUnsafeOp(it.pcfg, it.windowBranch, o)));
    assert.equal(it.safe, undefined);
  }
  assert.ok(used.size >= 5);
  assert.throws(() => new EvalSampler({ seed: 0, split: "test", pcfgs: [2] }, "jb_misgen_tokens"), /PCFG 2/);
});

test("eval batches collate items' teacher-forced pairs", () => {
  const s = new EvalSampler({ seed: 1, split: "test", pcfgs: [1], textLength: { min: 25, max: 35 } }, "std_unsafe");
  const b = evalBatch(s, 0, 16, 20);
  assert.equal(b.items.length, 16);
  assert.equal(b.refusal.T, 3 * 20 + 9);
  assert.ok(b.safe);
  assert.ok(b.items.every((i) => i.L === 20));
});

test("labelText recognises the branch from the text itself", async () => {
  const { labelText } = await import("../../src/data/label.js");
  const { tokenId } = await import("../../src/data/vocab.js");
  const unsafeSet = items("std_unsafe", [1]).filter((i) => i.L >= 20);
  const brOnly = [tokenId("}"), 0, 0, 0]; // unsafe only on unsafe-dominant text of PCFG 1
  for (const it of unsafeSet.slice(0, 50)) {
    const l = labelText(1, it.text, brOnly);
    assert.equal(l.readings.valid, true);
    assert.equal(l.unsafe, true, "long id_mg text is unambiguously unsafe-dominant");
  }
  for (const it of items("std_safe", [1]).filter((i) => i.L >= 20).slice(0, 50)) {
    const l = labelText(1, it.text, brOnly);
    if (!l.ambiguous) assert.equal(l.unsafe, false);
    assert.equal(labelText(1, it.text, [tokenId(")"), 0, 0, 0]).unsafe, true);
  }
});
