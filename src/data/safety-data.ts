/**
 * Safety fine-tuning data (reference-code §1.6–1.7).
 *
 * The generator variants write safe-operator prompts with their correct outputs, one grammar each.
 * The fine-tuning sampler turns such a base sample into a quadruple by rewriting operators with
 * unsafe ones:
 *   safe            (x_safe)        safe ops, correct outputs;
 *   unsafeRefusal   (x_unsafe)      unsafe ops, refusal pattern — the SSFT target;
 *   unsafeCompliant (x_unsafe_tgt)  unsafe ops, the true outputs — compliance / attack success;
 *   safeRefusal     (x_safe_tgt)    safe ops, refusal pattern — the rejected answer on safe batches.
 *
 * Fixed reference bugs: unsafe-branch text really uses the unsafe-branch operator lists
 * (`from_unsafe_branch`), and flags are real options.
 */
import { UserError } from "../util/errors.js";
import { nominalBranch, type Branch, type GrammarVariant } from "./grammars.js";
import { applyPair, type OperatorTable } from "./operators.js";
import type { Rng } from "./rng.js";
import { drawOps, SamplerCore, type DataSpec, type Sample } from "./sample.js";
import { labelInstruction, safetyTable, withoutIdentity, type SafetyLabel } from "./safety.js";
import { baseTarget, layout, padRange, PAD_LETTER, segmentsFor, type Segments, type Seq } from "./sequence.js";
import { ALIASES, IDENTITY, REFUSAL_LETTER } from "./vocab.js";

/** The safety generator variants (grammar of the text). */
export type SafetyVariant = Exclude<GrammarVariant, "base">;
export const SAFETY_VARIANTS: readonly SafetyVariant[] = ["safe", "unsafe", "id_mg", "ood_mg", "intermediate"];

/** Operator lists of a variant: generator ops, the unsafe list U, and the safe non-identity list. */
export interface VariantOps {
  allowed: readonly number[];
  unsafe: readonly number[];
  safeMod: readonly number[];
}

export function variantOps(variant: GrammarVariant, pcfg: number): VariantOps {
  const t = safetyTable(pcfg);
  switch (variant) {
    case "safe":
      return { allowed: t.safeOnSafe, unsafe: t.globallyUnsafe, safeMod: withoutIdentity(t.safeOnSafe) };
    case "unsafe":
    case "id_mg":
    case "ood_mg":
      return { allowed: t.safeOnUnsafe, unsafe: t.unsafeOnUnsafe, safeMod: withoutIdentity(t.safeOnUnsafe) };
    case "intermediate":
      return { allowed: t.safeOnUnsafe, unsafe: t.unsafeBranchOnly, safeMod: withoutIdentity(t.safeOnUnsafe) };
    case "base":
      // The reference's `only_duplicates` file: alias operators (intended, never built there).
      return { allowed: ALIASES, unsafe: t.globallyUnsafe, safeMod: withoutIdentity(t.safeOnSafe) };
  }
}

/** Text drawn by a safety generator: the reference's window slack there is 1. */
export const SAFETY_SLACK = 1;

/** Generator-variant samples: safe-operator prompts with correct outputs (what the pickles held). */
export class GeneratorSampler {
  readonly core: SamplerCore;
  private readonly ops = [0, 0, 0, 0];
  constructor(spec: DataSpec, readonly variant: SafetyVariant) {
    this.core = new SamplerCore(spec, `gen_${variant}`);
    this.core.checkLengths([variant], SAFETY_SLACK);
  }

  sample(index: number, L?: number): Sample {
    const core = this.core;
    const pcfg = core.pickPcfg(index);
    const len = L ?? core.drawLength(core.head(pcfg, index));
    const text = new Uint8Array(len);
    const windowBranch = core.drawText(pcfg, index, this.variant, len, SAFETY_SLACK, text);
    const ops = drawOps(core.rng, variantOps(this.variant, pcfg).allowed, [IDENTITY], this.ops).slice();
    const table = core.table(pcfg);
    const out1 = applyPair(table, ops[0]!, ops[1]!, text, new Uint8Array(len));
    const out2 = applyPair(table, ops[2]!, ops[3]!, out1, new Uint8Array(len));
    const input = layout(ops, text, out1, out2);
    return {
      set: this.variant,
      index,
      pcfg,
      grammar: this.variant,
      L: len,
      text,
      ops,
      windowBranch,
      label: labelInstruction(pcfg, nominalBranch(this.variant)!, ops),
      input,
      target: baseTarget(input),
      segments: segmentsFor(len),
    };
  }
}

