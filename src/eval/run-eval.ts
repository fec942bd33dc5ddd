/**
 * Evaluating a run directory: the model, the data config it was trained with, and a cache
 * (`evaluation.json`, keyed by the weights file's size and mtime and the sample count) so tables are cheap to redo.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.js";
import { loadModel } from "../model/checkpoint.js";
import { UserError } from "../util/errors.js";
import { evaluateSafety, type SafetyEval } from "./safety-eval.js";

interface CachedEval extends SafetyEval {
  cache_key?: string;
}

/** The data spec a run was trained with (test split). */
export function runDataSpec(dir: string): { seed: number; pcfgs: number[]; textLength: { min: number; max: number } } {
  const p = join(dir, "config.json");
  if (!existsSync(p)) throw new UserError(`${dir}: not a run directory (no config.json)`);
  let cfg: any;
  try {
    cfg = JSON.parse(readFileSync(p, "utf8"));
  } catch (e) {
    throw new UserError(`${p}: not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const d = cfg?.data;
  if (!d || !Array.isArray(d.pcfgs) || !Array.isArray(d.text_length) || typeof d.seed !== "number") throw new UserError(`${p}: field "data" must hold seed, pcfgs and text_length`);
  return { seed: d.seed, pcfgs: d.pcfgs, textLength: { min: d.text_length[0], max: d.text_length[1] } };
}

/** Cache key of an evaluation: the weights file's size and mtime, and the item count. */
export function evalCacheKey(dir: string, n: number): string {
  const weights = join(dir, "model.safetensors");
  if (!existsSync(weights)) throw new UserError(`${dir}: no model.safetensors (is the run finished?)`);
  const st = statSync(weights);
  return `${st.size}:${st.mtimeMs}:${n}`;
}

export function evaluateRun(dir: string, n: number, opts: { force?: boolean } = {}): SafetyEval {
  const key = evalCacheKey(dir, n);
  const cachePath = join(dir, "evaluation.json");
  if (!opts.force && existsSync(cachePath)) {
    try {
      const cached = JSON.parse(readFileSync(cachePath, "utf8")) as CachedEval;
      if (cached.cache_key === key) return cached;
    } catch {
      /* recompute */
    }
  }
  const spec = runDataSpec(dir);
  const model = loadModel(dir);
  const e = evaluateSafety(model, { ...spec, split: "test" }, n);
  writeJsonAtomic(cachePath, { ...e, cache_key: key });
  return e;
}
