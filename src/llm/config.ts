/**
 * Hugging Face Llama-architecture `config.json` (LlamaForCausalLM, model_type "llama"): read, validate and
 * normalise the fields the forward pass needs. Anything we would silently compute wrong (biases, another
 * activation, an unknown RoPE scaling) is rejected with a one-line error naming the field.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../util/errors.js";
import { readJsonFile } from "../io/json-file.js";
import { show } from "../io/format.js";

/** Llama-3.1 RoPE frequency scaling (`rope_scaling.rope_type == "llama3"`). */
export interface Llama3RopeScaling {
  type: "llama3";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface LlamaConfig {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  /** Grouped-query attention: each kv head serves numHeads / numKvHeads query heads. */
  numKvHeads: number;
  /** Per-head width; hidden_size / heads unless config.json says otherwise. */
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: Llama3RopeScaling | null;
  maxPositionEmbeddings: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
}

/** Reads `<dir>/config.json`. */
export function readLlamaConfig(dir: string): LlamaConfig {
  const file = join(dir, "config.json");
  if (!existsSync(file)) throw new UserError(`${file}: missing (a Hugging Face model directory needs config.json)`);
  return parseLlamaConfig(readJsonFile(file), file);
}

/** Validates a parsed config.json object; `file` names it in errors. */
export function parseLlamaConfig(raw: unknown, file = "config.json"): LlamaConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new UserError(`${file}: expected a JSON object`);
  const c = raw as Record<string, unknown>;
  const fail = (msg: string): never => { throw new UserError(`${file}: ${msg}`); };

  const archs = c.architectures;
  const modelType = c.model_type;
  const archOk = Array.isArray(archs) && archs.includes("LlamaForCausalLM");
  if (modelType !== "llama" && !archOk) {
    fail(`model_type ${show(modelType)} / architectures ${Array.isArray(archs) ? show(archs.join(",")) : show(archs)} is not a Llama model (expected model_type "llama" or LlamaForCausalLM)`);
  }
  const int = (key: string, dflt?: number): number => {
    const v = c[key] ?? dflt;
    if (v === undefined) fail(`missing field "${key}" (an integer > 0)`);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) fail(`field "${key}" is ${show(v)}, expected an integer > 0`);
    return v as number;
  };
  const num = (obj: Record<string, unknown>, key: string, where: string, dflt?: number): number => {
    const v = obj[key] ?? dflt;
    if (v === undefined) fail(`missing field "${where}${key}" (a number > 0)`);
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) fail(`field "${where}${key}" is ${show(v)}, expected a number > 0`);
    return v as number;
  };

  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  const numKvHeads = int("num_key_value_heads", numHeads);
  if (numHeads % numKvHeads !== 0) fail(`num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`);
  const headDim = c.head_dim === undefined || c.head_dim === null ? hiddenSize / numHeads : int("head_dim");
  if (!Number.isInteger(headDim)) fail(`hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads} (and no head_dim is given)`);
  if (headDim % 2 !== 0) fail(`head_dim ${headDim} must be even for rotary embeddings`);

  const act = c.hidden_act ?? "silu";
  if (act !== "silu") fail(`hidden_act ${show(act)} is not supported (expected "silu")`);
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (c[key] !== undefined && c[key] !== false) fail(`${key} ${show(c[key])} is not supported (expected false)`);
  }
  const tie = c.tie_word_embeddings ?? false;
  if (typeof tie !== "boolean") fail(`field "tie_word_embeddings" is ${show(tie)}, expected true or false`);

  // transformers ≥ 5 moves rope_theta and the scaling into `rope_parameters`; older configs keep them top-level.
  const rp = c.rope_parameters;
  const ropeObj = isObject(rp) ? rp : c;
  const ropeWhere = isObject(rp) ? "rope_parameters." : "";
  const ropeTheta = num(ropeObj, "rope_theta", ropeWhere, 10000);
  const scalingRaw = isObject(rp) ? rp : c.rope_scaling;
  const ropeScaling = parseRopeScaling(scalingRaw, isObject(rp) ? "rope_parameters" : "rope_scaling", fail, num);

  return {
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers: int("num_hidden_layers"),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: num(c, "rms_norm_eps", "", 1e-6),
    ropeTheta,
    ropeScaling,
    maxPositionEmbeddings: int("max_position_embeddings", 2048),
    vocabSize: int("vocab_size"),
    tieWordEmbeddings: tie as boolean,
  };
}

const SCALING_TYPES = ["default", "llama3"];

function parseRopeScaling(
  raw: unknown, field: string, fail: (m: string) => never,
  num: (o: Record<string, unknown>, k: string, where: string, d?: number) => number,
): Llama3RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) fail(`field "${field}" is ${show(raw)}, expected an object or null`);
  const s = raw as Record<string, unknown>;
  const type = s.rope_type ?? s.type ?? "default";
  if (type === "default") return null;
  if (type !== "llama3") fail(`${field}.rope_type ${show(type)} is not supported (expected one of ${SCALING_TYPES.join(", ")})`);
  const w = `${field}.`;
  const lowFreqFactor = num(s, "low_freq_factor", w);
  const highFreqFactor = num(s, "high_freq_factor", w);
  if (highFreqFactor <= lowFreqFactor) fail(`${w}high_freq_factor ${highFreqFactor} must exceed low_freq_factor ${lowFreqFactor}`);
  return {
    type: "llama3",
    factor: num(s, "factor", w),
    lowFreqFactor,
    highFreqFactor,
    originalMaxPositionEmbeddings: num(s, "original_max_position_embeddings", w),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Expected tensor names and shapes ([out, in] for projections, as nn.Linear stores them). */
export function llamaTensorShapes(cfg: LlamaConfig): Map<string, number[]> {
  const D = cfg.hiddenSize;
  const m = new Map<string, number[]>();
  m.set("model.embed_tokens.weight", [cfg.vocabSize, D]);
  for (let l = 0; l < cfg.numLayers; l++) {
    for (const [n, s] of layerTensorShapes(cfg, l)) m.set(n, s);
  }
  m.set("model.norm.weight", [D]);
  if (!cfg.tieWordEmbeddings) m.set("lm_head.weight", [cfg.vocabSize, D]);
  return m;
}

/** The nine tensors of decoder layer `l`. */
export function layerTensorShapes(cfg: LlamaConfig, l: number): [string, number[]][] {
  const D = cfg.hiddenSize, I = cfg.intermediateSize, hd = cfg.headDim;
  const p = `model.layers.${l}.`;
  return [
    [p + "input_layernorm.weight", [D]],
    [p + "self_attn.q_proj.weight", [cfg.numHeads * hd, D]],
    [p + "self_attn.k_proj.weight", [cfg.numKvHeads * hd, D]],
    [p + "self_attn.v_proj.weight", [cfg.numKvHeads * hd, D]],
    [p + "self_attn.o_proj.weight", [D, cfg.numHeads * hd]],
    [p + "post_attention_layernorm.weight", [D]],
    [p + "mlp.gate_proj.weight", [I, D]],
    [p + "mlp.up_proj.weight", [I, D]],
    [p + "mlp.down_proj.weight", [D, I]],
  ];
}
