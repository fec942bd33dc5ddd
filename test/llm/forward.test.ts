import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../src/util/errors.js";
import { jsBackend } from "../../src/engine/backend/index.js";
import { Rng } from "../../src/engine/rng.js";
import { openLlamaCheckpoint } from "../../src/llm/checkpoint.js";
import { lastPosition, llamaHookNames, llamaHookWidth, meanLastPositions, runLlama } from "../../src/llm/forward.js";
import { copyFixture, FIXTURE, loadFixtureReference, relErr, tmpDir, writeTinyLlama } from "./helpers.js";

const TOL = 1e-4;

test("fixture: logits and every hook match the PyTorch reference (sharded BF16, GQA, RoPE)", () => {
  const ref = loadFixtureReference();
  const ck = openLlamaCheckpoint(FIXTURE);
  const hooks = llamaHookNames(ck.config);
  const r = runLlama(ck, ref.prompts, { hooks, logits: "all", chunkTokens: 16 });
  let checked = 0;
  ref.prompts.forEach((p, i) => {
    const want = ref.tensors.get(`default.p${i}.logits`)!;
    assert.ok(relErr(r.logits![i]!, want.data) < TOL, `prompt ${i} logits: ${relErr(r.logits![i]!, want.data)}`);
    for (const h of hooks) {
      const t = ref.tensors.get(`default.p${i}.${h}`);
      const got = r.hooks.get(h)![i]!;
      assert.equal(got.length, p.length * llamaHookWidth(ck.config, h), `${h} size`);
      if (!t) {
        // ln2.hook_normalized is not stored: it is the MLP input by definition.
        assert.ok(h.endsWith("ln2.hook_normalized"), h);
        assert.deepEqual(got, r.hooks.get(h.replace("ln2.hook_normalized", "mlp.hook_in"))![i]);
        continue;
      }
      assert.deepEqual(t.shape, [p.length, llamaHookWidth(ck.config, h)], h);
      const e = relErr(got, t.data);
      assert.ok(e < TOL, `prompt ${i} ${h}: rel err ${e}`);
      checked++;
    }
  });
  assert.equal(checked, ref.prompts.length * (hooks.length - ck.config.numLayers));
});

test("fixture with Llama-3.1 rope_scaling matches the reference", () => {
  const ref = loadFixtureReference();
  const dir = copyFixture();
  const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, rope_scaling: ref.llama3_rope_scaling }));
  const ck = openLlamaCheckpoint(dir);
  assert.equal(ck.config.ropeScaling?.type, "llama3");
  const r = runLlama(ck, ref.prompts, { hooks: ["blocks.2.attn.hook_q"], logits: "all" });
  ref.prompts.forEach((_, i) => {
    assert.ok(relErr(r.logits![i]!, ref.tensors.get(`llama3.p${i}.logits`)!.data) < TOL, `prompt ${i} logits`);
    assert.ok(relErr(r.hooks.get("blocks.2.attn.hook_q")![i]!, ref.tensors.get(`llama3.p${i}.blocks.2.attn.hook_q`)!.data) < TOL);
  });
  // The scaling matters at these positions: the default-RoPE logits differ.
  const d = ref.tensors.get("default.p2.logits")!.data;
  assert.ok(relErr(r.logits![2]!, d) > 1e-3, "llama3 scaling changed nothing");
});

function randomPrompts(seed: number, n: number, vocab: number, maxLen: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => [1, ...Array.from({ length: 1 + rng.int(maxLen - 1) }, () => 3 + rng.int(vocab - 3))]);
}

test("streamed over chunks of prompts = one prompt at a time; js and native backends agree", () => {
  const dir = tmpDir();
  writeTinyLlama(dir, { seed: 3, layers: 3, hidden: 48, intermediate: 96, heads: 6, kvHeads: 2, shards: 2, dtype: "F16", tie: true });
  const ck = openLlamaCheckpoint(dir);
  const prompts = randomPrompts(5, 9, 300, 14);
  const hooks = ["hook_embed", "blocks.0.attn.hook_k", "blocks.1.mlp.hook_post", "blocks.2.hook_resid_post", "ln_final.hook_normalized"];
  const all = runLlama(ck, prompts, { hooks, logits: "all", chunkTokens: 20 });
  prompts.forEach((p, i) => {
    const one = runLlama(ck, [p], { hooks, logits: "all" });
    assert.ok(relErr(all.logits![i]!, one.logits![0]!) < 1e-5, `prompt ${i} logits`);
    for (const h of hooks) assert.ok(relErr(all.hooks.get(h)![i]!, one.hooks.get(h)![0]!) < 1e-5, `prompt ${i} ${h}`);
  });
  const js = runLlama(ck, prompts.slice(0, 3), { hooks, logits: "all", backend: jsBackend });
  for (let i = 0; i < 3; i++) assert.ok(relErr(js.logits![i]!, all.logits![i]!) < 1e-5, `js vs default backend, prompt ${i}`);
});

