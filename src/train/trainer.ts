/**
 * The one generic trainer (nanoGPT's loop, minGPT's model-agnosticism). Stages differ only in their `TrainTask`:
 * pre-training supplies next-token cross-entropy, SSFT / DPO / unlearning supply their preference losses.
 *
 * Batches must be a pure function of the step index (the data generator is counter-based), so a resumed run
 * replays exactly the batches an uninterrupted run would have seen, and weights come out bit-identical.
 */
import { AdamW } from "../engine/optim.js";
import type { Tensor } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import { Progress } from "../util/progress.js";
import type { RunDir } from "./rundir.js";
import { lrAt, type TrainConfig } from "./schedule.js";
import { optimStep } from "./step.js";

export interface TaskLoss {
  loss: Tensor;
  /** Tokens processed by this step (for tokens/s). */
  tokens: number;
  /** Extra scalars to log (e.g. DPO's rewards/margins). */
  metrics?: Record<string, number>;
}

export interface TrainTask {
  loss(step: number): TaskLoss;
  evaluate?(step: number): Record<string, number>;
}

export interface TrainOptions {
  run: RunDir;
  model: GPT;
  config: TrainConfig;
  task: TrainTask;
  resume: boolean;
  label: string;
  quiet?: boolean;
  /** Called after a checkpoint is on disk (tests use it to simulate a kill). */
  onCheckpoint?: (step: number) => void;
  /** Called after every optimisation step with the number of completed steps (e.g. to keep weight history). */
  onStepEnd?: (done: number) => void;
}

export interface TrainSummary {
  steps: number;
  resumedFrom: number | null;
  wallSeconds: number;
  tokensPerSecond: number;
  finalLoss: number;
  lastEval: Record<string, number> | null;
}

export function train(o: TrainOptions): TrainSummary {
  const c = o.config;
  const opt = new AdamW(o.model.paramGroups(c.weight_decay), { lr: c.lr, betas: [c.beta1, c.beta2] });
  let start = 0, resumedFrom: number | null = null;
  if (o.resume && o.run.hasCheckpoint()) {
    start = o.run.loadCheckpoint(o.model, opt).step;
    resumedFrom = start;
    o.run.truncateMetrics(start - 1);
  }
  const progress = new Progress({ label: o.label, total: c.max_iters, quiet: o.quiet });
  progress.resumeAt(start);
  if (resumedFrom !== null) progress.log(`${o.label}: resuming from step ${start}`);
  const t0 = Date.now();
  let tokens = 0, lastLoss = NaN, lastEval: Record<string, number> | null = null;
  let winTokens = 0, winT = Date.now(), tokPerS = 0;
  const doEval = (step: number) => {
    if (!o.task.evaluate) return;
    lastEval = o.task.evaluate(step);
    o.run.appendMetrics({ step, eval: lastEval });
  };
  for (let step = start; step < c.max_iters; step++) {
    const lr = lrAt(step, c);
    let extra: Record<string, number> | undefined;
    let stepTokens = 0;
    const r = optimStep(o.model, opt, lr, c.grad_clip, () => {
      const l = o.task.loss(step);
      extra = l.metrics;
      stepTokens = l.tokens;
      return l.loss;
    });
    tokens += stepTokens;
    winTokens += stepTokens;
    lastLoss = r.loss;
    if (!Number.isFinite(r.loss)) throw new Error(`${o.label}: loss became ${r.loss} at step ${step} (lr ${lr}); lower the learning rate`);
    const done = step + 1;
    if (step % c.log_interval === 0 || done === c.max_iters) {
      const now = Date.now();
      tokPerS = winTokens / Math.max(1e-3, (now - winT) / 1000);
      winTokens = 0;
      winT = now;
      o.run.appendMetrics({ step, loss: r.loss, lr, grad_norm: r.gradNorm, tokens_per_s: Math.round(tokPerS), ...extra });
    }
    o.onStepEnd?.(done);
    if (c.eval_interval > 0 && done % c.eval_interval === 0 && done !== c.max_iters) doEval(step);
    if (done === c.max_iters) doEval(step);
    if ((c.ckpt_interval > 0 && done % c.ckpt_interval === 0) || done === c.max_iters) {
      o.run.saveCheckpoint(o.model, opt, { step: done, extra: {} });
      o.onCheckpoint?.(done);
    }
    progress.update(done, { loss: r.loss, lr, "tok/s": Math.round(tokPerS) });
  }
  // A resumed run that had already finished: still report its final evaluation.
  if (start >= c.max_iters && o.task.evaluate) lastEval = o.task.evaluate(c.max_iters - 1);
  const wall = (Date.now() - t0) / 1000;
  return { steps: c.max_iters, resumedFrom, wallSeconds: wall, tokensPerSecond: tokens / Math.max(wall, 1e-9), finalLoss: lastLoss, lastEval };
}
