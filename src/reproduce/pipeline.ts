/**
 * `nullspace reproduce`: data → pre-training → 6 safety fine-tuning runs (3 methods × η_M, η_S) → evaluation →
 * attacks → analyses → report, for each seed. Stages are cached by a hash of their resolved config and inputs
 * (see stages.ts): re-running skips finished stages and resumes an interrupted one.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { applyOverrides } from "../config/overrides.js";
import { evaluateRun } from "../eval/run-eval.js";
import type { SafetyEval } from "../eval/safety-eval.js";
import { METHODS, type Method } from "../safety/losses.js";
import { pretrainPreset, type PresetName } from "../stages/presets.js";
import { runPretrain } from "../stages/pretrain.js";
import { overrideSafetyConfig, resolveSafetyConfig, runSafety } from "../stages/safety.js";
import { safetyPreset, type LrRegime } from "../stages/safety-presets.js";
import { markDone, markRunning, prepareStage, stageHash, type StageRecord } from "./stages.js";

export interface ReproduceOptions {
  preset: PresetName;
  seeds: number[];
  out: string;
  /** --set overrides for the pre-training config (keys as in `nullspace pretrain`). */
  pretrainSets: string[];
  /** --set overrides for every safety run. */
  safetySets: string[];
  quiet?: boolean;
  /** Called before each stage with its 1-based index, the total and a label (overall progress). */
  onStage?: (i: number, total: number, label: string, state: "done" | "resume" | "fresh") => void;
}

export interface StageTiming {
  seed: number;
  stage: string;
  seconds: number;
  cached: boolean;
}

export interface SeedResult {
  seed: number;
  dirs: Record<string, string>;
  evaluations: Record<string, SafetyEval>;
}

export const SAFETY_RUNS: { method: Method; regime: LrRegime }[] = (["M", "S"] as LrRegime[]).flatMap((regime) => METHODS.map((method) => ({ method, regime })));

/** Runs `body` as a cached stage in `dir` (skipped when done, resumed when interrupted); records its timing. */
export async function runStageAsync(dir: string, name: string, hash: string, body: (resume: boolean) => Promise<void>, timings: StageTiming[], seed: number, note?: (s: "done" | "resume" | "fresh") => void): Promise<StageRecord> {
  const { state, record } = prepareStage(dir, name, hash);
  note?.(state);
  if (state === "done" && record) {
    timings.push({ seed, stage: name, seconds: record.wall_seconds ?? 0, cached: true });
    return record;
  }
  mkdirSync(dir, { recursive: true });
  const rec = markRunning(dir, name, hash, record);
  const t0 = Date.now();
  await body(state === "resume");
  const done = markDone(dir, rec, (Date.now() - t0) / 1000);
  timings.push({ seed, stage: name, seconds: done.wall_seconds ?? 0, cached: false });
  return done;
}

export async function trainingStages(o: ReproduceOptions, seed: number, timings: StageTiming[], counter: { i: number; total: number }): Promise<SeedResult> {
  const root = join(o.out, `seed-${seed}`);
  const dirs: Record<string, string> = {};
  const base = pretrainPreset(o.preset);
  const pcfg = applyOverrides({ ...base, seed, data: { ...base.data, seed } }, o.pretrainSets);
  const ptDir = join(root, "pretrain");
  const ptHash = stageHash(pcfg);
  const next = (label: string) => (s: "done" | "resume" | "fresh") => o.onStage?.(++counter.i, counter.total, `seed ${seed}: ${label}`, s);
  await runStageAsync(ptDir, "pretrain", ptHash, async (resume) => void runPretrain(pcfg, { out: ptDir, resume, quiet: o.quiet }), timings, seed, next("pretrain"));
  dirs.pretrain = ptDir;
  for (const { method, regime } of SAFETY_RUNS) {
    const name = `${method}_${regime}`;
    const dir = join(root, name);
    const sp = safetyPreset(o.preset);
    const cfg = overrideSafetyConfig(resolveSafetyConfig({ ...sp, seed, data: { ...sp.data, seed } }, method, regime, ptDir), o.safetySets);
    await runStageAsync(dir, name, stageHash(cfg, [ptHash]), async (resume) => void runSafety(cfg, { out: dir, resume, quiet: o.quiet }), timings, seed, next(name));
    dirs[name] = dir;
  }
  const evaluations: Record<string, SafetyEval> = {};
  const n = safetyPreset(o.preset).eval.n;
  const t0 = Date.now();
  for (const [name, dir] of Object.entries(dirs)) evaluations[name] = evaluateRun(dir, n);
  timings.push({ seed, stage: "evaluate", seconds: (Date.now() - t0) / 1000, cached: false });
  return { seed, dirs, evaluations };
}
