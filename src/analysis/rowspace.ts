/**
 * Row space of ΔW vs the MLP inputs (paper Fig. 5, §4.2 "ΔW is specialised for unsafe inputs").
 *
 * a = the true input of c_fc (`blocks.ℓ.mlp.hook_in`: LN1(x)+attn for the reference block) at the EOT position,
 * taken from the safety-tuned model by default. With M = ΔW = W_ST − W_IT (c_fc, [4C, C]) and its SVD
 * M = Σ_j σ_j u_j v_jᵀ:
 *
 *   score_j(a) = σ_j · cos(a, v_j)        (per right singular vector; |score_j| is reported, signs of v_j are arbitrary)
 *   gain(a)    = ‖M a‖ / ‖a‖ = √(Σ_j score_j²)
 *
 * Reported per layer: quantiles of gain for safe and unsafe inputs (and any extra groups, e.g. jailbreaks), the
 * ratio of means unsafe/safe, the AUC of gain separating unsafe (positive) from safe, and mean ± std of |score_j|
 * for the top singular directions with their AUCs.
 *
 * Reference variant (`row_space_analysis.py`): `matrix: "it"`, `centre: true`, `hook: "hook_attn_out"` (the
 * attention sublayer output, not the real c_fc input) reproduces what the script computed.
 */
import type { GPT } from "../model/gpt.js";
import type { VlSpec } from "../plot/render.js";
import { boxSpec, curvesSpec } from "../plot/specs.js";
import { extractFeatures, type SeqInput } from "./features.js";
import { centreColumns, dot, svd, type Mat } from "./linalg.js";
import { auc, mean, r6, std, summarize, type Summary } from "./stats.js";
import { checkSameArchitecture, deltaMat, weightMat } from "./weights.js";

export interface RowSpaceOptions {
  /** Matrix whose row space is tested: ΔW (default), or W_IT / W_ST (the reference script used W_IT). */
  matrix?: "delta" | "it" | "st";
  /** Column-centre the matrix before the SVD (the reference does; default false). */
  centre?: boolean;
  /** Activation hook inside a block (default "mlp.hook_in"; the reference used "hook_attn_out"). */
  hook?: string;
  /** Positions averaged from EOT (default 1: the EOT position only, as the reference). */
  window?: number;
  /** Which model produces the activations (default "st"). */
  activations?: "st" | "it";
  /** Singular directions reported individually (default 15). */
  topK?: number;
  layers?: number[];
  batchSize?: number;
}

export interface RowSpaceData {
  safe: readonly SeqInput[];
  unsafe: readonly SeqInput[];
  /** More groups whose gain is summarised (e.g. jailbreak families). */
  extra?: Readonly<Record<string, readonly SeqInput[]>>;
}

export interface DirectionScore {
  j: number;
  sigma: number;
  safe: { mean: number; std: number };
  unsafe: { mean: number; std: number };
  auc: number;
}

export interface RowSpaceLayer {
  layer: number;
  gain: { groups: Record<string, Summary>; ratio: number; auc: number };
  directions: DirectionScore[];
}

export interface RowSpaceResult {
  kind: "rowspace";
  matrix: string;
  centre: boolean;
  hook: string;
  window: number;
  activations: string;
  layers: RowSpaceLayer[];
}

/**
 * Per-sample |score_j| (j < k) and gain for the rows of a [n, C] against a matrix's SVD. Pure.
 * Returns scores[j][i] and gain[i]. Zero inputs give zeros.
 */
export function rowSpaceScores(s: Float64Array, vt: Mat, a: Float64Array, n: number, k: number): { scores: Float64Array[]; gain: Float64Array } {
  const C = vt.cols, r = s.length;
  const scores = Array.from({ length: Math.min(k, r) }, () => new Float64Array(n));
  const gain = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const na = Math.sqrt(dot(a, a, C, i * C, i * C));
    if (na === 0) continue;
    let g2 = 0;
    for (let j = 0; j < r; j++) {
      const sc = (s[j] * dot(vt.data, a, C, j * C, i * C)) / na;
      g2 += sc * sc;
      if (j < scores.length) scores[j][i] = Math.abs(sc);
    }
    gain[i] = Math.sqrt(g2);
  }
  return { scores, gain };
}

