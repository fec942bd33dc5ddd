/**
 * Pre-training + instruction tuning (one run, as in the reference): the curriculum mixes pure PCFG language
 * modelling with full instructions, first outputs and second outputs, over the configured PCFGs.
 */
import { pretrainBatch } from "../data/batch.js";
import { PretrainSampler } from "../data/pretrain.js";
import { evaluatePretrain } from "../eval/pretrain-eval.js";
import { writeJsonAtomic } from "../io/atomic.js";
import { validateGPTConfig } from "../model/config.js";
import { GPT } from "../model/gpt.js";
import { maskedTargets, meanCrossEntropy } from "../model/loss.js";
import { train, type TrainSummary } from "../train/trainer.js";
import { openRun } from "./common.js";
import { validateDataConfig, validateTrainConfig, type PretrainRunConfig } from "./presets.js";

export interface PretrainOptions {
  out: string;
  resume: boolean;
  quiet?: boolean;
  onCheckpoint?: (step: number) => void;
}

export function checkPretrainConfig(cfg: PretrainRunConfig): void {
  validateGPTConfig(cfg.model, "model");
  validateDataConfig(cfg.data, cfg.model.block_size);
  validateTrainConfig(cfg.train);
}

export function pretrainSampler(cfg: PretrainRunConfig): PretrainSampler {
  const [min, max] = cfg.data.text_length;
  return new PretrainSampler(
    { seed: cfg.data.seed, split: "train", pcfgs: cfg.data.pcfgs, textLength: { min, max } },
    { curriculum: { maxIters: cfg.train.max_iters, holdIters: Math.round(cfg.data.curriculum_hold * cfg.train.max_iters) }, exProb: cfg.data.ex_prob },
  );
}

export function runPretrain(cfg: PretrainRunConfig, o: PretrainOptions): TrainSummary & { model: GPT } {
  checkPretrainConfig(cfg);
  const run = openRun(o.out, cfg, o.resume);
  const model = new GPT(cfg.model, undefined, cfg.seed);
  const sampler = pretrainSampler(cfg);
  const summary = train({
    run, model, config: cfg.train, resume: o.resume, label: "pretrain", quiet: o.quiet, onCheckpoint: o.onCheckpoint,
    task: {
      loss(step) {
        const { batch } = pretrainBatch(sampler, step, cfg.train.batch_size, cfg.data.per_batch_length);
        const logits = model.forward({ tokens: batch.x, B: batch.B, T: batch.T }); // [B, T, V]
        return { loss: meanCrossEntropy(logits, maskedTargets(batch.y, batch.mask)), tokens: batch.B * batch.T };
      },
      evaluate: () => evaluatePretrain(model, cfg),
    },
  });
  writeJsonAtomic(run.path("summary.json"), { stage: "pretrain", steps: summary.steps, wall_seconds: summary.wallSeconds, tokens_per_s: summary.tokensPerSecond, final_loss: summary.finalLoss, eval: summary.lastEval, parameters: model.numParameters });
  return { ...summary, model };
}
