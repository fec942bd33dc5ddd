/**
 * Jailbreaks and adversarial inputs in activation space (paper Fig. 7): τ of arbitrary inputs (token sequences or
 * input-embedding tensors from the attack module) against a model's safe/unsafe cluster means (clustering.ts).
 *
 * The paper analyses only *successful* jailbreaks: pass `success` (one flag per input) to keep those; the count
 * before and after filtering is reported. Groups may carry a family and an attack strength (soft tokens, steps,
 * ε) so τ can be plotted against strength.
 */
import { Tensor, alloc } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import type { VlSpec } from "../plot/render.js";
import { bandSpec, curvesSpec } from "../plot/specs.js";
import { tau, type Centroids, type TauMetric } from "./clustering.js";
import { extractFeatures, extractFeaturesFromEmbeds, type FeatureOptions, type SeqInput } from "./features.js";
import { mean, r6, std } from "./stats.js";

/** Inputs of one group: token sequences, or embeddings [B, T, C] with per-row window starts. */
export type TauInputs = { sequences: readonly SeqInput[] } | { embeds: Tensor; starts: ArrayLike<number> };

export interface TauGroup {
  name: string;
  family?: string;
  /** Attack strength (e.g. number of soft tokens or steps); groups with one are plotted against it. */
  strength?: number;
  inputs: TauInputs;
  /** Keep only inputs whose flag is true (successful jailbreaks). */
  success?: readonly boolean[];
}

export interface TauGroupResult {
  name: string;
  family?: string;
  strength?: number;
  nTotal: number;
  n: number;
  layers: { layer: number; mean: number; std: number; fracSafeSide: number }[];
}

export interface JailbreakTauResult {
  kind: "jailbreaks";
  label: string;
  metric: TauMetric;
  groups: TauGroupResult[];
}

/** Feature options matching the centroids' (same hook and layers), with the window and units of the clustering. */
function optsFor(c: Centroids, o: Partial<FeatureOptions>): FeatureOptions {
  return { hook: c.hook, layers: c.layers, window: o.window ?? 10, ...(o.units ? { units: o.units } : {}), batchSize: o.batchSize ?? 64 };
}

/** τ per layer (result[li][i]) of arbitrary inputs against given centroids. */
export function tauForInputs(model: GPT, c: Centroids, inputs: TauInputs, opts: Partial<FeatureOptions> = {}, metric: TauMetric = "l2"): Float64Array[] {
  const fo = optsFor(c, opts);
  const f = "sequences" in inputs ? extractFeatures(model, inputs.sequences, fo) : extractFeaturesFromEmbeds(model, inputs.embeds, inputs.starts, fo);
  if (f.dim !== c.dim) throw new RangeError(`tauForInputs: features have ${f.dim} dims, centroids ${c.dim} (use the same units option)`);
  return tau(f, c, metric);
}

function count(inputs: TauInputs): number {
  return "sequences" in inputs ? inputs.sequences.length : inputs.embeds.shape[0];
}

/** Keeps the flagged rows of a group's inputs. */
function filterInputs(inputs: TauInputs, keep: readonly boolean[]): TauInputs {
  if ("sequences" in inputs) return { sequences: inputs.sequences.filter((_, i) => keep[i]) };
  const [B, T, C] = inputs.embeds.shape as [number, number, number];
  const rows = Array.from({ length: B }, (_, i) => i).filter((i) => keep[i]);
  const data = alloc(rows.length * T * C);
  rows.forEach((r, k) => data.set(inputs.embeds.data.subarray(r * T * C, (r + 1) * T * C), k * T * C));
  return { embeds: new Tensor(data, [rows.length, T, C]), starts: rows.map((r) => inputs.starts[r]) };
}

/** τ statistics of each group (successful inputs only where `success` is given). */
export function jailbreakTau(label: string, model: GPT, c: Centroids, groups: readonly TauGroup[], opts: Partial<FeatureOptions> & { metric?: TauMetric } = {}): JailbreakTauResult {
  const metric = opts.metric ?? "l2";
  const out: TauGroupResult[] = groups.map((g) => {
    const nTotal = count(g.inputs);
    if (g.success && g.success.length !== nTotal) throw new RangeError(`jailbreakTau: group ${g.name} has ${g.success.length} success flags for ${nTotal} inputs`);
    const inputs = g.success ? filterInputs(g.inputs, g.success) : g.inputs;
    const n = count(inputs);
    const t = n ? tauForInputs(model, c, inputs, opts, metric) : c.layers.map(() => new Float64Array(0));
    return {
      name: g.name,
      ...(g.family !== undefined ? { family: g.family } : {}),
      ...(g.strength !== undefined ? { strength: g.strength } : {}),
      nTotal,
      n,
      layers: c.layers.map((layer, li) => ({ layer, mean: r6(mean(t[li])), std: r6(std(t[li])), fracSafeSide: r6(n ? t[li].filter((v) => v > 0).length / n : NaN) })),
    };
  });
  return { kind: "jailbreaks", label, metric, groups: out };
}

/** Fig. 7: mean ± std of τ per layer for each group (standard safe/unsafe groups included by the caller). */
export function jailbreakPlot(results: readonly JailbreakTauResult[]): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const r of results) for (const g of r.groups) for (const l of g.layers) if (g.n > 0) rows.push({ model: r.label, group: g.name, layer: l.layer, mean: l.mean, lo: l.mean - l.std, hi: l.mean + l.std });
  return bandSpec({ title: "τ of jailbreak inputs against the safe/unsafe clusters (τ > 0: nearer safe)", rows, x: "layer", xTitle: "layer", yTitle: "τ (mean ± std)", column: "model", independentY: true });
}

/** τ against attack strength, one line per family, one panel per layer. */
export function strengthPlot(r: JailbreakTauResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const g of r.groups) if (g.strength !== undefined && g.n > 0) for (const l of g.layers) rows.push({ layer: `layer ${l.layer}`, strength: g.strength, tau: l.mean, series: g.family ?? g.name });
  return curvesSpec({ title: `τ against attack strength (${r.label})`, rows, x: "strength", y: "tau", xTitle: "attack strength", yTitle: "mean τ", column: "layer", width: 160, height: 140 });
}