test("position selectors, last-position logits, tied lm_head in row blocks and early stop", () => {
  const dir = tmpDir();
  const cfg = writeTinyLlama(dir, { seed: 4, layers: 4, tie: true, dtype: "F32" });
  const ck = openLlamaCheckpoint(dir);
  const prompts = randomPrompts(6, 5, 300, 10);
  const full = runLlama(ck, prompts, { hooks: ["blocks.1.mlp.hook_post", "ln_final.hook_normalized"], logits: "all" });
  const mean = runLlama(ck, prompts, { hooks: ["blocks.1.mlp.hook_post"], select: meanLastPositions(3) });
  const last = runLlama(ck, prompts, { hooks: ["ln_final.hook_normalized"], select: lastPosition, logits: "last", headBlockRows: 7 });
  const blocked = runLlama(ck, prompts, { logits: "all", headBlockRows: 64 });
  const I = cfg.intermediate_size as number, D = cfg.hidden_size as number, V = cfg.vocab_size as number;
  const emb = ck.read("model.embed_tokens.weight"); // [V, D], tied to lm_head
  prompts.forEach((p, i) => {
    const T = p.length, act = full.hooks.get("blocks.1.mlp.hook_post")![i]!;
    const k = Math.min(3, T);
    const want = new Float32Array(I);
    for (let t = T - k; t < T; t++) for (let c = 0; c < I; c++) want[c]! += act[t * I + c]! / k;
    assert.ok(relErr(mean.hooks.get("blocks.1.mlp.hook_post")![i]!, want) < 1e-6);
    const lastNorm = last.hooks.get("ln_final.hook_normalized")![i]!;
    assert.deepEqual(lastNorm, full.hooks.get("ln_final.hook_normalized")![i]!.slice((T - 1) * D));
    assert.ok(relErr(last.logits![i]!, full.logits![i]!.slice((T - 1) * V)) < 1e-5);
    assert.ok(relErr(blocked.logits![i]!, full.logits![i]!) < 1e-5, "lm_head applied in row blocks");
    const manual = new Float32Array(V);
    for (let v = 0; v < V; v++) for (let c = 0; c < D; c++) manual[v]! += lastNorm[c]! * emb[v * D + c]!;
    assert.ok(relErr(last.logits![i]!, manual) < 1e-5, "tied lm_head");
  });
  const layers: number[] = [];
  const early = runLlama(ck, prompts, { hooks: ["blocks.1.hook_resid_mid"], onLayer: (l) => layers.push(l) });
  assert.deepEqual(layers, [0, 1], "layers after the last wanted hook are skipped");
  assert.equal(early.logits, null);
});

test("bad hook names, tokens and options are one-line errors", () => {
  const ck = openLlamaCheckpoint(FIXTURE);
  const one = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: unknown) => e instanceof UserError && !e.message.includes("\n") && re.test(e.message));
  one(() => runLlama(ck, [[1, 2]], { hooks: ["blocks.0.attn.hook_pattern"] }), /unknown hook "blocks\.0\.attn\.hook_pattern"; valid hooks: hook_embed, blocks\.0\.hook_resid_pre.*blocks\.0 … blocks\.2/);
  one(() => runLlama(ck, [[1, 2]], { hooks: ["blocks.3.hook_resid_pre"] }), /unknown hook/);
  one(() => runLlama(ck, [[1, 300]]), /prompt 0 token 1 is 300, outside the vocabulary \[0, 300\)/);
  one(() => runLlama(ck, [[1], []]), /prompt 1 is empty/);
  one(() => runLlama(ck, [new Array(129).fill(1)]), /129 tokens, more than max_position_embeddings 128/);
  one(() => runLlama(ck, []), /no prompts/);
});
