/**
 * What every sampler shares: the spec (seed, split, PCFGs, text length), the keyed random streams,
 * and drawing a text window that belongs to the requested split.
 *
 * Keys. Sample i of set S draws its PCFG from stream (seed, split, S, 0, i, 0), its per-sample
 * decisions (L, category) from (seed, split, S, pcfg, i, 1) and its text/operators from
 * (seed, split, S, pcfg, i, 2 + trial). So sample i is a pure function of (seed, split, set, pcfg, i)
 * and does not depend on which other PCFGs are in the list.
 *
 * Train/test disjointness, by construction: a text window belongs to the test split iff a hash of
 * (pcfg, letters) has its low `testShareBits` bits all zero (1/8 of windows by default), and each
 * split only accepts its own windows (redrawing with the next trial otherwise). No test text ever
 * appears in any training sample of any set, and the split is also part of every key.
 */
import { UserError } from "../util/errors.js";
import { branchName, compileGrammar, type Branch, type GrammarVariant } from "./grammars.js";
import { Expander } from "./expand.js";
import { checkPcfg, pcfgOperators, type OperatorTable } from "./operators.js";
import { hashWords, nameId, Rng } from "./rng.js";
import type { SafetyLabel } from "./safety.js";
import type { Segments } from "./sequence.js";

export type Split = "train" | "test";

export interface TextLength {
  min: number;
  max: number;
}

export interface DataSpec {
  seed: number;
  split: Split;
  /** PCFGs to draw from, uniformly per sample (default [1, 2, 3, 4]). */
  pcfgs?: readonly number[];
  /** Text length range, inclusive (default 25..35 as in the reference). */
  textLength?: TextLength;
  /** start_random per PCFG (default 150·(k−1)). */
  startRandom?: Readonly<Record<number, number>>;
  /** 1 / 2^testShareBits of text windows are reserved for the test split (default 3). */
  testShareBits?: number;
  /** Batch samplers draw one L per batch (default true; fixed-L batches train much faster). */
  lengthPerBatch?: boolean;
}

export interface ResolvedSpec {
  seed: number;
  split: Split;
  pcfgs: readonly number[];
  textLength: TextLength;
  startRandom: Readonly<Record<number, number>>;
  testShareBits: number;
  lengthPerBatch: boolean;
}

export const DEFAULT_TEXT_LENGTH: TextLength = { min: 25, max: 35 };

export function resolveSpec(spec: DataSpec): ResolvedSpec {
  if (!Number.isSafeInteger(spec.seed) || spec.seed < 0) throw new UserError(`seed must be a non-negative integer, got ${spec.seed}`);
  if (spec.split !== "train" && spec.split !== "test") throw new UserError(`split must be train or test, got ${String(spec.split)}`);
  const pcfgs = [...(spec.pcfgs ?? [1, 2, 3, 4])];
  if (pcfgs.length === 0) throw new UserError("pcfgs must list at least one PCFG");
  pcfgs.forEach(checkPcfg);
  const tl = spec.textLength ?? DEFAULT_TEXT_LENGTH;
  if (!Number.isInteger(tl.min) || !Number.isInteger(tl.max) || tl.min < 1 || tl.max < tl.min) {
    throw new UserError(`text length must satisfy 1 <= min <= max (integers), got ${tl.min}..${tl.max}`);
  }
  const bits = spec.testShareBits ?? 3;
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new UserError(`testShareBits must be 1..8, got ${bits}`);
  const startRandom: Record<number, number> = {};
  for (const k of [1, 2, 3, 4]) startRandom[k] = spec.startRandom?.[k] ?? 150 * (k - 1);
  return {
    seed: spec.seed,
    split: spec.split,
    pcfgs,
    textLength: { min: tl.min, max: tl.max },
    startRandom,
    testShareBits: bits,
    lengthPerBatch: spec.lengthPerBatch ?? true,
  };
}

/** One sequence sample with everything the trainer and the analyses need. */
export interface Sample {
  set: string;
  index: number;
  pcfg: number;
  grammar: GrammarVariant;
  L: number;
  /** Letter indices (0..29) of the text window. */
  text: Uint8Array;
  /** The 4 operator tokens of `input`. */
  ops: number[];
  /** Branch(es) the window's letters were really derived from. */
  windowBranch: Branch;
  label: SafetyLabel;
  /** Unshifted tokens the model reads, and unshifted targets (PAD = not counted). */
  input: Uint8Array;
  target: Uint8Array;
  segments: Segments;
}

