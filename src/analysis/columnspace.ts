/**
 * Column space of ΔW vs the left null space of W_IT (paper Fig. 4).
 *
 * For W_IT (m×n) of numerical rank r (σ > max(m,n)·ε₃₂·σ_max, see linalg.rankTolerance) the left null space is
 * N(W_ITᵀ) = range(W_IT)^⊥, of dimension m − r. For every left singular vector u_i of ΔW = W_ST − W_IT among those
 * holding 90% of ‖ΔW‖_F² we report ‖P_N u_i‖ = ‖(I − U_r U_rᵀ) u_i‖ ∈ [0, 1], sorted ascending for the plot.
 *
 * Baselines: a uniformly random unit vector in Rᵐ has E‖P_N x‖² = (m − r)/m, so ‖P_N x‖ ≈ √((m − r)/m) (analytic;
 * 0.866 for c_fc at r = C, m = 4C); the sampled baseline averages `samples` seeded Gaussian directions.
 *
 * `side: "right"` runs the same on the transposes (right singular vectors vs the null space N(W_IT)). Since c_fc
 * [4C, C] has a trivial right null space and c_proj [C, 4C] a trivial left one, the informative pairs are c_fc/left
 * (the paper's figure) and c_proj/right; both sides are reported for both matrices.
 *
 * Reference variant (`column_space_analysis.py`, with its U-row bug fixed): W_ST and W_IT column-centred, k_ST and
 * k_IT = the reference's 90%-energy cut (crossing index excluded), value_i = ‖(I − P_IT) u_i(W_ST)‖ with P_IT the
 * projector onto the top-k_IT left singular vectors of W_IT. Its random baseline is √((m − k_IT)/m).
 */
import type { GPT } from "../model/gpt.js";
import { Rng } from "../engine/rng.js";
import type { VlSpec } from "../plot/render.js";
import { sortedScatterSpec } from "../plot/specs.js";
import { centreColumns, dot, energyRank, frobenius, numericalRank, rankTolerance, residualFraction, svd, FLOAT32_EPS, type Mat, type SVD } from "./linalg.js";
import { mean, r6, std } from "./stats.js";
import { MLP_MATRICES, checkSameArchitecture, weightMat, type MlpMatrix } from "./weights.js";

export interface ColumnSpaceOptions {
  /** Energy fraction of ΔW whose singular vectors are tested (default 0.9). */
  energy?: number;
  /** ε of the rank tolerance max(m,n)·ε·σ_max (default float32's 2⁻²³). */
  rankEps?: number;
  /** Random directions for the sampled baseline (default 500). */
  samples?: number;
  seed?: number;
  layers?: number[];
  matrices?: MlpMatrix[];
  /** Also compute the reference script's variant (default true). */
  reference?: boolean;
}

export interface NullSpaceSide {
  /** Dimension of the ambient space (m for left, n for right) and of the null space (ambient − rank). */
  ambient: number;
  nullDim: number;
  baselineAnalytic: number;
  baselineSampled: { mean: number; std: number; n: number };
  /** Per tested singular vector of ΔW, in singular-value order. */
  sigma: number[];
  projection: number[];
  /** Summary of `projection`. */
  mean: number;
  min: number;
  fracAbove09: number;
}

export interface ColumnSpaceEntry {
  layer: number;
  matrix: MlpMatrix;
  shape: [number, number];
  rankIT: number;
  rankTol: number;
  /** Vectors of ΔW tested (90%-energy rank of ΔW). */
  k: number;
  normRatio: number;
  left: NullSpaceSide;
  right: NullSpaceSide;
  reference?: { kST: number; kIT: number; values: number[]; mean: number; baseline: number };
}

export interface ColumnSpaceResult {
  kind: "columnspace";
  energy: number;
  rankEps: number;
  samples: number;
  entries: ColumnSpaceEntry[];
}

/** Mean/std of ‖P_N x‖ over random unit x, with P_N = I − U_r U_rᵀ (one projection pass is exact enough here). */
export function sampledBaseline(basis: Mat, r: number, samples: number, rng: Rng): { mean: number; std: number; n: number } {
  const m = basis.cols, x = new Float64Array(m), vals = new Float64Array(samples);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < m; i++) x[i] = rng.normal();
    const xx = dot(x, x);
    let p = 0;
    for (let i = 0; i < r; i++) p += dot(basis.data, x, m, i * m, 0) ** 2;
    vals[s] = Math.sqrt(Math.max(0, 1 - p / xx));
  }
  return { mean: r6(mean(vals)), std: r6(std(vals)), n: samples };
}

/**
 * Projections of ΔW's top singular vectors onto the null space on one side, from precomputed SVDs.
 * side "left": u-vectors vs range(W_IT)^⊥ in Rᵐ; "right": v-vectors vs N(W_IT) in Rⁿ.
 */
export function nullSpaceSide(dIT: SVD, dDelta: SVD, r: number, k: number, side: "left" | "right", samples: number, rng: Rng): NullSpaceSide {
  const basis = side === "left" ? dIT.Ut! : dIT.Vt!;
  const vecs = side === "left" ? dDelta.Ut! : dDelta.Vt!;
  const ambient = basis.cols;
  const proj: number[] = [];
  for (let i = 0; i < k; i++) proj.push(residualFraction(basis, r, vecs.data.subarray(i * ambient, (i + 1) * ambient)));
  return {
    ambient,
    nullDim: ambient - r,
    baselineAnalytic: r6(Math.sqrt((ambient - r) / ambient)),
    baselineSampled: ambient > r ? sampledBaseline(basis, r, samples, rng) : { mean: 0, std: 0, n: 0 },
    sigma: Array.from(dDelta.s.subarray(0, k), r6),
    projection: proj.map(r6),
    mean: r6(mean(proj)),
    min: r6(Math.min(...proj)),
    fracAbove09: r6(proj.filter((p) => p >= 0.9).length / Math.max(1, proj.length)),
  };
}

