/**
 * Pre-training data (reference-code §3): base-PCFG text, 4 operators drawn from all 16 operator
 * tokens, and one of four modes per sample:
 *   pcfg  — language modelling on the text: loss on `*`, text and `>`; operators hidden (PAD);
 *   full  — the whole instruction: loss on `*`, text, `>`, out1, `*^`, out2, `*^`, `%`;
 *   comp1 — only the first output: the sequence stops after out1's `*^`;
 *   comp2 — the second output given the first: text and `>` hidden in x, loss on `*`, out2, `*^`, `%`.
 * The mode mixture follows the curriculum as a function of the iteration (not of a per-worker sample
 * counter, a reference bug). 1% of samples carry a constant operator `ex1`/`ex2`.
 */
import { UserError } from "../util/errors.js";
import { applyPair } from "./operators.js";
import { drawOps, SamplerCore, type DataSpec, type Sample } from "./sample.js";
import { labelInstruction } from "./safety.js";
import { baseTarget, layout, padRange, PAD_LETTER, segmentsFor } from "./sequence.js";
import { EX1, EX2, NUM_OPERATORS, tokenId } from "./vocab.js";

export type PretrainMode = "pcfg" | "full" | "comp1" | "comp2";
export const PRETRAIN_MODES: readonly PretrainMode[] = ["pcfg", "full", "comp1", "comp2"];
export type Mixture = Readonly<Record<PretrainMode, number>>;

export const MIX_START: Mixture = { pcfg: 0.5, full: 0.1, comp1: 0.2, comp2: 0.2 };
export const MIX_END: Mixture = { pcfg: 0.1, full: 0.2, comp1: 0.3, comp2: 0.4 };
/** The reference's test split: full instructions with some comp2. */
export const MIX_TEST: Mixture = { pcfg: 0, full: 0.9, comp1: 0, comp2: 0.1 };

/**
 * The curriculum: hold `start` for `holdIters`, then move linearly to `end` at `maxIters`.
 * Reference: hold 10k (warmup_iters/2) of 100k; presets with fewer iterations scale both.
 */
export interface Curriculum {
  maxIters: number;
  holdIters: number;
  start?: Mixture;
  end?: Mixture;
}

export const REFERENCE_CURRICULUM: Curriculum = { maxIters: 100_000, holdIters: 10_000 };

export function curriculumMixture(iteration: number, c: Curriculum = REFERENCE_CURRICULUM): Mixture {
  const start = c.start ?? MIX_START;
  const end = c.end ?? MIX_END;
  if (!(c.maxIters > c.holdIters) || c.holdIters < 0) throw new UserError(`curriculum needs 0 <= holdIters < maxIters, got ${c.holdIters}/${c.maxIters}`);
  const f = Math.min(1, Math.max(0, (iteration - c.holdIters) / (c.maxIters - c.holdIters)));
  const out = {} as Record<PretrainMode, number>;
  for (const m of PRETRAIN_MODES) out[m] = (1 - f) * start[m] + f * end[m]; // exact at both ends
  return out;
}

export function checkMixture(m: Mixture): void {
  let sum = 0;
  for (const k of PRETRAIN_MODES) {
    if (!(m[k] >= 0)) throw new UserError(`mixture weight ${k} must be >= 0`);
    sum += m[k];
  }
  if (Math.abs(sum - 1) > 1e-9) throw new UserError(`mixture weights must sum to 1, got ${sum}`);
}

export interface PretrainOptions {
  curriculum?: Curriculum;
  /** A fixed mixture instead of the curriculum. */
  mixture?: Mixture;
  /** Force one mode for every sample. */
  mode?: PretrainMode;
  /** Probability of a constant operator sample (default 0.01). */
  exProb?: number;
}

export interface PretrainSample extends Sample {
  mode: PretrainMode;
  /** Slot (0..3) of the constant operator, or -1. */
  exSlot: number;
}

const ALL_OPS = Array.from({ length: NUM_OPERATORS }, (_, i) => i);
const FIXED = ["(", "r4", "r3"].map(tokenId);

