/** Options and results shared by the continuous (soft-token) and discrete (GCG) attacks. */
import type { Rate } from "../eval/safety-eval.js";
import type { AttackNorm, SoftOptimizer } from "./embed.js";
import type { AttackGroup, SlotPositions } from "./layout.js";

export type AttackMethod = "soft" | "gcg";

export interface CommonAttackOptions {
  /** Inserted slots n (soft vectors or discrete tokens), right before EOT. */
  tokens: number;
  /** Optimisation steps (0 = just insert the initial slots). */
  steps: number;
  /** One perturbation shared by the whole set (summed loss) instead of one per item. */
  universal: boolean;
  seed: number;
  /**
   * Freeze an item once its current input already yields the compliant output (Schwinn et al.); universal attacks
   * stop when the whole set does. Off = the reference's fixed number of steps.
   */
  earlyStop: boolean;
  /** Items per forward/backward batch. */
  chunk: number;
  /** "keep" (real tokens keep their clean positions, slots between text and `>`) or "shift" (the reference). */
  positions: SlotPositions;
}

export interface SoftAttackOptions extends CommonAttackOptions {
  /** Radius of the per-vector ball; default: defaultEps(model, norm). */
  eps?: number;
  norm: AttackNorm;
  /** Default: normalized for L2 (the paper's), signed for L∞ (Schwinn's). */
  optimizer?: SoftOptimizer;
  /** Step size; default: defaultLr (2ε/steps for the natural pairings). */
  lr?: number;
  /** Base vector under δ: "zero" (the reference zeroes the attacked positions) or a token id whose wte row is used. */
  init: "zero" | number;
  /** δ starts as initStd·N(0, 1) (reference: 0.01). */
  initStd: number;
}

export interface GcgAttackOptions extends CommonAttackOptions {
  /** Candidate tokens per slot from the one-hot gradient. */
  topk: number;
  /** Random single-slot substitutions evaluated per step (per item, or for the set when universal). */
  searchWidth: number;
  /** Token every slot starts from. */
  initToken: number;
  /** Also allow the structural tokens `> $ % * # *^` (off: the prompt keeps its format). */
  allowSpecials: boolean;
}

export const softDefaults: SoftAttackOptions = { tokens: 2, steps: 10, universal: false, seed: 0, earlyStop: true, chunk: 128, positions: "keep", norm: "l2", init: "zero", initStd: 0.01 };
export const gcgDefaults: GcgAttackOptions = { tokens: 2, steps: 10, universal: false, seed: 0, earlyStop: true, chunk: 128, positions: "keep", topk: 16, searchWidth: 32, initToken: 0, allowSpecials: false };

export interface ItemResult {
  /** Index of the item in its evaluation set. */
  index: number;
  L: number;
  success: boolean;
  refused: boolean;
  tokenAcc: number;
  teacherExact: boolean;
  /** Final attack loss (mean CE of the compliant continuation). */
  loss: number;
  /** Steps this item was optimised for (< steps when it stopped early). */
  stepsUsed: number;
  /** Greedy output ids (the 2L+2 continuation tokens). */
  output: number[];
  /** GCG: the final slot tokens. */
  slotTokens?: number[];
  /** Soft: ‖δ_j‖ per slot, in the attack's norm. */
  deltaNorms?: number[];
}

export interface AttackResult {
  method: AttackMethod;
  set?: string;
  model?: string;
  n_items: number;
  tokens: number;
  steps: number;
  universal: boolean;
  seed: number;
  early_stop: boolean;
  positions: SlotPositions;
  soft?: { eps: number; eps_default: number; norm: AttackNorm; optimizer: SoftOptimizer; lr: number; init: "zero" | number; init_std: number };
  gcg?: { topk: number; search_width: number; init_token: number; allowed_tokens: number };
  /** Greedy exact match of the compliant continuation (95% Wilson interval). */
  success: Rate;
  refusal: Rate;
  /** Mean teacher-forced token accuracy of the compliant continuation. */
  token_acc: number;
  teacher_exact: number;
  /** Mean attack loss before each step, then after the last one (steps + 1 values, fewer on early stop). */
  loss_curve: number[];
  /** "shift" made sequences longer than the trained block: sinusoidal positions past it were extrapolated. */
  extended_positions: boolean;
  block_size: number;
  max_len: number;
  attack_s: number;
  score_s: number;
  /** Items / (attack + scoring seconds). */
  samples_per_s: number;
  items: ItemResult[];
}

/** An attack's result plus what the artifacts need. */
export interface AttackOutput {
  result: AttackResult;
  /** Batches as attacked; `rows` index the item list. */
  groups: AttackGroup[];
  /** Final attacked input embeddings per batch, [B, T, C] (token embeddings, positions not included). */
  embeds: Float32Array[];
  /** The same with the position ids folded in (foldPositions): for a plain forward pass with positions 0..T−1. */
  plainEmbeds: Float32Array[];
  /** Soft: δ [D, n, C] with D = items (or 1 when universal). */
  delta?: Float32Array;
  /** GCG: slot tokens [D, n]. */
  slotTokens?: Int32Array;
}