/** The analysis for one pair of matrices (pure: weights in, numbers out). */
export function columnSpaceOfMatrices(wIT: Mat, wST: Mat, opts: ColumnSpaceOptions & { layer?: number; matrix?: MlpMatrix } = {}): ColumnSpaceEntry {
  const energy = opts.energy ?? 0.9, eps = opts.rankEps ?? FLOAT32_EPS, samples = opts.samples ?? 500;
  const rng = new Rng(opts.seed ?? 0, 31 + (opts.layer ?? 0) * 2 + (opts.matrix === "c_proj" ? 1 : 0));
  const dW: Mat = { rows: wIT.rows, cols: wIT.cols, data: wST.data.map((v, i) => v - wIT.data[i]) };
  const dIT = svd(wIT), dDelta = svd(dW);
  const r = numericalRank(dIT.s, wIT.rows, wIT.cols, eps);
  const k = energyRank(dDelta.s, energy);
  const entry: ColumnSpaceEntry = {
    layer: opts.layer ?? 0,
    matrix: opts.matrix ?? "c_fc",
    shape: [wIT.rows, wIT.cols],
    rankIT: r,
    rankTol: r6(rankTolerance(dIT.s, wIT.rows, wIT.cols, eps)),
    k,
    normRatio: r6(frobenius(dW) / frobenius(wIT)),
    left: nullSpaceSide(dIT, dDelta, r, k, "left", samples, rng),
    right: nullSpaceSide(dIT, dDelta, r, k, "right", samples, rng),
  };
  if (opts.reference ?? true) {
    const sST = svd(centreColumns(wST)), sIT = svd(centreColumns(wIT));
    const kST = energyRank(sST.s, energy, true), kIT = energyRank(sIT.s, energy, true);
    const m = wIT.rows;
    const values: number[] = [];
    for (let i = 0; i < kST; i++) values.push(residualFraction(sIT.Ut!, kIT, sST.Ut!.data.subarray(i * m, (i + 1) * m)));
    entry.reference = { kST, kIT, values: values.map(r6), mean: r6(mean(values)), baseline: r6(Math.sqrt((m - kIT) / m)) };
  }
  return entry;
}

/** Fig. 4 for every layer and MLP matrix of a pair of models. */
export function runColumnSpace(it: GPT, st: GPT, opts: ColumnSpaceOptions = {}): ColumnSpaceResult {
  checkSameArchitecture(it, st);
  const layers = opts.layers ?? Array.from({ length: it.config.n_layer }, (_, l) => l);
  const entries: ColumnSpaceEntry[] = [];
  for (const layer of layers) {
    for (const matrix of opts.matrices ?? MLP_MATRICES) {
      entries.push(columnSpaceOfMatrices(weightMat(it, layer, matrix), weightMat(st, layer, matrix), { ...opts, layer, matrix }));
    }
  }
  return { kind: "columnspace", energy: opts.energy ?? 0.9, rankEps: opts.rankEps ?? FLOAT32_EPS, samples: opts.samples ?? 500, entries };
}

/** Fig. 4: sorted projections onto the (non-trivial) null space, per layer and matrix, with both baselines. */
export function columnSpacePlot(r: ColumnSpaceResult): VlSpec {
  const rows: Record<string, unknown>[] = [], baselines: Record<string, unknown>[] = [];
  for (const e of r.entries) {
    const side = e.left.nullDim > 0 ? "left" : "right";
    const s = e[side];
    const facet = `${e.matrix} (${side === "left" ? "u → N(W_ITᵀ)" : "v → N(W_IT)"})`;
    [...s.projection].sort((a, b) => a - b).forEach((value, rank) => rows.push({ layer: `layer ${e.layer}`, matrix: facet, rank, value, series: "ΔW singular vectors" }));
    baselines.push({ layer: `layer ${e.layer}`, matrix: facet, value: s.baselineAnalytic, label: "random √((m−r)/m)" });
    baselines.push({ layer: `layer ${e.layer}`, matrix: facet, value: s.baselineSampled.mean, label: "random (sampled)" });
  }
  return sortedScatterSpec({ title: "Projection of ΔW's top singular vectors onto the null space of W_IT", rows, baselines, yTitle: "‖projection‖", yDomain: [0, 1], column: "layer", row: "matrix", width: 160, height: 140 });
}

/** The reference script's variant: W_ST's top subspace outside W_IT's top subspace (column-centred). */
export function columnSpaceReferencePlot(r: ColumnSpaceResult): VlSpec {
  const rows: Record<string, unknown>[] = [], baselines: Record<string, unknown>[] = [];
  for (const e of r.entries) {
    if (!e.reference) continue;
    [...e.reference.values].sort((a, b) => a - b).forEach((value, rank) => rows.push({ layer: `layer ${e.layer}`, matrix: e.matrix, rank, value, series: "W_ST top vectors" }));
    baselines.push({ layer: `layer ${e.layer}`, matrix: e.matrix, value: e.reference.baseline, label: "random √((m−k_IT)/m)" });
  }
  return sortedScatterSpec({ title: "Reference variant: sin∠(u_i(W_ST), top-90% span of W_IT), column-centred", rows, baselines, yTitle: "sin θ", yDomain: [0, 1], column: "layer", row: "matrix", width: 160, height: 140 });
}