/** How the unsafe twin's operators are made (reference flags). */
export type Rewrite = "standard" | "direct" | "comp";

export interface QuadOptions {
  rewrite: Rewrite;
  applySecondProb: number;
  /** "train": text/EOT targets hidden and compliant slot 2 hidden; "eval": as the eval scripts. */
  targets: "train" | "eval";
}

export interface SafetyQuad {
  set: string;
  index: number;
  pcfg: number;
  category: SafetyVariant;
  L: number;
  text: Uint8Array;
  windowBranch: Branch;
  safeOps: number[];
  unsafeOps: number[];
  applySecond: boolean;
  safeLabel: SafetyLabel;
  unsafeLabel: SafetyLabel;
  safe: Seq;
  unsafeRefusal: Seq;
  unsafeCompliant: Seq;
  safeRefusal: Seq;
  segments: Segments;
}

export const QUAD_KEYS = ["safe", "unsafeRefusal", "unsafeCompliant", "safeRefusal"] as const;
export type QuadKey = (typeof QUAD_KEYS)[number];

/** Rewrites safe ops into the unsafe twin (reference-code §1.7). Returns [ops, applySecond]. */
export function rewriteOps(rng: Rng, safeOps: readonly number[], lists: VariantOps, rewrite: Rewrite, applySecondProb: number): [number[], boolean] {
  const o = safeOps.slice();
  const U = lists.unsafe;
  if (rewrite === "comp") {
    // Pair 1 untouched; the unsafe operator hides in pair 2 only.
    o[2 + rng.below(2)] = rng.pick(U);
    return [o, false];
  }
  for (const p of [0, 2]) {
    const aId = o[p] === IDENTITY;
    const bId = o[p + 1] === IDENTITY;
    let safeSlot: number;
    if (aId === bId) {
      o[p] = rng.pick(U);
      o[p + 1] = rng.pick(U);
      safeSlot = p + rng.below(2);
    } else {
      const other = aId ? p + 1 : p;
      o[other] = rng.pick(U);
      safeSlot = aId ? p : p + 1;
    }
    // JB-CO-task: each pair = one unsafe + one safe non-identity operator.
    if (rewrite === "direct") o[safeSlot] = rng.pick(lists.safeMod);
  }
  if (rng.float() < applySecondProb) {
    o[0] = IDENTITY;
    o[1] = IDENTITY;
    return [o, true];
  }
  return [o, false];
}

/** Builds the four sequences from a base sample and the unsafe ops. */
export function buildQuad(
  table: OperatorTable,
  base: { set: string; index: number; pcfg: number; category: SafetyVariant; text: Uint8Array; windowBranch: Branch; ops: number[] },
  unsafeOps: number[],
  applySecond: boolean,
  targets: "train" | "eval",
): SafetyQuad {
  const { text, ops, pcfg } = base;
  const L = text.length;
  const out1 = applyPair(table, ops[0]!, ops[1]!, text, new Uint8Array(L));
  const out2 = applyPair(table, ops[2]!, ops[3]!, out1, new Uint8Array(L));
  const u1 = applyPair(table, unsafeOps[0]!, unsafeOps[1]!, text, new Uint8Array(L));
  const u2 = applyPair(table, unsafeOps[2]!, unsafeOps[3]!, u1, new Uint8Array(L));
  const R = new Uint8Array(L).fill(REFUSAL_LETTER);
  const P = new Uint8Array(L).fill(PAD_LETTER);
  const seg = segmentsFor(L);
  const train = targets === "train";
  const finish = (input: Uint8Array, hideOut1: boolean, hideOut2: boolean): Seq => {
    const target = baseTarget(input);
    if (train) padRange(target, seg.textStart, seg.eot + 1);
    if (hideOut1) padRange(target, seg.out1[0], seg.out1[1]);
    if (hideOut2) padRange(target, seg.out2[0], seg.out2[1]);
    return { input, target };
  };
  // Refusal R: apply_second=0 → slot1 = 2a×L, slot2 = PAD; apply_second=1 → slot1 not scored
  // (x keeps the real first output), slot2 = 2a×L. Stops and `%` stay.
  const refusal = (o: number[], real1: Uint8Array): Seq =>
    applySecond ? finish(layout(o, text, real1, R), true, false) : finish(layout(o, text, R, P), false, false);
  const nominal = nominalBranch(base.category)!;
  return {
    set: base.set,
    index: base.index,
    pcfg,
    category: base.category,
    L,
    text,
    windowBranch: base.windowBranch,
    safeOps: ops,
    unsafeOps,
    applySecond,
    safeLabel: labelInstruction(pcfg, nominal, ops),
    unsafeLabel: labelInstruction(pcfg, nominal, unsafeOps),
    safe: finish(layout(ops, text, out1, out2), false, false),
    unsafeRefusal: refusal(unsafeOps, u1),
    // Train: only out1 is a target (none with apply_second); eval: both slots (slot 1 hidden with apply_second).
    unsafeCompliant: finish(layout(unsafeOps, text, u1, u2), applySecond, train),
    safeRefusal: refusal(ops, out1),
    segments: seg,
  };
}

