/**
 * Linear interventions along ΔW (paper end of §4.2; the reference's `interpolate_state_dicts_forward`):
 *
 *   W(α) = W_IT + α·(W_ST − W_IT)        α ∈ [0, 1] interpolates, α > 1 extrapolates
 *   W'   = W_base + α·(W_ST − W_IT)      transfer: one method's ΔW applied to another model
 *
 * Arithmetic is done in float64 per element and rounded once to float32, so α = 0 and α = 1 reproduce W_IT and
 * W_ST bit for bit. By default every parameter moves; `filter` restricts the intervention to some parameters
 * (e.g. only `mlp.c_fc.weight`), the rest being taken from the base model.
 *
 * The α-sweep driver is metric-agnostic: it calls `evaluate(model, α)` (Instruct, Null and attack success come from
 * the evaluation module) and collects the curves.
 */
import { Tensor } from "../engine/tensor.js";
import { GPT } from "../model/gpt.js";
import type { VlSpec } from "../plot/render.js";
import { curvesSpec } from "../plot/specs.js";
import { checkSameArchitecture } from "./weights.js";
import type { DataSpec } from "../data/sample.js";
import type { EvalSetName } from "../data/evalsets.js";
import { evaluateSafety } from "../eval/safety-eval.js";

export type ParamFilter = (name: string) => boolean;

/** base + α·(st − it), parameter by parameter (filtered parameters only; others copied from base). */
export function applyDelta(base: GPT, it: GPT, st: GPT, alpha: number, filter?: ParamFilter): GPT {
  checkSameArchitecture(it, st);
  checkSameArchitecture(base, it, "base model and the ΔW models");
  if (!Number.isFinite(alpha)) throw new RangeError(`applyDelta: alpha must be finite, got ${alpha}`);
  const params = new Map<string, Tensor>();
  for (const [name, b] of base.params) {
    const out = new Float32Array(b.size);
    if (!filter || filter(name)) {
      const wi = it.p(name).data, ws = st.p(name).data, wb = b.data;
      for (let i = 0; i < out.length; i++) out[i] = wb[i] + alpha * (ws[i] - wi[i]);
    } else out.set(b.data);
    params.set(name, new Tensor(out, b.shape, false));
  }
  return new GPT(base.config, params);
}

/** W_IT + α·ΔW: the interpolation (0 ≤ α ≤ 1) / extrapolation (α > 1) between the two models. */
export function interpolateModels(it: GPT, st: GPT, alpha: number, filter?: ParamFilter): GPT {
  if (alpha === 1 && !filter) return applyDelta(st, st, st, 0); // exactly W_ST (a copy)
  return applyDelta(it, it, st, alpha, filter);
}

export const DEFAULT_ALPHAS: readonly number[] = [0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 2.5, 3];

/** Metrics returned by the evaluation callback (fractions in [0, 1]); extra named metrics are kept too. */
export interface InterventionMetrics {
  instruct: number;
  null: number;
  attack: number;
  [metric: string]: number;
}

export interface SweepPoint extends InterventionMetrics {
  alpha: number;
}

export interface SweepResult {
  kind: "interventions";
  label: string;
  /** "interpolate": W_IT + αΔW; "transfer": W_base + αΔW. */
  mode: "interpolate" | "transfer";
  filter: string;
  points: SweepPoint[];
}

export interface SweepOptions {
  alphas?: readonly number[];
  /** Apply ΔW to this model instead of W_IT (transfer). */
  base?: GPT;
  filter?: ParamFilter;
  /** Describes `filter` in the result (default "all parameters"). */
  filterName?: string;
  label?: string;
  /** Called after each α (progress). */
  onPoint?: (p: SweepPoint) => void;
}

/** Runs evaluate() on W(α) for each α, in order. Models are built one at a time (memory: one extra model). */
export async function alphaSweep(it: GPT, st: GPT, evaluate: (model: GPT, alpha: number) => InterventionMetrics | Promise<InterventionMetrics>, opts: SweepOptions = {}): Promise<SweepResult> {
  const points: SweepPoint[] = [];
  for (const alpha of opts.alphas ?? DEFAULT_ALPHAS) {
    const model = opts.base ? applyDelta(opts.base, it, st, alpha, opts.filter) : interpolateModels(it, st, alpha, opts.filter);
    const m = await evaluate(model, alpha);
    for (const key of ["instruct", "null", "attack"] as const) {
      if (typeof m[key] !== "number") throw new TypeError(`alphaSweep: evaluate() must return numeric ${key}, got ${JSON.stringify(m[key])}`);
    }
    const p = { ...m, alpha };
    points.push(p);
    opts.onPoint?.(p);
  }
  return { kind: "interventions", label: opts.label ?? (opts.base ? "transfer" : "ΔW"), mode: opts.base ? "transfer" : "interpolate", filter: opts.filterName ?? (opts.filter ? "custom" : "all parameters"), points };
}

/** Instruct / Null / attack success against α, one panel per metric, one line per sweep. */
export function interventionPlot(results: readonly SweepResult[]): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const r of results) {
    for (const p of r.points) {
      for (const [metric, value] of Object.entries(p)) if (metric !== "alpha") rows.push({ metric, alpha: p.alpha, value, series: r.label });
    }
  }
  return curvesSpec({ title: "Linear intervention W_IT + α·ΔW", rows, x: "alpha", y: "value", xTitle: "α", yTitle: "", column: "metric", width: 180, height: 140 });
}

/**
 * An `evaluate` callback from the evaluation module (greedy exact match on n test items per set):
 * instruct = Instruct on the std_safe/std_unsafe twins, null = Null on their unsafe prompts, attack = mean attack
 * success (compliance) over the jailbreak sets; each set's success is kept as `asr_<set>`.
 */
export function safetyEvaluator(spec: DataSpec, n: number, sets?: readonly EvalSetName[]): (model: GPT) => InterventionMetrics {
  return (model) => {
    const e = evaluateSafety(model, { ...spec, split: "test" }, n, sets);
    const asr = Object.entries(e.headline.asr).filter(([k]) => k.startsWith("jb_"));
    const m: InterventionMetrics = {
      instruct: e.headline.instruct.rate,
      null: e.headline.null.rate,
      attack: asr.length ? asr.reduce((s, [, r]) => s + r.rate, 0) / asr.length : NaN,
    };
    for (const [k, r] of asr) m[`asr_${k}`] = r.rate;
    return m;
  };
}