export class PretrainSampler {
  readonly core: SamplerCore;
  private readonly opts: PretrainOptions;
  private readonly text: Uint8Array;
  private readonly ops = [0, 0, 0, 0];

  constructor(spec: DataSpec, opts: PretrainOptions = {}) {
    this.core = new SamplerCore(spec, "pretrain");
    this.core.checkLengths(["base"], 2);
    if (opts.mixture) checkMixture(opts.mixture);
    if (opts.curriculum) curriculumMixture(0, opts.curriculum);
    this.opts = opts;
    this.text = new Uint8Array(this.core.spec.textLength.max);
  }

  mixtureAt(iteration: number): Mixture {
    if (this.opts.mixture) return this.opts.mixture;
    if (this.core.spec.split === "test") return MIX_TEST;
    return curriculumMixture(iteration, this.opts.curriculum);
  }

  /** Sample `index` at `iteration` (which sets the mode mixture); L overrides the drawn length. */
  sample(index: number, iteration = 0, L?: number): PretrainSample {
    const core = this.core;
    const pcfg = core.pickPcfg(index);
    const head = core.head(pcfg, index);
    const len = L ?? core.drawLength(head);
    const mode = this.opts.mode ?? pickMode(this.mixtureAt(iteration), head.float());
    const text = this.text.subarray(0, len);
    const windowBranch = core.drawText(pcfg, index, "base", len, 2, text);
    const rng = core.rng;
    const ops = drawOps(rng, ALL_OPS, FIXED, this.ops).slice();
    const table = core.table(pcfg);
    const out1 = applyPair(table, ops[0]!, ops[1]!, text, new Uint8Array(len));
    const out2 = applyPair(table, ops[2]!, ops[3]!, out1, new Uint8Array(len));
    let exSlot = -1;
    if (rng.float() < (this.opts.exProb ?? 0.01)) {
      // Reference: 8 equal bins → slot and ex1/ex2; the constant is not passed through later ops.
      const bin = rng.below(8);
      exSlot = bin >> 1;
      const ex = bin & 1 ? EX2 : EX1;
      ops[exSlot] = ex;
      const letter = ex === EX1 ? 0 : 1;
      if (exSlot < 2) {
        out1.fill(letter);
        out2.fill(PAD_LETTER);
      } else {
        out2.fill(letter);
      }
    }
    const full = layout(ops, text, out1, out2);
    const { input, target } = applyMode(full, mode, len);
    return {
      set: modeSetName(this.opts.mode),
      index,
      pcfg,
      grammar: "base",
      L: len,
      text: text.slice(),
      ops,
      windowBranch,
      label: labelInstruction(pcfg, windowBranch, ops),
      input,
      target,
      segments: segmentsFor(len),
      mode,
      exSlot,
    };
  }
}

function modeSetName(mode: PretrainMode | undefined): string {
  return mode ? `pretrain_${mode}` : "pretrain";
}

function pickMode(m: Mixture, u: number): PretrainMode {
  let acc = 0;
  for (const k of PRETRAIN_MODES) {
    acc += m[k];
    if (u < acc) return k;
  }
  return "comp2";
}

/** Applies a mode's input hiding, truncation and target mask to a full sequence (§3). */
export function applyMode(full: Uint8Array, mode: PretrainMode, L: number): { input: Uint8Array; target: Uint8Array } {
  switch (mode) {
    case "full":
      return { input: full, target: baseTarget(full) };
    case "pcfg": {
      const input = full.slice(0, L + 7); // through `>`; later positions would be PAD anyway
      padRange(input, 1, 5); // operators hidden
      return { input, target: baseTarget(input) };
    }
    case "comp1": {
      const input = full.slice(0, 2 * L + 8); // through out1's `*^`
      return { input, target: baseTarget(input) };
    }
    case "comp2": {
      const target = baseTarget(full);
      padRange(target, 6, 2 * L + 8); // text, `>`, out1, `*^` are context only
      const input = full.slice();
      padRange(input, 6, L + 7); // the model sees out1 but not the text
      return { input, target };
    }
  }
}

