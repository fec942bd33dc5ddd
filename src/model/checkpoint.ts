/**
 * Model checkpoints: `model.safetensors` (GPT-2 names, F32) + `config.json` in one directory, written atomically.
 * Loading validates everything and fails with one line naming the file and the problem.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Tensor } from "../engine/tensor.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { checkTensorSet, readSafetensors, writeSafetensors, type TensorF32 } from "../io/safetensors.js";
import { UserError } from "../util/errors.js";
import { validateGPTConfig, type GPTConfig } from "./config.js";
import { GPT } from "./gpt.js";
import { parameterShapes } from "./params.js";

export const MODEL_FILE = "model.safetensors";
export const CONFIG_FILE = "config.json";

/** Model weights as a writer-ready record. */
export function modelTensors(model: GPT): Record<string, TensorF32> {
  const out: Record<string, TensorF32> = {};
  for (const [name, t] of model.params) out[name] = { shape: t.shape, data: t.data };
  return out;
}

/**
 * Writes model.safetensors (atomically). The model config goes into the safetensors metadata too, so the weights
 * file alone is self-describing; `config.json` is written only when `writeConfig` (run directories keep their own
 * resolved run config there).
 */
export function saveModel(dir: string, model: GPT, opts: { writeConfig?: boolean; file?: string } = {}): void {
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, opts.file ?? MODEL_FILE), modelTensors(model), { format: "pt", model_config: JSON.stringify(model.config) });
  if (opts.writeConfig ?? true) writeJsonAtomic(join(dir, CONFIG_FILE), { model: model.config });
}

/** Reads the model config from `<dir>/config.json` ({ model: {...} } or a bare model config). */
export function readModelConfig(dir: string): GPTConfig {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new UserError(`${path}: not found (expected a checkpoint directory with ${MODEL_FILE} and ${CONFIG_FILE})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const obj = raw as Record<string, unknown>;
  return validateGPTConfig(obj && typeof obj === "object" && "model" in obj ? obj.model : raw, path);
}

/** Loads a checkpoint directory (or a .safetensors file whose metadata carries the config). */
export function loadModel(pathOrDir: string, opts: { file?: string } = {}): GPT {
  if (!existsSync(pathOrDir)) throw new UserError(`${pathOrDir}: no such checkpoint directory`);
  const isDir = statSync(pathOrDir).isDirectory();
  const file = isDir ? join(pathOrDir, opts.file ?? MODEL_FILE) : pathOrDir;
  if (!existsSync(file)) throw new UserError(`${file}: not found`);
  const { tensors, metadata } = readSafetensors(file);
  let cfg: GPTConfig;
  if (isDir && existsSync(join(pathOrDir, CONFIG_FILE))) cfg = readModelConfig(pathOrDir);
  else if (metadata.model_config) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(metadata.model_config);
    } catch {
      throw new UserError(`${file}: __metadata__.model_config is not valid JSON`);
    }
    cfg = validateGPTConfig(parsed, `${file} (__metadata__.model_config)`);
  } else throw new UserError(`${file}: no ${CONFIG_FILE} beside it and no model_config in its metadata`);
  // Accept DataParallel-style "module." prefixes (the authors' checkpoints) by stripping them.
  const named = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, v] of tensors) named.set(k.startsWith("module.") ? k.slice(7) : k, v);
  checkTensorSet(file, named, Object.fromEntries(parameterShapes(cfg)));
  const params = new Map<string, Tensor>();
  for (const [name, t] of named) params.set(name, new Tensor(t.data, t.shape, true));
  return new GPT(cfg, params);
}
