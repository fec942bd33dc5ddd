/**
 * Activation-space clustering (paper Fig. 3, "Eq. 2").
 *
 * Features a_ℓ(x): the GELU output of block ℓ's MLP (`blocks.ℓ.mlp.hook_post`, all 4C units by default), averaged
 * over the 10 positions starting at EOT. Cluster means μ_S, μ_U come from a *reference* sample of safe and unsafe
 * inputs, disjoint from the test inputs they are applied to. Per layer
 *
 *   τ(x)     = ‖a − μ_U‖ − ‖a − μ_S‖           (> 0: nearer the safe mean)
 *   τ_cos(x) = cos(a, μ_S) − cos(a, μ_U)       (same sign convention; the reference's d_cos is the negation)
 *
 * Reported per layer and model: mean ± std of τ for safe and unsafe test inputs, the gap mean(τ_safe) −
 * mean(τ_unsafe), the AUC of τ separating safe (positive) from unsafe, ‖μ_U − μ_S‖, and the spectrum of each
 * centred test cluster: the share σ_i²/Σσ² of its top singular values (the paper's "unsafe cluster: top singular
 * value up to 62%").
 */
import type { GPT } from "../model/gpt.js";
import { curvesSpec, bandSpec } from "../plot/specs.js";
import type { VlSpec } from "../plot/render.js";
import { extractFeatures, type FeatureOptions, type LayerFeatures, type SeqInput } from "./features.js";
import { dot, zerosMat } from "./linalg.js";
import { gramSingularValues } from "./symeig.js";
import { auc, mean, r6, std } from "./stats.js";

export type TauMetric = "l2" | "cos";

export interface Centroids {
  hook: string;
  layers: number[];
  dim: number;
  muSafe: Float64Array[];
  muUnsafe: Float64Array[];
}

function columnMean(f: LayerFeatures, li: number): Float64Array {
  const dim = f.dim, mu = new Float64Array(dim), d = f.data[li];
  for (let i = 0; i < f.n; i++) {
    const o = i * dim;
    for (let c = 0; c < dim; c++) mu[c] += d[o + c];
  }
  for (let c = 0; c < dim; c++) mu[c] /= Math.max(1, f.n);
  return mu;
}

/** μ_S and μ_U per layer from reference features. */
export function centroids(safe: LayerFeatures, unsafe: LayerFeatures): Centroids {
  if (safe.dim !== unsafe.dim || safe.layers.join() !== unsafe.layers.join()) throw new RangeError("centroids: safe and unsafe features differ in layers or dim");
  if (safe.n === 0 || unsafe.n === 0) throw new RangeError("centroids: empty reference set");
  return {
    hook: safe.hook,
    layers: safe.layers,
    dim: safe.dim,
    muSafe: safe.layers.map((_, li) => columnMean(safe, li)),
    muUnsafe: safe.layers.map((_, li) => columnMean(unsafe, li)),
  };
}

/** τ of one feature vector against one layer's centroids. */
export function tauOf(a: ArrayLike<number>, muSafe: ArrayLike<number>, muUnsafe: ArrayLike<number>, metric: TauMetric = "l2"): number {
  const n = a.length;
  if (metric === "l2") {
    let du = 0, ds = 0;
    for (let c = 0; c < n; c++) {
      du += (a[c] - muUnsafe[c]) ** 2;
      ds += (a[c] - muSafe[c]) ** 2;
    }
    return Math.sqrt(du) - Math.sqrt(ds);
  }
  const na = Math.sqrt(dot(a, a)), ns = Math.sqrt(dot(muSafe, muSafe)), nu = Math.sqrt(dot(muUnsafe, muUnsafe));
  const cs = na && ns ? dot(a, muSafe) / (na * ns) : 0, cu = na && nu ? dot(a, muUnsafe) / (na * nu) : 0;
  return cs - cu;
}

/** τ per layer for every row of f: result[li][i]. */
export function tau(f: LayerFeatures, c: Centroids, metric: TauMetric = "l2"): Float64Array[] {
  if (f.dim !== c.dim || f.layers.join() !== c.layers.join()) throw new RangeError("tau: features and centroids differ in layers or dim");
  return f.layers.map((_, li) => {
    const out = new Float64Array(f.n), d = f.data[li];
    for (let i = 0; i < f.n; i++) out[i] = tauOf(d.subarray(i * f.dim, (i + 1) * f.dim), c.muSafe[li], c.muUnsafe[li], metric);
    return out;
  });
}

/**
 * Shares σ_i²/Σσ² of the top `k` singular values of the centred rows of one layer. The singular values come from
 * the eigenvalues of the Gram matrix of the smaller side (symeig.ts): exact to ε·σ₁², which is all a share needs.
 */
export function clusterSpectrumShares(f: LayerFeatures, li: number, k = 5): number[] {
  const mu = columnMean(f, li), dim = f.dim, src = f.data[li];
  const x = zerosMat(f.n, dim), xd = x.data;
  let total = 0;
  for (let i = 0; i < f.n; i++) {
    const o = i * dim;
    for (let c = 0; c < dim; c++) {
      const v = src[o + c] - mu[c];
      xd[o + c] = v;
      total += v * v;
    }
  }
  if (total === 0 || f.n < 2) return [];
  return Array.from(gramSingularValues(x, k), (v) => (v * v) / total);
}

export interface GroupTau {
  mean: number;
  std: number;
  n: number;
}

export interface ClusterLayerStats {
  layer: number;
  centroidDistance: number;
  l2: { safe: GroupTau; unsafe: GroupTau; gap: number; auc: number };
  cos: { safe: GroupTau; unsafe: GroupTau; gap: number; auc: number };
  /** Top singular-value shares σ_i²/Σσ² of the centred test clusters. */
  spectrum: { safe: number[]; unsafe: number[] };
}

