/**
 * Run configurations and presets. A run config is a typed object with defaults; presets replace whole values and
 * `--set key=value` overrides single fields. The resolved config is saved as the run's config.json.
 *
 * - `tiny`: seconds, for tests.
 * - `cpu`: the whole reproduction on 2 cores in ~45–70 minutes (choices justified in docs/presets.md: 6 heads of size 16
 *   because the branch-conditional refusal was seed-fragile with 3; 8,000 pre-training steps for the slower jump).
 * - `paper`: the paper's hyper-parameters (reference-code §2–4), for a big machine.
 */
import { UserError } from "../util/errors.js";
import type { GPTConfig } from "../model/config.js";
import type { TrainConfig } from "../train/schedule.js";

export type PresetName = "tiny" | "cpu" | "paper";
export const PRESETS: readonly PresetName[] = ["tiny", "cpu", "paper"];

export interface DataConfig {
  seed: number;
  pcfgs: number[];
  /** Inclusive text length range [min, max]. */
  text_length: number[];
  /** Draw one text length per batch (fixed offsets between text and outputs: much faster to learn on CPU). */
  per_batch_length: boolean;
}

export interface PretrainRunConfig {
  stage: "pretrain";
  preset: PresetName;
  seed: number;
  model: GPTConfig;
  data: DataConfig & {
    /** Probability of a constant-operator (ex1/ex2) sample. */
    ex_prob: number;
    /** The curriculum holds its start mixture for this fraction of max_iters (reference: 10k of 100k). */
    curriculum_hold: number;
  };
  train: TrainConfig;
  eval: {
    /** Test samples per (mode, PCFG) for teacher-forced metrics. */
    n: number;
    /** Test samples per PCFG for greedy generation. */
    greedy_n: number;
  };
}

function seqBlock(maxL: number): number {
  // `$ o1..o4 * text > out1 *^ out2 *^ %` has 3L + 10 tokens; the model sees 3L + 9 after the shift.
  return 3 * maxL + 9;
}

const VOCAB = 59;

export function pretrainPreset(name: PresetName): PretrainRunConfig {
  switch (name) {
    case "tiny":
      return {
        stage: "pretrain", preset: "tiny", seed: 0,
        model: { n_layer: 2, n_head: 2, n_embd: 48, vocab_size: VOCAB, block_size: seqBlock(6), block: "reference", pos: "pe" },
        data: { seed: 0, pcfgs: [1], text_length: [6, 6], per_batch_length: true, ex_prob: 0.01, curriculum_hold: 0.1 },
        train: { batch_size: 32, max_iters: 300, lr: 3e-3, min_lr: 3e-4, warmup_iters: 20, lr_decay_iters: 300, weight_decay: 1e-4, beta1: 0.9, beta2: 0.95, grad_clip: 1, log_interval: 10, eval_interval: 100, ckpt_interval: 100 },
        eval: { n: 64, greedy_n: 32 },
      };
    case "cpu":
      return {
        stage: "pretrain", preset: "cpu", seed: 0,
        model: { n_layer: 3, n_head: 6, n_embd: 96, vocab_size: VOCAB, block_size: seqBlock(16), block: "reference", pos: "pe" },
        data: { seed: 0, pcfgs: [1], text_length: [16, 16], per_batch_length: true, ex_prob: 0.01, curriculum_hold: 0.1 },
        train: { batch_size: 64, max_iters: 8000, lr: 3e-3, min_lr: 3e-5, warmup_iters: 100, lr_decay_iters: 8000, weight_decay: 1e-4, beta1: 0.9, beta2: 0.95, grad_clip: 1, log_interval: 25, eval_interval: 1000, ckpt_interval: 250 },
        eval: { n: 200, greedy_n: 200 },
      };
    case "paper":
      return {
        stage: "pretrain", preset: "paper", seed: 0,
        model: { n_layer: 6, n_head: 6, n_embd: 192, vocab_size: VOCAB, block_size: 159, block: "reference", pos: "pe" },
        data: { seed: 0, pcfgs: [1, 2, 3, 4], text_length: [25, 35], per_batch_length: false, ex_prob: 0.01, curriculum_hold: 0.1 },
        train: { batch_size: 512, max_iters: 100_000, lr: 1e-3, min_lr: 1e-5, warmup_iters: 20_000, lr_decay_iters: 80_000, weight_decay: 1e-4, beta1: 0.9, beta2: 0.95, grad_clip: 1, log_interval: 100, eval_interval: 1000, ckpt_interval: 1000 },
        eval: { n: 1000, greedy_n: 1000 },
      };
  }
}

export function checkPreset(name: string): PresetName {
  if (!(PRESETS as readonly string[]).includes(name)) throw new UserError(`unknown preset "${name}"; valid presets: ${PRESETS.join(", ")}`);
  return name as PresetName;
}

/** Cross-field checks after overrides; names the offending key. */
export function validateDataConfig(d: DataConfig, blockSize: number): void {
  const [lo, hi] = d.text_length;
  if (d.text_length.length !== 2 || !Number.isInteger(lo) || !Number.isInteger(hi) || lo < 1 || hi < lo) throw new UserError(`data.text_length must be [min, max] with 1 <= min <= max, got ${JSON.stringify(d.text_length)}`);
  if (seqBlock(hi) > blockSize) throw new UserError(`model.block_size ${blockSize} is too small for text length ${hi} (needs ${seqBlock(hi)})`);
  if (d.pcfgs.length === 0 || d.pcfgs.some((k) => ![1, 2, 3, 4].includes(k))) throw new UserError(`data.pcfgs must be a non-empty list of 1..4, got ${JSON.stringify(d.pcfgs)}`);
}

export function validateTrainConfig(t: TrainConfig, where = "train"): void {
  for (const k of ["batch_size", "max_iters", "log_interval"] as const) if (!Number.isInteger(t[k]) || t[k] < 1) throw new UserError(`${where}.${k} must be a positive integer, got ${t[k]}`);
  for (const k of ["warmup_iters", "lr_decay_iters", "eval_interval", "ckpt_interval"] as const) if (!Number.isInteger(t[k]) || t[k] < 0) throw new UserError(`${where}.${k} must be a non-negative integer, got ${t[k]}`);
  if (!(t.lr > 0) || !(t.min_lr >= 0)) throw new UserError(`${where}.lr must be > 0 and ${where}.min_lr >= 0`);
}
