/**
 * Throughput of every sampler on one core (`nullspace bench data --json`). The target is ≥ 50,000
 * samples/s for the training samplers, so data generation never shows up in a training profile.
 */
import { pretrainBatch, safetyBatch } from "./batch.js";
import { EVAL_SET_NAMES, EvalSampler } from "./evalsets.js";
import { PretrainSampler } from "./pretrain.js";
import type { DataSpec, TextLength } from "./sample.js";
import { GeneratorSampler, SAFETY_VARIANTS, SafetySampler } from "./safety-data.js";
import { SamplerCore } from "./sample.js";
import { Validator } from "./validator.js";

export interface BenchDataOptions {
  /** Seconds per measurement (default 0.5). */
  seconds?: number;
  textLength?: TextLength;
  seed?: number;
}

/**
 * Calls fn(i) for i = 0, 1, … for about `seconds` of wall time; returns calls per CPU-second of this
 * process, so a busy shared machine does not distort the figure (GC threads only make it lower).
 */
function rate(seconds: number, fn: (i: number) => void, unit = 1): number {
  for (let i = 0; i < 200; i++) fn(1_000_000 + i); // warm-up
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  do for (let j = 0; j < 64; j++) fn(i++);
  while ((performance.now() - t0) / 1000 < seconds);
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  return Math.round((i * unit) / cpu);
}

export async function benchData(opts: BenchDataOptions = {}): Promise<Record<string, unknown>> {
  const seconds = opts.seconds ?? 0.5;
  const textLength = opts.textLength ?? { min: 25, max: 35 };
  const train: DataSpec = { seed: opts.seed ?? 0, split: "train", textLength };
  const test: DataSpec = { ...train, split: "test" };
  const perSecond: Record<string, number> = {};

  const pre = new PretrainSampler(train);
  perSecond.pretrain = rate(seconds, (i) => pre.sample(i, 0));
  for (const mode of ["full", "comp2"] as const) {
    const s = new PretrainSampler(train, { mode });
    perSecond[`pretrain_${mode}`] = rate(seconds, (i) => s.sample(i, 0));
  }
  const preTest = new PretrainSampler(test);
  perSecond["pretrain (test split)"] = rate(seconds, (i) => preTest.sample(i, 0));
  const safety = new SafetySampler(train);
  perSecond.safety = rate(seconds, (i) => safety.sample(i));
  for (const v of SAFETY_VARIANTS) {
    const g = new GeneratorSampler(train, v);
    perSecond[v] = rate(seconds / 2, (i) => g.sample(i));
  }
  for (const name of EVAL_SET_NAMES) {
    const e = new EvalSampler({ ...test, pcfgs: [1] }, name);
    perSecond[name] = rate(seconds / 2, (i) => e.item(i));
  }
  // Batches of 64 with one L per batch, collated (samples/s).
  const fixed: DataSpec = { ...train, textLength: { min: 16, max: 16 } };
  const pb = new PretrainSampler(fixed);
  perSecond["pretrain batch64 L16"] = rate(seconds, (i) => pretrainBatch(pb, i, 64), 64);
  const sb = new SafetySampler(fixed);
  perSecond["safety batch64 L16"] = rate(seconds, (i) => safetyBatch(sb, i, 64), 64);
  // Validator: windows of length 25 from the base grammar against the safe grammar.
  const core = new SamplerCore({ ...train, pcfgs: [1] }, "bench_validator");
  const v = Validator.for("safe", 1);
  const w = new Uint8Array(25);
  const windows: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    core.drawText(1, i, "id_mg", 25, 1, w);
    windows.push(w.slice());
  }
  const validatorRate = rate(seconds, (i) => v.accepts(windows[i & 255]!));

  const trainingSamplers = ["pretrain", "safety"];
  return {
    unit: "samples per CPU-second, one thread",
    textLength,
    samplesPerSecond: perSecond,
    validatorWindowsPerSecond: validatorRate,
    target: 50_000,
    meetsTarget: trainingSamplers.every((k) => perSecond[k]! >= 50_000),
  };
}
