/**
 * PyTorch parity: scripts/make_parity_fixture.py builds the same minGPT in PyTorch (float64), and stores weights,
 * inputs, expected logits, loss and parameter gradients. CI needs no PyTorch: the fixtures are committed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../src/io/safetensors.js";
import { Tensor, backward, clearTape } from "../../src/engine/tensor.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig } from "../../src/model/config.js";
import { parameterShapes } from "../../src/model/params.js";
import { meanCrossEntropy } from "../../src/model/loss.js";
import { backend } from "../../src/engine/backend/index.js";
import { repoRoot } from "../helpers.js";

const PAD = 20;

for (const block of ["reference", "preln"] as const) {
  test(`PyTorch parity (${block} block, pe positions, ${backend().name} backend): logits 1e-4, gradients 1e-3 relative`, () => {
    const { tensors, metadata } = readSafetensors(join(repoRoot, "test", "fixtures", `parity_${block}.safetensors`));
    const cfg = validateGPTConfig(JSON.parse(metadata.config));
    assert.equal(cfg.block, block);
    const params = new Map<string, Tensor>();
    for (const name of parameterShapes(cfg).keys()) {
      const t = tensors.get(name)!;
      params.set(name, new Tensor(t.data.slice(), t.shape, true));
    }
    const model = new GPT(cfg, params);
    const tok = tensors.get("input.tokens")!, tgt = tensors.get("input.targets")!;
    const [B, T] = tok.shape;
    const tokens = Int32Array.from(tok.data);
    const targets = Int32Array.from(tgt.data, (v) => (v === PAD ? -1 : v));
    clearTape();
    const logits = model.forward({ tokens, B, T });
    const expLogits = tensors.get("expected.logits")!.data;
    let maxLogitErr = 0;
    for (let i = 0; i < expLogits.length; i++) maxLogitErr = Math.max(maxLogitErr, Math.abs(logits.data[i] - expLogits[i]));
    assert.ok(maxLogitErr < 1e-4, `max |logit diff| ${maxLogitErr}`);
    const loss = meanCrossEntropy(logits, targets);
    assert.ok(Math.abs(loss.item() - tensors.get("expected.loss")!.data[0]) < 1e-5, `loss ${loss.item()}`);
    backward(loss);
    for (const [name, p] of params) {
      const exp = tensors.get(`grad.${name}`)!.data;
      const got = p.grad ?? new Float32Array(p.size);
      // Relative to the gradient's scale (max |g|), so tiny entries don't dominate; float32 vs float64 reference.
      let scale = 0, err = 0;
      for (let i = 0; i < exp.length; i++) { scale = Math.max(scale, Math.abs(exp[i])); err = Math.max(err, Math.abs(got[i] - exp[i])); }
      if (scale === 0) assert.equal(err, 0, `${name}: expected zero gradient`);
      else assert.ok(err <= 1e-3 * scale, `${name}: max |grad diff| ${err} vs scale ${scale}`);
    }
  });
}