const TAG_PCFG = 0;
const TAG_HEAD = 1;
const TAG_TRIAL = 2;
const TAG_BATCH = 0xfffff;
const MAX_TRIALS = 4096;

/** True when a text window is reserved for the test split. */
export function isTestText(pcfg: number, text: ArrayLike<number>, bits: number): boolean {
  const h = hashWords(0x5eed7e57 ^ pcfg, text);
  return (h & ((1 << bits) - 1)) === 0;
}

export class SamplerCore {
  readonly spec: ResolvedSpec;
  readonly set: string;
  readonly rng = new Rng();
  private readonly setId: number;
  private readonly splitId: number;
  private readonly expander = new Expander();
  /** The trial that produced the last text (callers that reject a text continue after it). */
  lastTrial = 0;

  constructor(spec: DataSpec, set: string) {
    this.spec = resolveSpec(spec);
    this.set = set;
    this.setId = nameId(set);
    this.splitId = this.spec.split === "train" ? 0 : 1;
  }

  /** Checks that every text length fits every grammar this sampler uses. */
  checkLengths(variants: readonly GrammarVariant[], slack: number): void {
    for (const v of variants) {
      for (const k of this.spec.pcfgs) {
        const g = compileGrammar(v, k);
        const most = g.minLen[g.start]! - slack;
        if (this.spec.textLength.max > most) {
          throw new UserError(`text length ${this.spec.textLength.max} is too long for the ${v} grammar (at most ${most})`);
        }
      }
    }
  }

  table(pcfg: number): OperatorTable {
    return pcfgOperators(pcfg, this.spec.startRandom[pcfg]);
  }

  pickPcfg(index: number): number {
    const p = this.spec.pcfgs;
    if (p.length === 1) return p[0]!;
    return p[this.rng.seed(this.spec.seed, this.splitId, this.setId, 0, index, TAG_PCFG).below(p.length)]!;
  }

  /** Stream for the per-sample decisions made before the text is drawn. */
  head(pcfg: number, index: number): Rng {
    return this.rng.seed(this.spec.seed, this.splitId, this.setId, pcfg, index, TAG_HEAD);
  }

  drawLength(rng: Rng): number {
    const { min, max } = this.spec.textLength;
    return min === max ? min : min + rng.below(max - min + 1);
  }

  /**
   * The text length shared by all samples of batch `batchIndex` (fixed-L batches). It depends on
   * (seed, split, batchIndex) only, so every set's batch k has the same L.
   */
  batchLength(batchIndex: number): number {
    return this.drawLength(this.rng.seed(this.spec.seed, this.splitId, 0, 0, batchIndex, TAG_BATCH));
  }

  /**
   * Draws a window of L letters of this split into `out` and returns its branch. Afterwards
   * `this.rng` continues the accepted trial's stream, for the operators.
   */
  drawText(pcfg: number, index: number, variant: GrammarVariant, L: number, slack: number, out: Uint8Array, firstTrial = 0): Branch {
    const g = compileGrammar(variant, pcfg);
    const wantTest = this.splitId === 1;
    for (let trial = firstTrial; trial < firstTrial + MAX_TRIALS; trial++) {
      this.lastTrial = trial;
      this.rng.seed(this.spec.seed, this.splitId, this.setId, pcfg, index, TAG_TRIAL + trial);
      const mask = this.expander.drawWindow(g, this.rng, L, slack, out);
      if (mask === 0) continue; // derivation too short for this L
      if (isTestText(pcfg, out, this.spec.testShareBits) !== wantTest) continue;
      return branchName(mask);
    }
    throw new UserError(`could not draw a ${this.spec.split} text of length ${L} from the ${variant} grammar of PCFG ${pcfg}`);
  }
}

/**
 * The reference's operator draw: with probability 1/2 four iid draws from `allowed`, otherwise one
 * token from `fixed` plus three iid draws, shuffled (reference-code §1.4 step 4).
 */
export function drawOps(rng: Rng, allowed: readonly number[], fixed: readonly number[], out: number[]): number[] {
  if (rng.float() < 0.5) {
    for (let k = 0; k < 4; k++) out[k] = rng.pick(allowed);
    return out;
  }
  out[0] = rng.pick(fixed);
  for (let k = 1; k < 4; k++) out[k] = rng.pick(allowed);
  for (let k = 3; k > 0; k--) {
    const j = rng.below(k + 1);
    const t = out[k]!;
    out[k] = out[j]!;
    out[j] = t;
  }
  return out;
}
