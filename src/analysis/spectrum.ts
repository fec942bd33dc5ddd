/**
 * Spectrum of ΔW = W_ST − W_IT (the "low-rank update" claim) compared with W_IT, and its evolution over the
 * checkpoints saved during safety fine-tuning.
 *
 * Per matrix: all singular values, the 90%-energy rank (smallest k with Σ_{i<k} σ_i² ≥ 0.9 Σσ²), the entropy
 * effective rank exp(H(σ/Σσ)) (Roy & Vetterli 2007), the top σ² share, the numerical rank, and ‖ΔW‖_F/‖W_IT‖_F.
 */
import type { GPT } from "../model/gpt.js";
import type { VlSpec } from "../plot/render.js";
import { curvesSpec } from "../plot/specs.js";
import { energyRank, entropyEffectiveRank, numericalRank, svd, FLOAT32_EPS, type Mat } from "./linalg.js";
import { r6 } from "./stats.js";
import { MLP_MATRICES, checkSameArchitecture, deltaMat, weightMat, type MlpMatrix } from "./weights.js";

export interface SpectrumStats {
  sigma: number[];
  frobenius: number;
  energyRank: number;
  entropyRank: number;
  topShare: number;
  numericalRank: number;
}

export interface SpectrumOptions {
  energy?: number;
  rankEps?: number;
  layers?: number[];
  matrices?: MlpMatrix[];
}

/** Singular-value statistics of one matrix (values only: no vectors are formed). */
export function spectrumOf(m: Mat, opts: SpectrumOptions = {}): SpectrumStats {
  const s = svd(m, { vectors: false }).s;
  let total = 0;
  for (const v of s) total += v * v;
  return {
    sigma: Array.from(s, r6),
    frobenius: r6(Math.sqrt(total)),
    energyRank: energyRank(s, opts.energy ?? 0.9),
    entropyRank: r6(entropyEffectiveRank(s)),
    topShare: r6(total ? (s[0] * s[0]) / total : 0),
    numericalRank: numericalRank(s, m.rows, m.cols, opts.rankEps ?? FLOAT32_EPS),
  };
}

export interface SpectrumEntry {
  layer: number;
  matrix: MlpMatrix;
  delta: SpectrumStats;
  it: SpectrumStats;
  normRatio: number;
}

export interface SpectrumResult {
  kind: "spectrum";
  energy: number;
  entries: SpectrumEntry[];
}

function layersOf(model: GPT, opts: SpectrumOptions): number[] {
  return opts.layers ?? Array.from({ length: model.config.n_layer }, (_, l) => l);
}

export function runSpectrum(it: GPT, st: GPT, opts: SpectrumOptions = {}): SpectrumResult {
  checkSameArchitecture(it, st);
  const entries: SpectrumEntry[] = [];
  for (const layer of layersOf(it, opts)) {
    for (const matrix of opts.matrices ?? MLP_MATRICES) {
      const delta = spectrumOf(deltaMat(it, st, layer, matrix), opts), w = spectrumOf(weightMat(it, layer, matrix), opts);
      entries.push({ layer, matrix, delta, it: w, normRatio: r6(delta.frobenius / w.frobenius) });
    }
  }
  return { kind: "spectrum", energy: opts.energy ?? 0.9, entries };
}

export interface EvolutionPoint {
  step: number;
  layer: number;
  matrix: MlpMatrix;
  energyRank: number;
  entropyRank: number;
  topShare: number;
  normRatio: number;
}

export interface SpectrumEvolutionResult {
  kind: "spectrum-evolution";
  energy: number;
  /** 90%-energy rank etc. of W_IT itself, for reference lines. */
  it: { layer: number; matrix: MlpMatrix; energyRank: number; entropyRank: number }[];
  points: EvolutionPoint[];
}

/**
 * ΔW statistics for each checkpoint (e.g. `checkpoints/step-N` of a safety run) against the same W_IT.
 * Checkpoints may be loaded lazily: `load()` is called once per checkpoint, in order.
 */
export function spectrumEvolution(it: GPT, checkpoints: readonly { step: number; load: () => GPT }[], opts: SpectrumOptions = {}): SpectrumEvolutionResult {
  const layers = layersOf(it, opts), mats = opts.matrices ?? MLP_MATRICES;
  const base = new Map<string, SpectrumStats>();
  for (const layer of layers) for (const matrix of mats) base.set(`${layer}/${matrix}`, spectrumOf(weightMat(it, layer, matrix), opts));
  const points: EvolutionPoint[] = [];
  for (const ck of [...checkpoints].sort((a, b) => a.step - b.step)) {
    const model = ck.load();
    checkSameArchitecture(it, model, "instruction-tuned model and checkpoint");
    for (const layer of layers) {
      for (const matrix of mats) {
        const d = spectrumOf(deltaMat(it, model, layer, matrix), opts);
        points.push({ step: ck.step, layer, matrix, energyRank: d.energyRank, entropyRank: d.entropyRank, topShare: d.topShare, normRatio: r6(d.frobenius / base.get(`${layer}/${matrix}`)!.frobenius) });
      }
    }
  }
  const itStats = [...base.entries()].map(([key, s]) => {
    const [layer, matrix] = key.split("/");
    return { layer: Number(layer), matrix: matrix as MlpMatrix, energyRank: s.energyRank, entropyRank: s.entropyRank };
  });
  return { kind: "spectrum-evolution", energy: opts.energy ?? 0.9, it: itStats, points };
}

/** Singular values of ΔW and W_IT per layer (log scale), faceted by matrix. */
export function spectrumPlot(r: SpectrumResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const e of r.entries) {
    for (const [series, s] of [["ΔW", e.delta], ["W_IT", e.it]] as const) {
      s.sigma.forEach((sigma, i) => { if (sigma > 0) rows.push({ layer: `layer ${e.layer}`, matrix: e.matrix, i, sigma, series }); });
    }
  }
  return curvesSpec({ title: "Singular values of ΔW = W_ST − W_IT and of W_IT", rows, x: "i", y: "sigma", xTitle: "index", yTitle: "σ_i", logY: true, points: false, column: "layer", row: "matrix", width: 160, height: 140 });
}

/** 90%-energy and entropy ranks of ΔW against the fine-tuning step. */
export function spectrumEvolutionPlot(r: SpectrumEvolutionResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const p of r.points) {
    rows.push({ matrix: p.matrix, stat: "90%-energy rank", step: p.step, value: p.energyRank, series: `layer ${p.layer}` });
    rows.push({ matrix: p.matrix, stat: "entropy effective rank", step: p.step, value: p.entropyRank, series: `layer ${p.layer}` });
    rows.push({ matrix: p.matrix, stat: "‖ΔW‖/‖W_IT‖", step: p.step, value: p.normRatio, series: `layer ${p.layer}` });
  }
  return curvesSpec({ title: "ΔW over safety fine-tuning", rows, x: "step", y: "value", xTitle: "step", yTitle: "", column: "stat", row: "matrix", width: 180, height: 130 });
}
