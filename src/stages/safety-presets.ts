/**
 * Safety fine-tuning configurations. The paper's schedule (reference-code §4): 10k iterations, warm-up 2k, cosine
 * to 8k, min_lr = lr/100, batch 512, η_M = 1e-4 and η_S = 1e-5; presets with fewer iterations keep the same
 * fractions. Per-batch unsafe probability: SSFT 0.2, DPO and unlearning 0.5 (README values).
 */
import type { GPTConfig } from "../model/config.js";
import { defaultLossConfig, type LossConfig, type Method } from "../safety/losses.js";
import type { TrainConfig } from "../train/schedule.js";
import type { DataConfig, PresetName } from "./presets.js";

export type LrRegime = "M" | "S";

export interface SafetyRunConfig {
  stage: "safety";
  preset: PresetName;
  seed: number;
  method: Method;
  lr_regime: LrRegime;
  /** The run directory the weights start from (instruction-tuned, or another safety run). */
  from: string;
  model: GPTConfig;
  data: DataConfig & {
    /** Per-batch probability of an unsafe batch (else a safe one), per method. */
    p_unsafe: { ssft: number; dpo: number; unlearn: number };
    /** Probability that the unsafe operators sit only in the second pair (apply_second). */
    apply_second_prob: number;
    /** Share of safe-branch text (the rest is unsafe-branch id_mg text). */
    safe_branch_prob: number;
    /**
     * How the safe/unsafe draw is made: "batch" = one draw per step for the whole batch (the reference);
     * "sample" = one draw per row, so every step contrasts safe and unsafe versions of the same rule.
     */
    mix: "batch" | "sample";
    /**
     * With mix "sample": the unsafe probability per text category instead of p_unsafe[method] — e.g. more unsafe
     * rows on unsafe-branch (id_mg) text, where refusal depends on the branch, and fewer on safe-branch text, where
     * only the always-unsafe operators are refused. null = p_unsafe[method] for every row.
     */
    p_unsafe_by_category: { safe: number; id_mg: number } | null;
  };
  loss: LossConfig;
  /** Peak learning rates of the two regimes. */
  lrs: { M: number; S: number };
  train: TrainConfig;
  eval: {
    /** Items per evaluation set for the final table. */
    n: number;
    /** Items per set for the quick evaluations during training (std_safe, std_unsafe). */
    during_n: number;
  };
  /** Keep a copy of the weights every this many steps under checkpoints/ (ΔW spectrum over training); 0 = off. */
  history_interval: number;
}

function schedule(iters: number, batch: number, intervals: { log: number; eval: number; ckpt: number }): TrainConfig {
  return {
    batch_size: batch, max_iters: iters, lr: 0, min_lr: 0,
    warmup_iters: Math.round(0.2 * iters), lr_decay_iters: Math.round(0.8 * iters),
    weight_decay: 1e-4, beta1: 0.9, beta2: 0.95, grad_clip: 1,
    log_interval: intervals.log, eval_interval: intervals.eval, ckpt_interval: intervals.ckpt,
  };
}

/** The safety config of a preset, before the method, regime and starting run are filled in. */
export function safetyPreset(name: PresetName): Omit<SafetyRunConfig, "method" | "lr_regime" | "from" | "model"> {
  const common = { stage: "safety" as const, preset: name, seed: 0, loss: { ...defaultLossConfig } };
  const data = (d: DataConfig) => ({ ...d, p_unsafe: { ssft: 0.2, dpo: 0.5, unlearn: 0.5 }, apply_second_prob: 0.2, safe_branch_prob: 0.5, mix: "batch" as const, p_unsafe_by_category: null });
  switch (name) {
    case "tiny":
      return { ...common, data: data({ seed: 0, pcfgs: [1], text_length: [6, 6], per_batch_length: true }), lrs: { M: 1e-3, S: 1e-4 }, train: schedule(60, 32, { log: 10, eval: 30, ckpt: 30 }), eval: { n: 32, during_n: 16 }, history_interval: 30 };
    case "cpu":
      // ~30× fewer samples than the paper, so the reference objectives do not converge here (docs/presets.md,
      // measured): every row draws safe/unsafe on its own, unsafe rows go mostly to unsafe-branch text where the
      // refusal is branch-conditional, and DPO / unlearning use their bounded variants (length-normalised DPO with
      // an NLL anchor; NPO). The reference losses stay one --set away.
      return {
        ...common,
        loss: { ...common.loss, dpo_variant: "length_normalized", beta: 1, rpo_alpha: 1, unlearn_variant: "npo" },
        data: { ...data({ seed: 0, pcfgs: [1], text_length: [16, 16], per_batch_length: true }), p_unsafe: { ssft: 0.4, dpo: 0.4, unlearn: 0.4 }, mix: "sample", p_unsafe_by_category: { safe: 0.2, id_mg: 0.6 } },
        lrs: { M: 1e-3, S: 1e-4 }, train: schedule(3000, 64, { log: 25, eval: 500, ckpt: 250 }), eval: { n: 200, during_n: 100 }, history_interval: 500,
      };
    case "paper":
      return { ...common, data: data({ seed: 0, pcfgs: [1, 2, 3, 4], text_length: [25, 35], per_batch_length: false }), lrs: { M: 1e-4, S: 1e-5 }, train: schedule(10_000, 512, { log: 100, eval: 1000, ckpt: 1000 }), eval: { n: 1000, during_n: 250 }, history_interval: 1000 };
  }
}
