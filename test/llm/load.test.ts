import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, truncateSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../../src/util/errors.js";
import { decodeToF32 } from "../../src/io/dtype.js";
import { openLlamaCheckpoint } from "../../src/llm/checkpoint.js";
import { parseLlamaConfig } from "../../src/llm/config.js";
import { f32ToBf16, f32ToF16, writeSafetensorsAs } from "../../src/llm/load-encode.js";
import { loadTokenizer } from "../../src/llm/tokenizer.js";
import { copyFixture, FIXTURE, loadFixtureReference, tmpDir, writeTinyLlama } from "./helpers.js";

/** Asserts a one-line UserError matching `re`. */
function rejects(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${String(e)}`);
    assert.ok(!e.message.includes("\n"), `not one line: ${e.message}`);
    assert.match(e.message, re);
    return true;
  });
}

const SHARD1 = "model-00001-of-00003.safetensors";
const editJson = (file: string, edit: (o: Record<string, unknown>) => void) => {
  const o = JSON.parse(readFileSync(file, "utf8"));
  edit(o);
  writeFileSync(file, JSON.stringify(o));
};

test("the sharded BF16 fixture opens lazily with the config's shapes", () => {
  const ck = openLlamaCheckpoint(FIXTURE);
  const c = ck.config;
  assert.deepEqual(
    [c.hiddenSize, c.intermediateSize, c.numLayers, c.numHeads, c.numKvHeads, c.headDim, c.vocabSize, c.tieWordEmbeddings, c.ropeTheta, c.ropeScaling],
    [64, 160, 3, 4, 2, 16, 300, false, 10000, null],
  );
  assert.equal(ck.files.length, 3);
  assert.deepEqual(ck.shape("model.layers.1.self_attn.k_proj.weight"), [32, 64]);
  assert.equal(ck.dtype("lm_head.weight"), "BF16");
  const emb = ck.read("model.embed_tokens.weight"); // [300, 64]
  assert.equal(emb.length, 300 * 64);
  const rows = ck.readRows("model.embed_tokens.weight", [299, 0, 7, 7]);
  for (const [i, r] of [299, 0, 7, 7].entries()) assert.deepEqual(rows.subarray(i * 64, (i + 1) * 64), emb.subarray(r * 64, (r + 1) * 64));
  rejects(() => ck.read("model.layers.3.mlp.up_proj.weight"), /no tensor "model\.layers\.3\.mlp\.up_proj\.weight"/);
  rejects(() => ck.readRows("model.embed_tokens.weight", [300]), /row 300 out of range \[0, 300\)/);
});

test("config.json: defaults, head_dim, rope_parameters and rejected fields", () => {
  const base = { model_type: "llama", hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 8, vocab_size: 10 };
  const c = parseLlamaConfig(base);
  assert.deepEqual([c.numKvHeads, c.headDim, c.ropeTheta, c.tieWordEmbeddings], [8, 8, 10000, false]);
  assert.equal(parseLlamaConfig({ ...base, head_dim: 16 }).headDim, 16);
  const v5 = parseLlamaConfig({ ...base, rope_parameters: { rope_type: "llama3", rope_theta: 5e5, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } });
  assert.deepEqual([v5.ropeTheta, v5.ropeScaling?.factor], [5e5, 8]);
  rejects(() => parseLlamaConfig({ ...base, rope_scaling: { type: "yarn", factor: 4 } }, "c.json"), /^c\.json: rope_scaling\.rope_type "yarn" is not supported \(expected one of default, llama3\)$/);
  rejects(() => parseLlamaConfig({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }), /missing field "rope_scaling\.low_freq_factor"/);
  rejects(() => parseLlamaConfig({ ...base, model_type: "gpt2" }), /not a Llama model/);
  rejects(() => parseLlamaConfig({ ...base, num_key_value_heads: 3 }), /not a multiple of num_key_value_heads 3/);
  rejects(() => parseLlamaConfig({ ...base, hidden_size: "64" }), /field "hidden_size" is "64", expected an integer > 0/);
  rejects(() => parseLlamaConfig({ ...base, vocab_size: undefined }), /missing field "vocab_size"/);
  rejects(() => parseLlamaConfig({ ...base, hidden_act: "gelu" }), /hidden_act "gelu" is not supported/);
  rejects(() => parseLlamaConfig({ ...base, attention_bias: true }), /attention_bias true is not supported/);
});

test("malformed checkpoint directories give one-line errors naming the file", () => {
  let d = copyFixture();
  rmSync(join(d, "config.json"));
  rejects(() => openLlamaCheckpoint(d), /config\.json: missing/);

  d = copyFixture();
  writeFileSync(join(d, "config.json"), "{ hidden_size: 64");
  rejects(() => openLlamaCheckpoint(d), /config\.json: not valid JSON/);

  d = copyFixture();
  rmSync(join(d, "model.safetensors.index.json"));
  rejects(() => openLlamaCheckpoint(d), /no model\.safetensors or model\.safetensors\.index\.json/);

  d = copyFixture();
  writeFileSync(join(d, "model.safetensors.index.json"), "[1, 2");
  rejects(() => openLlamaCheckpoint(d), /model\.safetensors\.index\.json: not valid JSON/);

  d = copyFixture();
  rmSync(join(d, "model-00002-of-00003.safetensors"));
  rejects(() => openLlamaCheckpoint(d), /model-00002-of-00003\.safetensors: missing \(model\.safetensors\.index\.json lists it for tensor "model\.layers\.1\./);

  d = copyFixture();
  editJson(join(d, "model.safetensors.index.json"), (o) => { (o.weight_map as Record<string, string>)["model.norm.weight"] = SHARD1; });
  rejects(() => openLlamaCheckpoint(d), new RegExp(`${SHARD1}: has no tensor "model\\.norm\\.weight", which model\\.safetensors\\.index\\.json places in this shard`));

  d = copyFixture();
  editJson(join(d, "model.safetensors.index.json"), (o) => { (o.weight_map as Record<string, string>)["model.norm.weight"] = "../x.safetensors"; });
  rejects(() => openLlamaCheckpoint(d), /weight_map\["model\.norm\.weight"\] is "\.\.\/x\.safetensors", expected a shard file name/);

  d = copyFixture();
  editJson(join(d, "model.safetensors.index.json"), (o) => { delete (o.weight_map as Record<string, string>)["model.layers.2.mlp.down_proj.weight"]; });
  rejects(() => openLlamaCheckpoint(d), /missing tensor "model\.layers\.2\.mlp\.down_proj\.weight" \(expected shape \[64,160\]/);

  d = copyFixture();
  editJson(join(d, "config.json"), (o) => { o.intermediate_size = 128; });
  rejects(() => openLlamaCheckpoint(d), new RegExp(`${SHARD1}: tensor "model\\.layers\\.0\\.mlp\\.gate_proj\\.weight" has shape \\[160,64\\], expected \\[128,64\\] from config\\.json`));

  d = copyFixture();
  editJson(join(d, "config.json"), (o) => { o.num_hidden_layers = 2; });
  rejects(() => openLlamaCheckpoint(d), /unexpected tensor "model\.layers\.2\..*\(not part of a 2-layer Llama per config\.json\)/);

  d = copyFixture();
  const shard = join(d, SHARD1);
  truncateSync(shard, statSync(shard).size - 10);
  rejects(() => openLlamaCheckpoint(d), new RegExp(`${SHARD1}: .*data buffer`));
});

test("dtypes: F32/F16/BF16 load, anything else is rejected; stray inv_freq ignored, biases refused", () => {
  const d = tmpDir();
  writeTinyLlama(d, { dtype: "F32", layers: 1 });
  const file = join(d, "model.safetensors");
  const bytes = readFileSync(file);
  const at = bytes.indexOf('"dtype":"F32"');
  bytes.write('"dtype":"I32"', at); // same size, so the header stays valid
  writeFileSync(file, bytes);
  rejects(() => openLlamaCheckpoint(d), /model\.safetensors: tensor "[^"]+" has dtype I32, expected one of BF16, F16, F32/);

  // A single-file checkpoint rewritten with extra tensors.
  const e = tmpDir();
  writeTinyLlama(e, { dtype: "F16", layers: 1 });
  const ck = openLlamaCheckpoint(e);
  const t = new Map<string, { shape: number[]; data: Float32Array }>();
  const names = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", ...["input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"].map((x) => `model.layers.0.${x}.weight`)];
  for (const n of names) t.set(n, { shape: ck.shape(n), data: ck.read(n) });
  t.set("model.layers.0.self_attn.rotary_emb.inv_freq", { shape: [4], data: new Float32Array(4) });
  writeSafetensorsAs(join(e, "model.safetensors"), t, "F16");
  assert.equal(openLlamaCheckpoint(e).has("model.layers.0.self_attn.rotary_emb.inv_freq"), true);
  t.set("model.layers.0.self_attn.q_proj.bias", { shape: [32], data: new Float32Array(32) });
  writeSafetensorsAs(join(e, "model.safetensors"), t, "F16");
  rejects(() => openLlamaCheckpoint(e), /unexpected tensor "model\.layers\.0\.self_attn\.q_proj\.bias"/);
});

test("writeTinyLlama: sharded = single file, deltas touch only projections, tied models omit lm_head", () => {
  const a = tmpDir(), b = tmpDir(), c = tmpDir();
  writeTinyLlama(a, { seed: 9, shards: 1, kvHeads: 2 });
  writeTinyLlama(b, { seed: 9, shards: 3, kvHeads: 2 });
  writeTinyLlama(c, { seed: 9, shards: 1, kvHeads: 2, delta: { seed: 1, scale: 0.05 } });
  const A = openLlamaCheckpoint(a), B = openLlamaCheckpoint(b), C = openLlamaCheckpoint(c);
  assert.equal(B.files.length, 3);
  assert.ok(readFileSync(join(b, "model.safetensors.index.json"), "utf8").includes("model-00003-of-00003.safetensors"));
  for (const n of ["model.embed_tokens.weight", "model.layers.1.mlp.down_proj.weight", "lm_head.weight"]) assert.deepEqual(A.read(n), B.read(n));
  assert.deepEqual(A.read("model.layers.0.input_layernorm.weight"), C.read("model.layers.0.input_layernorm.weight"));
  assert.notDeepEqual(A.read("model.layers.0.mlp.up_proj.weight"), C.read("model.layers.0.mlp.up_proj.weight"));
  const t = tmpDir();
  writeTinyLlama(t, { tie: true, tokenizer: false });
  const T = openLlamaCheckpoint(t);
  assert.equal(T.has("lm_head.weight"), false);
  rejects(() => loadTokenizer(t), /tokenizer\.json: missing \(tokenization needs the model's tokenizer\.json\)/);
});

test("BF16 and F16 encoders round to nearest even and invert the decoders", () => {
  const halves = new Uint16Array(65536).map((_, i) => i);
  const asF16 = decodeToF32("F16", new Uint8Array(halves.buffer), 65536, false);
  const back = f32ToF16(asF16);
  for (let i = 0; i < 65536; i++) {
    const nan = (i & 0x7c00) === 0x7c00 && (i & 0x3ff) !== 0;
    if (nan) assert.ok((back[i]! & 0x7c00) === 0x7c00 && (back[i]! & 0x3ff) !== 0, `NaN ${i}`);
    else assert.equal(back[i], i, `half 0x${i.toString(16)}`);
  }
  const asBf = decodeToF32("BF16", new Uint8Array(halves.buffer), 65536, false);
  const bf = f32ToBf16(asBf);
  for (let i = 0; i < 65536; i++) if (!Number.isNaN(asBf[i])) assert.equal(bf[i], i);
  // Ties: 1 + 2^-8 lies halfway between bf16 1 and 1 + 2^-7 → even (1); 1 + 3·2^-8 → 1 + 2^-6.
  assert.deepEqual([...f32ToBf16(Float32Array.of(1 + 2 ** -8, 1 + 3 * 2 ** -8, 65520, 2 ** -25, 3 * 2 ** -26))], [0x3f80, 0x3f82, 0x4780, 0x3300, 0x3340]);
  assert.deepEqual([...f32ToF16(Float32Array.of(1 + 2 ** -11, 65520, 65519, 2 ** -25, 3 * 2 ** -26, -0))], [0x3c00, 0x7c00, 0x7bff, 0x0000, 0x0001, 0x8000]);
});

test("tokenizer: ids match the reference BPE, decode round-trips, chat template renders", () => {
  const ref = loadFixtureReference();
  const tok = loadTokenizer(FIXTURE);
  assert.equal(tok.hasChatTemplate, true);
  assert.deepEqual([tok.bosToken, tok.eosToken, tok.tokenToId("▁the")], ["<s>", "</s>", 287]);
  for (const c of ref.tokenizer_cases) {
    assert.deepEqual(tok.encode(c.text), c.ids, c.text);
    assert.equal(tok.decode(c.ids, { skipSpecialTokens: true }), c.text);
  }
  assert.equal(tok.applyChatTemplate([{ role: "user", content: ref.chat.user }]), ref.chat.rendered);
  assert.deepEqual(tok.encode(ref.chat.user, { chat: true }), ref.chat.ids);
  assert.equal(tok.applyChatTemplate([{ role: "system", content: "be nice" }, { role: "user", content: "hi" }]), "<s>be nice\n[user] hi</s>[assistant]");
  assert.deepEqual(tok.encode("hi", { chat: true, system: "be nice" }).slice(0, 1), [1]);

  const d = copyFixture();
  editJson(join(d, "tokenizer_config.json"), (o) => { delete o.chat_template; });
  const plain = loadTokenizer(d);
  assert.equal(plain.hasChatTemplate, false);
  rejects(() => plain.encode("hi", { chat: true }), /has no chat_template/);
  writeFileSync(join(d, "chat_template.jinja"), "{{ bos_token }}{{ messages[0]['content'] }}{% if add_generation_prompt %}!{% endif %}");
  assert.equal(loadTokenizer(d).applyChatTemplate([{ role: "user", content: "hi" }]), "<s>hi!");
  editJson(join(d, "tokenizer_config.json"), (o) => { o.chat_template = "{% for m in messages %}"; });
  rejects(() => loadTokenizer(d), /tokenizer_config\.json: chat_template does not parse/);
  writeFileSync(join(d, "tokenizer.json"), "{");
  rejects(() => loadTokenizer(d), /tokenizer\.json: not valid JSON/);
});
