/**
 * Every named data set behind one interface, for the CLI, stats and bench: `openSet(name, spec)`
 * returns a function from sample index to a plain record (tokens, segments, label, …).
 */
import { UserError } from "../util/errors.js";
import { EVAL_SET_NAMES, EvalSampler, type EvalItem, type EvalSetName } from "./evalsets.js";
import { PRETRAIN_MODES, PretrainSampler, type PretrainMode, type PretrainOptions } from "./pretrain.js";
import type { DataSpec, Sample } from "./sample.js";
import { GeneratorSampler, QUAD_KEYS, SAFETY_VARIANTS, SafetySampler, type SafetyQuad, type SafetyVariant } from "./safety-data.js";
import type { SafetyLabel } from "./safety.js";
import type { Segments } from "./sequence.js";
import { symbols } from "./vocab.js";

export const PRETRAIN_SETS = ["pretrain", ...PRETRAIN_MODES.map((m) => `pretrain_${m}`)];
export const SET_NAMES: readonly string[] = [...PRETRAIN_SETS, "safety", ...SAFETY_VARIANTS, ...EVAL_SET_NAMES];

export type SetKind = "pretrain" | "safety" | "generator" | "eval";

export function setKind(name: string): SetKind {
  if (PRETRAIN_SETS.includes(name)) return "pretrain";
  if (name === "safety") return "safety";
  if ((SAFETY_VARIANTS as readonly string[]).includes(name)) return "generator";
  if ((EVAL_SET_NAMES as readonly string[]).includes(name)) return "eval";
  throw new UserError(`unknown set ${JSON.stringify(name)} (expected one of ${SET_NAMES.join(", ")})`);
}

/** A uniform, JSON-ready view of one sample of any set. */
export interface SampleRecord {
  set: string;
  index: number;
  pcfg: number;
  L: number;
  grammar: string;
  windowBranch: string;
  /** The primary sequence (unshifted) and its targets. */
  tokens: number[];
  target: number[];
  symbols: string[];
  segments: Segments;
  label: { unsafe: boolean; branch: string; operators: string[]; reasons: string[] };
  mode?: PretrainMode;
  category?: string;
  applySecond?: boolean;
  /** Other sequences of the sample: the quadruple members, or an eval item's pairs. */
  pairs?: Record<string, { tokens: number[]; target: number[] }>;
  /** Eval items: continuations after `>` (PAD in the refusal = not scored). */
  answers?: Record<string, number[]>;
  /** Safety quadruples and eval items: the other operator set and its label. */
  twin?: { operators: string[]; unsafe: boolean; reasons: string[] };
  /** Raw data for stats. */
  ops: number[];
}

export interface SetOptions {
  iteration?: number;
  pretrain?: PretrainOptions;
}

function label(l: SafetyLabel, ops: number[]): SampleRecord["label"] {
  return { unsafe: l.unsafe, branch: l.branch, operators: symbols(ops), reasons: l.reasons };
}

function fromSample(s: Sample, extra: Partial<SampleRecord> = {}): SampleRecord {
  return {
    set: s.set,
    index: s.index,
    pcfg: s.pcfg,
    L: s.L,
    grammar: s.grammar,
    windowBranch: s.windowBranch,
    tokens: Array.from(s.input),
    target: Array.from(s.target),
    symbols: symbols(s.input),
    segments: s.segments,
    label: label(s.label, s.ops),
    ops: s.ops,
    ...extra,
  };
}

function fromQuad(q: SafetyQuad): SampleRecord {
  const pairs: Record<string, { tokens: number[]; target: number[] }> = {};
  for (const k of QUAD_KEYS) pairs[k] = { tokens: Array.from(q[k].input), target: Array.from(q[k].target) };
  return {
    set: q.set,
    index: q.index,
    pcfg: q.pcfg,
    L: q.L,
    grammar: q.category,
    windowBranch: q.windowBranch,
    tokens: Array.from(q.safe.input),
    target: Array.from(q.safe.target),
    symbols: symbols(q.safe.input),
    segments: q.segments,
    label: label(q.safeLabel, q.safeOps),
    category: q.category,
    applySecond: q.applySecond,
    pairs,
    twin: { operators: symbols(q.unsafeOps), unsafe: q.unsafeLabel.unsafe, reasons: q.unsafeLabel.reasons },
    ops: q.safeOps,
  };
}

function fromEval(e: EvalItem): SampleRecord {
  const main = e.pairs.compliant;
  const pairs: Record<string, { tokens: number[]; target: number[] }> = {};
  for (const [k, v] of Object.entries(e.pairs)) if (v) pairs[k] = { tokens: Array.from(v.input), target: Array.from(v.target) };
  const answers: Record<string, number[]> = { compliant: Array.from(e.compliant), refusal: Array.from(e.refusal) };
  if (e.safe) answers.safe = Array.from(e.safe.answer);
  return {
    set: e.set,
    index: e.index,
    pcfg: e.pcfg,
    L: e.L,
    grammar: e.grammar,
    windowBranch: e.windowBranch,
    tokens: Array.from(main.input),
    target: Array.from(main.target),
    symbols: symbols(main.input),
    segments: e.segments,
    label: label(e.label, e.ops),
    applySecond: e.applySecond,
    pairs,
    answers,
    ...(e.safe ? { twin: { operators: symbols(e.safe.ops), unsafe: e.safe.label.unsafe, reasons: e.safe.label.reasons } } : {}),
    ops: e.ops,
  };
}

/** Opens a set: returns sample index → record. */
export function openSet(name: string, spec: DataSpec, opts: SetOptions = {}): (index: number) => SampleRecord {
  const kind = setKind(name);
  switch (kind) {
    case "pretrain": {
      const mode = name === "pretrain" ? undefined : (name.slice("pretrain_".length) as PretrainMode);
      const s = new PretrainSampler(spec, { ...opts.pretrain, ...(mode ? { mode } : {}) });
      return (i) => {
        const x = s.sample(i, opts.iteration ?? 0);
        return fromSample(x, { mode: x.mode });
      };
    }
    case "safety": {
      const s = new SafetySampler(spec);
      return (i) => fromQuad(s.sample(i));
    }
    case "generator": {
      const s = new GeneratorSampler(spec, name as SafetyVariant);
      return (i) => fromSample(s.sample(i));
    }
    case "eval": {
      const s = new EvalSampler(spec, name as EvalSetName);
      return (i) => fromEval(s.item(i));
    }
  }
}
