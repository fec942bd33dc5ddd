/**
 * Safety fine-tuning (SSFT, DPO, unlearning) from any checkpoint, with the generic trainer. Per step a whole
 * batch is unsafe (chosen = refusal, rejected = compliance) with probability p_unsafe, else safe (chosen = the
 * correct answer, rejected = a refusal), as in the reference.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { collate, safetyBatch, safetyQuads, type Batch } from "../data/batch.js";
import { Rng } from "../engine/rng.js";
import { SafetySampler } from "../data/safety-data.js";
import type { DataSpec } from "../data/sample.js";
import { evaluateSafety, type SafetyEval } from "../eval/safety-eval.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { evalCacheKey } from "../eval/run-eval.js";
import { loadModel, readModelConfig, saveModel } from "../model/checkpoint.js";
import { validateGPTConfig } from "../model/config.js";
import type { GPT } from "../model/gpt.js";
import { checkLossConfig, safetyLoss, METHODS, type Method } from "../safety/losses.js";
import { train, type TrainSummary } from "../train/trainer.js";
import { UserError } from "../util/errors.js";
import { applyOverrides } from "../config/overrides.js";
import { firstDifference, openRun } from "./common.js";
import { validateDataConfig, validateTrainConfig } from "./presets.js";
import type { LrRegime, SafetyRunConfig } from "./safety-presets.js";

export function checkMethod(m: string): Method {
  if (!(METHODS as readonly string[]).includes(m)) throw new UserError(`unknown method "${m}"; valid methods: ${METHODS.join(", ")}`);
  return m as Method;
}

export function checkRegime(r: string): LrRegime {
  if (r !== "M" && r !== "S") throw new UserError(`--lr must be M (medium) or S (small), got "${r}"`);
  return r;
}

/** The data spec of a run config (split set by the caller). */
export function dataSpec(d: { seed: number; pcfgs: number[]; text_length: number[] }, split: "train" | "test"): DataSpec {
  return { seed: d.seed, split, pcfgs: d.pcfgs, textLength: { min: d.text_length[0], max: d.text_length[1] } };
}

/** Fills the method, regime, source run and its model config into a preset; the LR comes from the regime. */
export function resolveSafetyConfig(base: Omit<SafetyRunConfig, "method" | "lr_regime" | "from" | "model">, method: Method, regime: LrRegime, from: string): SafetyRunConfig {
  if (!existsSync(join(from, "model.safetensors"))) throw new UserError(`--from ${from}: no model.safetensors there (run \`nullspace pretrain\` first)`);
  const model = readModelConfig(from);
  const lr = base.lrs[regime];
  return { ...base, method, lr_regime: regime, from, model, train: { ...base.train, lr, min_lr: lr / 100 } };
}

/**
 * Applies --set overrides to a resolved config. The learning rate follows the regime (`lrs.M` / `lrs.S`), so an
 * override of `lrs.*` moves `train.lr` (and `train.min_lr` = lr/100) unless those are set explicitly.
 */
export function overrideSafetyConfig(cfg: SafetyRunConfig, sets: readonly string[]): SafetyRunConfig {
  const out = applyOverrides(cfg, sets, { "data.p_unsafe_by_category": { safe: 0, id_mg: 0 } });
  const has = (k: string) => sets.some((s) => s.trim().startsWith(`${k}=`));
  const lr = has("train.lr") ? out.train.lr : out.lrs[out.lr_regime];
  return { ...out, train: { ...out.train, lr, min_lr: has("train.min_lr") ? out.train.min_lr : lr / 100 } };
}

export function checkSafetyConfig(cfg: SafetyRunConfig): void {
  validateGPTConfig(cfg.model, "model");
  validateDataConfig(cfg.data, cfg.model.block_size);
  validateTrainConfig(cfg.train);
  checkMethod(cfg.method);
  for (const m of METHODS) if (!(cfg.data.p_unsafe[m] >= 0 && cfg.data.p_unsafe[m] <= 1)) throw new UserError(`data.p_unsafe.${m} must be in [0, 1]`);
  if (!(cfg.data.safe_branch_prob >= 0 && cfg.data.safe_branch_prob <= 1)) throw new UserError("data.safe_branch_prob must be in [0, 1]");
  checkLossConfig(cfg.loss);
  if (cfg.data.mix !== "batch" && cfg.data.mix !== "sample") throw new UserError(`data.mix must be "batch" or "sample", got ${JSON.stringify(cfg.data.mix)}`);
  const byCat = cfg.data.p_unsafe_by_category;
  if (byCat !== null) {
    if (cfg.data.mix !== "sample") throw new UserError(`data.p_unsafe_by_category needs data.mix = "sample" (a whole-batch draw has no per-row category)`);
    for (const k of ["safe", "id_mg"] as const) if (!(byCat[k] >= 0 && byCat[k] <= 1)) throw new UserError(`data.p_unsafe_by_category.${k} must be in [0, 1], got ${byCat[k]}`);
  }
}

export interface SafetyOptions {
  out: string;
  resume: boolean;
  quiet?: boolean;
  onCheckpoint?: (step: number) => void;
}