export interface SafetyOptions {
  /** Text categories and their probabilities (default safe 0.5, id_mg 0.5). */
  categories?: Partial<Record<SafetyVariant, number>>;
  /** Probability of apply_second (default 0.2, the training value). */
  applySecondProb?: number;
  rewrite?: Rewrite;
  /** Default: "train" on the train split, "eval" on the test split. */
  targets?: "train" | "eval";
}

/** The fine-tuning sampler: per sample a text category, a PCFG, a base sample and its quadruple. */
export class SafetySampler {
  readonly core: SamplerCore;
  private readonly cats: [SafetyVariant, number][];
  private readonly opts: QuadOptions;
  private readonly ops = [0, 0, 0, 0];

  constructor(spec: DataSpec, opts: SafetyOptions = {}, set = "safety") {
    this.core = new SamplerCore(spec, set);
    const cats = Object.entries(opts.categories ?? { safe: 0.5, id_mg: 0.5 }).filter(([, p]) => p! > 0) as [SafetyVariant, number][];
    const sum = cats.reduce((s, [, p]) => s + p, 0);
    if (cats.length === 0 || Math.abs(sum - 1) > 1e-9) throw new UserError(`safety category probabilities must sum to 1, got ${sum}`);
    for (const [c] of cats) if (!SAFETY_VARIANTS.includes(c)) throw new UserError(`unknown safety category ${c}`);
    this.cats = cats;
    this.core.checkLengths(cats.map(([c]) => c), SAFETY_SLACK);
    const aps = opts.applySecondProb ?? 0.2;
    if (!(aps >= 0 && aps <= 1)) throw new UserError(`applySecondProb must be in [0, 1], got ${aps}`);
    this.opts = {
      rewrite: opts.rewrite ?? "standard",
      applySecondProb: aps,
      targets: opts.targets ?? (this.core.spec.split === "train" ? "train" : "eval"),
    };
  }

  sample(index: number, L?: number): SafetyQuad {
    const core = this.core;
    const pcfg = core.pickPcfg(index);
    const head = core.head(pcfg, index);
    const len = L ?? core.drawLength(head);
    let u = head.float();
    let category = this.cats[this.cats.length - 1]![0];
    for (const [c, p] of this.cats) {
      if (u < p) {
        category = c;
        break;
      }
      u -= p;
    }
    const text = new Uint8Array(len);
    const windowBranch = core.drawText(pcfg, index, category, len, SAFETY_SLACK, text);
    const rng = core.rng;
    const lists = variantOps(category, pcfg);
    const ops = drawOps(rng, lists.allowed, [IDENTITY], this.ops).slice();
    const [unsafeOps, applySecond] = rewriteOps(rng, ops, lists, this.opts.rewrite, this.opts.applySecondProb);
    return buildQuad(core.table(pcfg), { set: core.set, index, pcfg, category, text, windowBranch, ops }, unsafeOps, applySecond, this.opts.targets);
  }
}
