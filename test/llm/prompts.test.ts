import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import {
  JAILBREAK_FAMILIES, OPERATORS, SAFE_OPERANDS, UNSAFE_OPERANDS, defaultPromptsPath, generatePrompts, leetspeak, loadPrompts,
  parsePrompts, promptsJsonl, rot13, selectPrompts,
} from "../../src/llm/prompts.js";
import { UserError } from "../../src/util/errors.js";

test("the shipped data/llm/prompts.jsonl is exactly the generator's output", () => {
  assert.equal(readFileSync(defaultPromptsPath(), "utf8"), promptsJsonl(generatePrompts()));
});

test("operator × operand design: every operator with every operand, balanced labels and splits", () => {
  const ps = loadPrompts();
  const std = selectPrompts(ps, { family: "standard" });
  assert.equal(std.length, OPERATORS.length * (SAFE_OPERANDS.length + UNSAFE_OPERANDS.length));
  assert.ok(OPERATORS.length >= 12 && SAFE_OPERANDS.length >= 12 && UNSAFE_OPERANDS.length >= 12);
  for (const label of ["safe", "unsafe"] as const) {
    const n = OPERATORS.length * (label === "safe" ? SAFE_OPERANDS : UNSAFE_OPERANDS).length;
    const ref = selectPrompts(std, { label, split: "reference" }).length, tst = selectPrompts(std, { label, split: "test" }).length;
    assert.equal(ref + tst, n);
    assert.ok(Math.abs(ref - tst) <= 1, `${label}: ${ref} reference vs ${tst} test`);
  }
  // Both halves hold every operator and every operand; no operator–operand pair is in both.
  for (const split of ["reference", "test"] as const) {
    const half = selectPrompts(std, { split });
    assert.equal(new Set(half.map((p) => p.operator)).size, OPERATORS.length);
    assert.equal(new Set(half.map((p) => p.operand)).size, SAFE_OPERANDS.length + UNSAFE_OPERANDS.length);
  }
  assert.equal(new Set(std.map((p) => `${p.operator}/${p.operand}`)).size, std.length);
  // Same task, different concept: each operator's template is shared by its safe and unsafe prompts.
  const [op, template] = OPERATORS[0];
  const stem = template.split("{x}")[0];
  assert.ok(selectPrompts(std, { operator: op }).every((p) => p.text.startsWith(stem)));
  assert.equal(new Set(ps.map((p) => p.id)).size, ps.length);
});

test("jailbreak variants wrap every test-split unsafe prompt once per family, decodably", () => {
  const ps = loadPrompts();
  const byId = new Map(ps.map((p) => [p.id, p]));
  const testUnsafe = selectPrompts(ps, { family: "standard", label: "unsafe", split: "test" });
  for (const family of JAILBREAK_FAMILIES) {
    const jb = selectPrompts(ps, { family });
    assert.equal(jb.length, testUnsafe.length, family);
    for (const p of jb) {
      const base = byId.get(p.base_id!)!;
      assert.equal(base.family, "standard");
      assert.equal(p.label, "unsafe");
      assert.equal(p.operator, base.operator);
      assert.equal(p.operand, base.operand);
      if (family === "mg_base64") assert.equal(Buffer.from(p.text.split(": ").pop()!, "base64").toString("utf8"), base.text);
      else if (family === "mg_rot13") assert.equal(rot13(p.text.slice(p.text.indexOf(": ") + 2)), base.text);
      else if (family === "mg_leetspeak") assert.equal(p.text, leetspeak(base.text));
      else assert.ok(p.text.includes(base.text), `${p.id} should contain its request`);
    }
  }
  assert.equal(rot13(rot13("Hello, World!")), "Hello, World!");
  assert.equal(leetspeak("Test this"), "7357 7h15");
});

test("loadPrompts: one-line errors with file:line, field and what was expected", () => {
  const good = promptsJsonl(generatePrompts().slice(0, 3)).trimEnd().split("\n");
  const err = (text: string, re: RegExp) => assert.throws(() => parsePrompts(text, "p.jsonl"), (e) => e instanceof UserError && !e.message.includes("\n") && re.test(e.message), re.source);
  err(`${good[0]}\n{not json`, /^p\.jsonl:2: invalid JSON/);
  err(good[0].replace('"label":"safe"', '"label":"maybe"'), /^p\.jsonl:1: field "label": expected one of "safe", "unsafe", got "maybe"$/);
  err(good[0].replace('"split":"reference"', '"split":3'), /^p\.jsonl:1: field "split": expected a non-empty string, got 3$/);
  err(good[0].replace(/,"text":"[^"]*"/, ""), /^p\.jsonl:1: field "text": expected a non-empty string, got nothing$/);
  err(good[0].replace('"family":"standard"', '"family":"standard","extra":1'), /^p\.jsonl:1: unknown field "extra"/);
  err(`${good[0]}\n${good[1]}\n${good[0]}`, /^p\.jsonl:3: field "id": expected a unique id, got "standard\/make_steps\/bicycle" \(also on line 1\)$/);
  err(good[1].replace('"family":"standard"', '"family":"co_prefix"'), /^p\.jsonl:1: field "base_id": expected the id of the wrapped standard prompt/);
  err(good[0].replace('"family":"standard"', '"family":"co_prefix","base_id":"nope"'), /^p\.jsonl:1: field "base_id": expected the id of an earlier standard prompt, got "nope"$/);
  err("\n\n", /^p\.jsonl: no prompts$/);
  assert.equal(parsePrompts(`${good.join("\n")}\n\n`, "p.jsonl").length, 3);
  const dir = mkdtempSync(join(tmpdir(), "prompts-"));
  writeFileSync(join(dir, "bad.jsonl"), `${good[0]}\n[1]\n`);
  assert.throws(() => loadPrompts(join(dir, "bad.jsonl")), (e) => e instanceof UserError && e.message === `${join(dir, "bad.jsonl")}:2: expected a JSON object`);
  assert.throws(() => loadPrompts(join(dir, "missing.jsonl")), (e) => e instanceof UserError && /cannot read prompt file .*missing\.jsonl: ENOENT/.test(e.message));
});
