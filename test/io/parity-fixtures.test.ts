/**
 * The committed PyTorch parity fixtures (scripts/make_parity_fixture.py) are readable and complete:
 * this checks the file contract only; the model-parity comparison itself lives with the model tests.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { repoRoot } from "../helpers.js";
import { checkTensorSet, readSafetensors } from "../../src/io/safetensors.js";

/** GPT-2 parameter names and shapes for pos "pe" (no wpe), written out independently of src/model. */
function expectedParams(L: number, C: number, V: number): Record<string, number[]> {
  const p: Record<string, number[]> = { "transformer.wte.weight": [V, C] };
  for (let i = 0; i < L; i++) {
    const h = `transformer.h.${i}`;
    Object.assign(p, {
      [`${h}.ln_1.weight`]: [C], [`${h}.ln_1.bias`]: [C],
      [`${h}.attn.c_attn.weight`]: [3 * C, C], [`${h}.attn.c_attn.bias`]: [3 * C],
      [`${h}.attn.c_proj.weight`]: [C, C], [`${h}.attn.c_proj.bias`]: [C],
      [`${h}.ln_2.weight`]: [C], [`${h}.ln_2.bias`]: [C],
      [`${h}.mlp.c_fc.weight`]: [4 * C, C], [`${h}.mlp.c_fc.bias`]: [4 * C],
      [`${h}.mlp.c_proj.weight`]: [C, 4 * C], [`${h}.mlp.c_proj.bias`]: [C],
    });
  }
  p["transformer.ln_f.weight"] = [C];
  p["transformer.ln_f.bias"] = [C];
  p["lm_head.weight"] = [V, C];
  return p;
}

for (const block of ["reference", "preln"] as const) {
  test(`parity fixture (${block}): config, parameters, gradients, inputs and expected outputs`, () => {
    const file = join(repoRoot, "test", "fixtures", `parity_${block}.safetensors`);
    const { tensors, metadata } = readSafetensors(file);
    assert.deepEqual(JSON.parse(metadata.config!), { n_layer: 2, n_head: 2, n_embd: 16, vocab_size: 59, block_size: 32, block, pos: "pe" });
    const params = expectedParams(2, 16, 59);
    const expected: Record<string, number[]> = { ...params };
    for (const [k, s] of Object.entries(params)) expected[`grad.${k}`] = s;
    Object.assign(expected, { "expected.logits": [2, 12, 59], "expected.loss": [1], "input.tokens": [2, 12], "input.targets": [2, 12] });
    checkTensorSet(file, tensors, expected);

    const tokens = tensors.get("input.tokens")!.data;
    const targets = tensors.get("input.targets")!.data;
    assert.ok(tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 59));
    assert.ok(targets.every((t) => Number.isInteger(t) && t >= 0 && t < 59));
    const pads = targets.filter((t) => t === 20).length;
    assert.ok(pads > 0 && pads < targets.length / 2, `${pads} PAD targets`);
    const loss = tensors.get("expected.loss")!.data[0]!;
    assert.ok(loss > 3 && loss < 5.5, `loss ${loss} near ln(59)`);
    // ln_2 is unused by the reference block (zero gradient) and used by pre-LN.
    const ln2 = [...tensors].filter(([k]) => /^grad\.transformer\.h\.\d\.ln_2\./.test(k));
    assert.equal(ln2.length, 4);
    for (const [k, t] of ln2) assert.equal(t.data.some((v) => v !== 0), block === "preln", k);
    // Every other gradient, biases and LayerNorm included, is exercised.
    for (const [k, t] of tensors) {
      if (k.startsWith("grad.") && !k.includes(".ln_2.")) assert.ok(t.data.some((v) => Math.abs(v) > 1e-6), `${k} is non-trivial`);
    }
  });
}