/** Flattens the headline of a SafetyEval into metrics.jsonl-friendly scalars. */
export function headlineMetrics(e: SafetyEval): Record<string, number> {
  const m: Record<string, number> = { instruct: e.headline.instruct.rate, null: e.headline.null.rate, null_safe_branch: e.headline.null_safe_branch.rate, null_unsafe_branch: e.headline.null_unsafe_branch.rate };
  for (const [k, v] of Object.entries(e.headline.asr)) m[`asr/${k}`] = v.rate;
  return m;
}

/**
 * The (chosen, rejected) batches of one step: refusal vs compliance for unsafe rows, answer vs refusal for safe
 * ones. With mix "batch" the whole batch is one kind; with "sample" each row draws its own kind.
 */
export function pairBatch(sampler: SafetySampler, step: number, cfg: SafetyRunConfig, pUnsafe: number): { chosen: Batch; rejected: Batch; unsafeShare: number } {
  const rng = new Rng(cfg.seed ^ 0x5afe, step);
  if (cfg.data.mix === "batch") {
    const b = safetyBatch(sampler, step, cfg.train.batch_size, cfg.data.per_batch_length);
    const unsafe = rng.uniform() < pUnsafe;
    return unsafe ? { chosen: b.unsafeRefusal, rejected: b.unsafeCompliant, unsafeShare: 1 } : { chosen: b.safe, rejected: b.safeRefusal, unsafeShare: 0 };
  }
  const quads = safetyQuads(sampler, step, cfg.train.batch_size, cfg.data.per_batch_length);
  const byCat = cfg.data.p_unsafe_by_category;
  const unsafe = quads.map((q) => rng.uniform() < (byCat ? (q.category === "id_mg" ? byCat.id_mg : byCat.safe) : pUnsafe));
  const Ls = quads.map((q) => q.L);
  const chosen = collate(quads.map((q, j) => (unsafe[j] ? q.unsafeRefusal : q.safe)), Ls);
  const rejected = collate(quads.map((q, j) => (unsafe[j] ? q.unsafeCompliant : q.safeRefusal)), Ls);
  return { chosen, rejected, unsafeShare: unsafe.filter(Boolean).length / quads.length };
}

export function runSafety(cfg: SafetyRunConfig, o: SafetyOptions): TrainSummary & { model: GPT; evaluation: SafetyEval | null } {
  checkSafetyConfig(cfg);
  const run = openRun(o.out, cfg, o.resume);
  const model = loadModel(cfg.from);
  const diff = firstDifference(model.config, cfg.model);
  if (diff) throw new UserError(`--from ${cfg.from}: its model config differs from the run's at "${diff}"`);
  let ref: GPT | null = null;
  if (cfg.method === "dpo" || (cfg.method === "unlearn" && cfg.loss.unlearn_variant === "npo")) {
    ref = loadModel(cfg.from);
    ref.setRequiresGrad(false); // frozen: the reference policy never records a tape
  }
  const sampler = new SafetySampler(dataSpec(cfg.data, "train"), {
    categories: { safe: cfg.data.safe_branch_prob, id_mg: 1 - cfg.data.safe_branch_prob },
    applySecondProb: cfg.data.apply_second_prob,
  });
  const testSpec = dataSpec(cfg.data, "test");
  const pUnsafe = cfg.data.p_unsafe[cfg.method];
  let evaluation: SafetyEval | null = null;
  const summary = train({
    run, model, config: cfg.train, resume: o.resume, label: `${cfg.method}_${cfg.lr_regime}`, quiet: o.quiet,
    onCheckpoint: o.onCheckpoint,
    onStepEnd: (done) => {
      // Weight history for the ΔW-spectrum-over-training analysis.
      if (cfg.history_interval > 0 && done % cfg.history_interval === 0) saveModel(join(o.out, "checkpoints", `step-${done}`), model, { writeConfig: false });
    },
    task: {
      loss(step) {
        // The safe/unsafe draws are keyed by (seed, step): a resumed run draws the same batches.
        const { chosen, rejected, unsafeShare } = pairBatch(sampler, step, cfg, pUnsafe);
        const r = safetyLoss(cfg.method, model, ref, chosen, rejected, cfg.loss);
        return { loss: r.loss, tokens: chosen.B * chosen.T * (cfg.method === "ssft" ? 1 : 2), metrics: { ...r.metrics, unsafe_batch: unsafeShare } };
      },
      evaluate(step) {
        if (step + 1 < cfg.train.max_iters) return headlineMetrics(evaluateSafety(model, testSpec, cfg.eval.during_n, ["std_safe", "std_unsafe"]));
        evaluation = evaluateSafety(model, testSpec, cfg.eval.n);
        return headlineMetrics(evaluation);
      },
    },
  });
  // Written with the cache key of the final weights, so `nullspace evaluate` at the same n reuses it.
  if (evaluation) writeJsonAtomic(run.path("evaluation.json"), { ...(evaluation as SafetyEval), cache_key: evalCacheKey(o.out, cfg.eval.n) });
  writeJsonAtomic(run.path("summary.json"), { stage: "safety", method: cfg.method, lr_regime: cfg.lr_regime, from: cfg.from, steps: summary.steps, wall_seconds: summary.wallSeconds, tokens_per_s: summary.tokensPerSecond, final_loss: summary.finalLoss, eval: summary.lastEval });
  return { ...summary, model, evaluation };
}