export function runRowSpace(it: GPT, st: GPT, data: RowSpaceData, opts: RowSpaceOptions = {}): RowSpaceResult {
  checkSameArchitecture(it, st);
  const which = opts.matrix ?? "delta", centre = opts.centre ?? false, hook = opts.hook ?? "mlp.hook_in";
  const window = opts.window ?? 1, k = opts.topK ?? 15, src = opts.activations ?? "st";
  const layers = opts.layers ?? Array.from({ length: it.config.n_layer }, (_, l) => l);
  const fo = { hook, window, layers, batchSize: opts.batchSize ?? 64 };
  const model = src === "st" ? st : it;
  const groups: [string, readonly SeqInput[]][] = [["safe", data.safe], ["unsafe", data.unsafe], ...Object.entries(data.extra ?? {})];
  const feats = new Map(groups.map(([name, inputs]) => [name, extractFeatures(model, inputs, fo)]));
  const out: RowSpaceLayer[] = layers.map((layer, li) => {
    let m = which === "delta" ? deltaMat(it, st, layer, "c_fc") : weightMat(which === "it" ? it : st, layer, "c_fc");
    if (centre) m = centreColumns(m);
    const d = svd(m);
    const per = new Map<string, ReturnType<typeof rowSpaceScores>>();
    for (const [name] of groups) {
      const f = feats.get(name)!;
      per.set(name, rowSpaceScores(d.s, d.Vt!, f.data[li], f.n, k));
    }
    const safe = per.get("safe")!, unsafe = per.get("unsafe")!;
    const directions: DirectionScore[] = safe.scores.map((ss, j) => ({
      j,
      sigma: r6(d.s[j]),
      safe: { mean: r6(mean(ss)), std: r6(std(ss)) },
      unsafe: { mean: r6(mean(unsafe.scores[j])), std: r6(std(unsafe.scores[j])) },
      auc: r6(auc(unsafe.scores[j], ss)),
    }));
    const summaries: Record<string, Summary> = {};
    for (const [name] of groups) summaries[name] = roundSummary(summarize(per.get(name)!.gain));
    return { layer, gain: { groups: summaries, ratio: r6(mean(unsafe.gain) / mean(safe.gain)), auc: r6(auc(unsafe.gain, safe.gain)) }, directions };
  });
  return { kind: "rowspace", matrix: which, centre, hook, window, activations: src, layers: out };
}

function roundSummary(s: Summary): Summary {
  return { n: s.n, mean: r6(s.mean), std: r6(s.std), min: r6(s.min), q25: r6(s.q25), median: r6(s.median), q75: r6(s.q75), max: r6(s.max) };
}

/** Fig. 5 (a): distribution of ‖ΔW a‖/‖a‖ per layer and group. */
export function rowSpaceGainPlot(r: RowSpaceResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const l of r.layers) for (const [group, s] of Object.entries(l.gain.groups)) rows.push({ layer: l.layer, group, min: s.min, q25: s.q25, median: s.median, q75: s.q75, max: s.max });
  const m = r.matrix === "delta" ? "ΔW" : r.matrix === "it" ? "W_IT" : "W_ST";
  return boxSpec({ title: `‖${m} a‖ / ‖a‖ for MLP inputs at EOT (box: quartiles, whiskers: min–max)`, rows, x: "layer", xTitle: "layer", yTitle: `‖${m} a‖ / ‖a‖` });
}

/** Fig. 5 (b): mean |σ_j cos(a, v_j)| against j, safe vs unsafe, per layer. */
export function rowSpaceScoresPlot(r: RowSpaceResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const l of r.layers) for (const d of l.directions) for (const g of ["safe", "unsafe"] as const) rows.push({ layer: `layer ${l.layer}`, j: d.j, series: g, score: d[g].mean });
  return curvesSpec({ title: "Row-space scores |σ_j cos(a, v_j)| (mean over samples)", rows, x: "j", y: "score", xTitle: "right singular vector j", yTitle: "mean |score|", column: "layer", width: 160, height: 140 });
}