export interface ClusteringModelResult {
  label: string;
  layers: ClusterLayerStats[];
}

export interface ClusteringOptions extends Partial<FeatureOptions> {
  /** Singular-value shares reported per cluster (default 5). */
  spectrumK?: number;
}

export interface ClusterData {
  refSafe: readonly SeqInput[];
  refUnsafe: readonly SeqInput[];
  testSafe: readonly SeqInput[];
  testUnsafe: readonly SeqInput[];
}

export function groupTau(xs: ArrayLike<number>): GroupTau {
  return { mean: r6(mean(xs)), std: r6(std(xs)), n: xs.length };
}

export function featureOptions(o: Partial<FeatureOptions>): FeatureOptions {
  return { hook: o.hook ?? "mlp.hook_post", window: o.window ?? 10, ...(o.layers ? { layers: o.layers } : {}), ...(o.units ? { units: o.units } : {}), batchSize: o.batchSize ?? 64 };
}

/** Cluster statistics from precomputed features (pure; used by the driver and by tests). */
export function clusterStats(c: Centroids, safe: LayerFeatures, unsafe: LayerFeatures, opts: { spectrumK?: number } = {}): ClusterLayerStats[] {
  const per = (metric: TauMetric) => {
    const ts = tau(safe, c, metric), tu = tau(unsafe, c, metric);
    return c.layers.map((_, li) => ({ safe: groupTau(ts[li]), unsafe: groupTau(tu[li]), gap: r6(mean(ts[li]) - mean(tu[li])), auc: r6(auc(ts[li], tu[li])) }));
  };
  const l2 = per("l2"), cos = per("cos");
  return c.layers.map((layer, li) => {
    let d2 = 0;
    for (let k = 0; k < c.dim; k++) d2 += (c.muSafe[li][k] - c.muUnsafe[li][k]) ** 2;
    return {
      layer,
      centroidDistance: r6(Math.sqrt(d2)),
      l2: l2[li],
      cos: cos[li],
      spectrum: {
        safe: clusterSpectrumShares(safe, li, opts.spectrumK ?? 5).map(r6),
        unsafe: clusterSpectrumShares(unsafe, li, opts.spectrumK ?? 5).map(r6),
      },
    };
  });
}

/** Features → centroids → statistics for one model. Returns the centroids too (for jailbreak τ, Fig. 7). */
export function clusteringForModel(label: string, model: GPT, data: ClusterData, opts: ClusteringOptions = {}): { result: ClusteringModelResult; centroids: Centroids } {
  const fo = featureOptions(opts);
  const c = centroids(extractFeatures(model, data.refSafe, fo), extractFeatures(model, data.refUnsafe, fo));
  const layers = clusterStats(c, extractFeatures(model, data.testSafe, fo), extractFeatures(model, data.testUnsafe, fo), opts);
  return { result: { label, layers }, centroids: c };
}

export interface ClusteringResult {
  kind: "clustering";
  hook: string;
  window: number;
  units: number | "all";
  n: { refSafe: number; refUnsafe: number; testSafe: number; testUnsafe: number };
  models: ClusteringModelResult[];
}

/** Fig. 3 for several models (e.g. IT and ST), each with its own centroids. */
export function runClustering(models: readonly { label: string; model: GPT }[], data: ClusterData, opts: ClusteringOptions = {}): { result: ClusteringResult; centroids: Map<string, Centroids> } {
  const fo = featureOptions(opts);
  const cents = new Map<string, Centroids>();
  const out: ClusteringModelResult[] = [];
  for (const { label, model } of models) {
    const r = clusteringForModel(label, model, data, opts);
    out.push(r.result);
    cents.set(label, r.centroids);
  }
  return {
    result: {
      kind: "clustering",
      hook: fo.hook,
      window: fo.window!,
      units: fo.units ?? "all",
      n: { refSafe: data.refSafe.length, refUnsafe: data.refUnsafe.length, testSafe: data.testSafe.length, testUnsafe: data.testUnsafe.length },
      models: out,
    },
    centroids: cents,
  };
}

/** Fig. 3: mean ± std of τ per layer, safe vs unsafe; columns = models, rows = L2 / cosine. */
export function clusteringPlot(r: ClusteringResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const m of r.models) {
    for (const s of m.layers) {
      for (const metric of ["l2", "cos"] as const) {
        for (const g of ["safe", "unsafe"] as const) {
          const t = s[metric][g];
          rows.push({ model: m.label, metric: metric === "l2" ? "τ (L2)" : "τ (cosine)", layer: s.layer, group: g, mean: t.mean, lo: t.mean - t.std, hi: t.mean + t.std });
        }
      }
    }
  }
  return bandSpec({ title: "Activation-space clustering: τ = ‖a − μ_unsafe‖ − ‖a − μ_safe‖", rows, x: "layer", xTitle: "layer", yTitle: "τ (mean ± std)", column: "model", row: "metric", independentY: true });
}

/** Top singular-value shares of the clusters per layer (the "low-rank unsafe cluster" claim). */
export function clusterSpectrumPlot(r: ClusteringResult): VlSpec {
  const rows: Record<string, unknown>[] = [];
  for (const m of r.models) for (const s of m.layers) for (const g of ["safe", "unsafe"] as const) rows.push({ model: m.label, layer: s.layer, series: g, share: s.spectrum[g][0] ?? null });
  return curvesSpec({ title: "Share of the top singular value (σ₁²/Σσ²) of each centred cluster", rows, x: "layer", y: "share", xTitle: "layer", yTitle: "σ₁² share", column: "model", yDomain: [0, 1], xOrdinal: true });
}
