/** Shared helpers for the Llama tests (not a test file): the PyTorch fixture and tiny random checkpoints. */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../../src/engine/rng.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { llamaTensorShapes, parseLlamaConfig } from "../../src/llm/config.js";
import { writeSafetensorsAs, type TypedTensor, type WeightDtype } from "../../src/llm/load-encode.js";
import { repoRoot } from "../helpers.js";

/** The committed fixture made by scripts/make_llama_fixture.py (3 layers, GQA, BF16, 3 shards). */
export const FIXTURE = join(repoRoot, "test", "fixtures", "llama-tiny");

export interface FixtureReference {
  prompts: number[][];
  hooks: string[];
  llama3_rope_scaling: Record<string, unknown>;
  tokenizer_cases: { text: string; ids: number[] }[];
  chat: { user: string; rendered: string; ids: number[] };
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

export function loadFixtureReference(): FixtureReference {
  const meta = JSON.parse(readFileSync(join(FIXTURE, "reference.json"), "utf8")) as Omit<FixtureReference, "tensors">;
  return { ...meta, tensors: readSafetensors(join(FIXTURE, "reference.safetensors")).tensors };
}

export function tmpDir(prefix = "nullspace-llm-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A writable copy of the fixture checkpoint (to corrupt in tests). */
export function copyFixture(): string {
  const dir = tmpDir();
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

export interface TinyLlamaOptions {
  seed?: number;
  layers?: number;
  hidden?: number;
  intermediate?: number;
  heads?: number;
  kvHeads?: number;
  /** Default 300, the fixture tokenizer's vocabulary. */
  vocab?: number;
  /** 1: model.safetensors; more: model-0000i-of-0000n.safetensors + index. */
  shards?: number;
  dtype?: WeightDtype;
  tie?: boolean;
  ropeTheta?: number;
  maxPositions?: number;
  /** Copy the fixture's tokenizer.json / tokenizer_config.json (default: when vocab >= 300). */
  tokenizer?: boolean;
  /**
   * Adds scale·N(0, 1/fan_in) noise from its own seed to the tensors `only` selects (default: every projection
   * matrix). Same `seed` + a delta gives a "chat" model of a "base" one: ΔW is exactly the noise (before rounding).
   */
  delta?: { seed: number; scale: number; only?: (name: string) => boolean };
}

/**
 * Writes a random Llama checkpoint in Hugging Face layout to `dir` (created if needed) and returns its config.json
 * object. Weights: embeddings N(0, 1), projections N(0, 1/fan_in), norms 1 + N(0, 0.1²); deterministic per seed.
 */
export function writeTinyLlama(dir: string, o: TinyLlamaOptions = {}): Record<string, unknown> {
  const hidden = o.hidden ?? 32, heads = o.heads ?? 4;
  const cfg: Record<string, unknown> = {
    architectures: ["LlamaForCausalLM"], model_type: "llama", hidden_size: hidden, intermediate_size: o.intermediate ?? 80,
    num_hidden_layers: o.layers ?? 2, num_attention_heads: heads, num_key_value_heads: o.kvHeads ?? heads,
    rms_norm_eps: 1e-5, rope_theta: o.ropeTheta ?? 10000, max_position_embeddings: o.maxPositions ?? 256,
    vocab_size: o.vocab ?? 300, tie_word_embeddings: o.tie ?? false, hidden_act: "silu", bos_token_id: 1, eos_token_id: 2,
    torch_dtype: { BF16: "bfloat16", F16: "float16", F32: "float32" }[o.dtype ?? "BF16"],
  };
  const shapes = llamaTensorShapes(parseLlamaConfig(cfg));
  const rng = new Rng(o.seed ?? 0, 11);
  const drng = o.delta ? new Rng(o.delta.seed, 12) : null;
  const isProj = (n: string) => /_proj\.weight$/.test(n);
  const tensors = new Map<string, TypedTensor>();
  for (const [name, shape] of shapes) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length === 1) rng.fillNormal(data, 0.1, 1);
    else rng.fillNormal(data, name.includes("embed_tokens") ? 1 : 1 / Math.sqrt(shape[1]!));
    if (drng && (o.delta!.only ?? isProj)(name)) {
      const std = o.delta!.scale / Math.sqrt(shape.length === 2 ? shape[1]! : 1);
      for (let i = 0; i < data.length; i++) data[i]! += std * drng.normal();
    }
    tensors.set(name, { shape, data });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "config.json"), JSON.stringify(cfg, null, 2));
  writeShards(dir, tensors, o.shards ?? 1, o.dtype ?? "BF16");
  if (o.tokenizer ?? (cfg.vocab_size as number) >= 300) {
    for (const f of ["tokenizer.json", "tokenizer_config.json"]) copyFileSync(join(FIXTURE, f), join(dir, f));
  }
  return cfg;
}

/** Splits tensors (in order) into `n` shards of similar byte size, with the index HF writes. */
function writeShards(dir: string, tensors: Map<string, TypedTensor>, n: number, dtype: WeightDtype): void {
  if (n === 1) {
    writeSafetensorsAs(join(dir, "model.safetensors"), tensors, dtype, { format: "pt" });
    return;
  }
  const entries = [...tensors];
  const total = entries.reduce((a, [, t]) => a + t.data.length, 0);
  const groups: [string, TypedTensor][][] = Array.from({ length: n }, () => []);
  let acc = 0;
  for (const e of entries) {
    groups[Math.min(n - 1, Math.floor((acc / total) * n))]!.push(e);
    acc += e[1].data.length;
  }
  const nonEmpty = groups.filter((g) => g.length > 0); // a big embedding can swallow a share
  const weightMap: Record<string, string> = {};
  let bytes = 0;
  nonEmpty.forEach((g, i) => {
    const file = `model-${String(i + 1).padStart(5, "0")}-of-${String(nonEmpty.length).padStart(5, "0")}.safetensors`;
    bytes += writeSafetensorsAs(join(dir, file), new Map(g), dtype, { format: "pt" });
    for (const [name] of g) weightMap[name] = file;
  });
  writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: { total_size: bytes }, weight_map: weightMap }, null, 2));
}

/** max |a − b| / max(1, max |b|): the error measure of the parity tests. */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let err = 0, scale = 1;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / scale;
}
