/**
 * Histograms of a set (lengths, branches, operators, labels, modes) and the branch-ambiguity
 * measurement: the fraction of unsafe-branch windows of length L that the safe grammar can also
 * produce. When that fraction is high, the "unsafe" label of such prompts is not a function of the
 * prompt, which caps refusal accuracy (cpu-prototype §3); the pre-training preset picks L with it.
 */
import { UserError } from "../util/errors.js";
import type { GrammarVariant } from "./grammars.js";
import { SamplerCore, type DataSpec } from "./sample.js";
import { SAFETY_SLACK } from "./safety-data.js";
import { openSet, type SetOptions } from "./sets.js";
import { Validator } from "./validator.js";
import { tokenSymbol } from "./vocab.js";

type Hist = Record<string, number>;

function bump(h: Hist, key: string | number): void {
  h[key] = (h[key] ?? 0) + 1;
}

export interface SetStats {
  set: string;
  n: number;
  pcfgs: readonly number[];
  length: Hist;
  pcfg: Hist;
  windowBranch: Hist;
  operators: Hist;
  label: Hist;
  mode?: Hist;
  category?: Hist;
  applySecond?: number;
  twinLabel?: Hist;
}

export function setStats(name: string, spec: DataSpec, n: number, opts: SetOptions = {}): SetStats {
  if (!Number.isInteger(n) || n < 0) throw new UserError(`n must be a non-negative integer, got ${n}`);
  const draw = openSet(name, spec, opts);
  const st: SetStats = { set: name, n, pcfgs: spec.pcfgs ?? [1, 2, 3, 4], length: {}, pcfg: {}, windowBranch: {}, operators: {}, label: {} };
  let aps = 0;
  for (let i = 0; i < n; i++) {
    const r = draw(i);
    bump(st.length, r.L);
    bump(st.pcfg, r.pcfg);
    bump(st.windowBranch, r.windowBranch);
    for (const o of r.ops) bump(st.operators, tokenSymbol(o));
    bump(st.label, r.label.unsafe ? "unsafe" : "safe");
    if (r.mode) bump((st.mode ??= {}), r.mode);
    if (r.category) bump((st.category ??= {}), r.category);
    if (r.twin) bump((st.twinLabel ??= {}), r.twin.unsafe ? "unsafe" : "safe");
    if (r.applySecond) aps++;
  }
  if (st.twinLabel || name === "safety") st.applySecond = aps;
  return st;
}

export interface Ambiguity {
  length: number;
  n: number;
  pcfgs: readonly number[];
  /** Fractions of windows of the first grammar that the second can also produce. */
  id_mg_in_safe: number;
  ood_mg_in_safe: number;
  intermediate_in_safe: number;
  safe_in_id_mg: number;
  /** id_mg windows the pre-training (base) grammar can produce: its binary level 4 is not base text. */
  id_mg_in_base: number;
}

/** Fraction of `from`-grammar windows of length L (n per PCFG) that `to` can also produce. */
export function overlapFraction(from: GrammarVariant, to: GrammarVariant, L: number, n: number, pcfgs: readonly number[], seed = 0): number {
  let hits = 0;
  for (const k of pcfgs) {
    const core = new SamplerCore({ seed, split: "train", pcfgs: [k], textLength: { min: L, max: L } }, `ambiguity_${from}`);
    core.checkLengths([from], SAFETY_SLACK);
    const v = Validator.for(to, k);
    const w = new Uint8Array(L);
    for (let i = 0; i < n; i++) {
      core.drawText(k, i, from, L, SAFETY_SLACK, w);
      if (v.accepts(w)) hits++;
    }
  }
  return hits / (n * pcfgs.length);
}

export function ambiguity(L: number, n: number, pcfgs: readonly number[] = [1, 2, 3, 4], seed = 0): Ambiguity {
  if (!Number.isInteger(L) || L < 1) throw new UserError(`length must be a positive integer, got ${L}`);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`n must be a positive integer, got ${n}`);
  return {
    length: L,
    n,
    pcfgs,
    id_mg_in_safe: overlapFraction("id_mg", "safe", L, n, pcfgs, seed),
    ood_mg_in_safe: overlapFraction("ood_mg", "safe", L, n, pcfgs, seed),
    intermediate_in_safe: overlapFraction("intermediate", "safe", L, n, pcfgs, seed),
    safe_in_id_mg: overlapFraction("safe", "id_mg", L, n, pcfgs, seed),
    id_mg_in_base: overlapFraction("id_mg", "base", L, n, pcfgs, seed),
  };
}
