import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { noGrad } from "../../src/engine/tensor.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig } from "../../src/model/config.js";
import { loadModel, saveModel } from "../../src/model/checkpoint.js";
import { encodeSafetensors } from "../../src/io/safetensors.js";
import { runCli } from "../helpers.js";

const cfg = validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 8, vocab_size: 59, block_size: 16 });

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "nullspace-ckpt-"));
}

test("save → load round-trips weights and outputs exactly", () => {
  const dir = tmp();
  const model = new GPT(cfg, undefined, 42);
  saveModel(dir, model);
  const back = loadModel(dir);
  assert.deepEqual(back.config, model.config);
  const toks = Int32Array.from([17, 0, 1, 4, 12, 19, 22, 23]);
  const a = noGrad(() => model.forward({ tokens: toks, B: 1, T: 8 }));
  const b = noGrad(() => back.forward({ tokens: toks, B: 1, T: 8 }));
  assert.deepEqual(a.data, b.data);
});

test("loading rejects missing dirs, bad config and mismatched tensors with one line", () => {
  assert.throws(() => loadModel("/nonexistent/dir"), /no such checkpoint/);
  const dir = tmp();
  saveModel(dir, new GPT(cfg, undefined, 1));
  writeFileSync(join(dir, "config.json"), "{not json");
  assert.throws(() => loadModel(dir), /config.json: not valid JSON/);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: { ...cfg, n_layer: 3 } }));
  assert.throws(() => loadModel(dir), /missing tensor "transformer.h.2/);
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: { ...cfg, n_embd: 16 } }));
  assert.throws(() => loadModel(dir), /has shape/);
  // An extra tensor is rejected too.
  const model = new GPT(cfg, undefined, 1);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of model.params) tensors[k] = { shape: [...t.shape], data: t.data };
  tensors["transformer.h.0.attn.bias"] = { shape: [1], data: new Float32Array(1) };
  writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ model: cfg }));
  assert.throws(() => loadModel(dir), /unexpected tensor "transformer.h.0.attn.bias"/);
});

test("DataParallel 'module.' prefixes are accepted", () => {
  const dir = tmp();
  const model = new GPT(cfg, undefined, 3);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, t] of model.params) tensors["module." + k] = { shape: [...t.shape], data: t.data };
  writeFileSync(join(dir, "model.safetensors"), encodeSafetensors(tensors));
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg));
  assert.deepEqual(loadModel(dir).p("lm_head.weight").data, model.p("lm_head.weight").data);
});

test("CLI inspect forward prints logits, loss and hooks; bad input gives one-line errors", () => {
  const dir = tmp();
  saveModel(dir, new GPT(cfg, undefined, 5));
  const r = runCli(["inspect", "forward", "--model", dir, "--tokens", "17 0 1 4 12 19", "--hooks", "blocks.1.mlp.hook_post,hook_pos_embed", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.logits.length, 6);
  assert.equal(out.logits[0].length, 59);
  assert.equal(typeof out.loss, "number");
  assert.equal(out.hooks["blocks.1.mlp.hook_post"].length, 6);
  assert.equal(out.hooks["blocks.1.mlp.hook_post"][0].length, 32);
  assert.equal(out.hooks["hook_pos_embed"].length, 6);
  const single = JSON.parse(runCli(["inspect", "forward", "--model", dir, "--tokens", "17"]).stdout);
  assert.equal(single.loss, null);
  for (const [args, re] of [
    [["--tokens", "17 99"], /outside the vocabulary/],
    [["--tokens", "17 x"], /not a non-negative integer/],
    [["--tokens", "17", "--hooks", "blocks.7.mlp.hook_post"], /unknown hook/],
  ] as const) {
    const e = runCli(["inspect", "forward", "--model", dir, ...args]);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, re);
    assert.equal(e.stderr.trim().split("\n").length, 1, e.stderr);
  }
  const missing = runCli(["inspect", "forward", "--model", join(dir, "nope"), "--tokens", "1"]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /no such checkpoint/);
});
