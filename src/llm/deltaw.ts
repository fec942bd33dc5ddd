/**
 * Column space of ΔW = W_chat − W_base vs the null space of W_base, for Llama-size MLP matrices (paper §7 / App. B,
 * the Llama rows of Fig. 4), streamed: one layer and one matrix at a time, from lazily loaded sources.
 *
 * The quantity is the synthetic analysis's (columnspace.ts, docs/analyses.md §2) on its informative side:
 *  - tall W [L, S] (gate_proj, up_proj: [11008, 4096]): left singular vectors u_i of ΔW vs N(W_baseᵀ) ⊂ R^L,
 *    value_i = ‖(I − P_range(W_base)) u_i‖ (like c_fc/left);
 *  - wide W [S, L] (down_proj: [4096, 11008]): right singular vectors v_i vs N(W_base) ⊂ R^L,
 *    value_i = ‖(I − P_range(W_baseᵀ)) v_i‖ (like c_proj/right).
 * Both live in the 11008-dimensional intermediate space. The other side's null space is trivial at full rank.
 *
 * Tested vectors: the top singular vectors of ΔW holding `energy` (90%) of ‖ΔW‖_F², at most `maxVectors`; the
 * result says when the cap bit. Large ΔW use the randomized SVD (rsvd.ts, sgemm), small ones the exact SVD.
 * The projector onto range(W_base) is built by pivoted CholeskyQR2 on sgemm (deltaw-range.ts explains why).
 *
 * Memory: at most two weight-sized buffers live at once. W_chat is loaded, then W_base; ΔW is formed in W_chat's
 * buffer; after the SVD ΔW is dropped and W_base's buffer is turned into the basis in place. Extra: the S×S Gram
 * and factors (3 × 64 MiB at S = 4096) and [k, L] blocks of vectors.
 */
import { backend } from "../engine/backend/index.js";
import { Rng } from "../engine/rng.js";
import { FLOAT32_EPS, svd, toMat, type SVD } from "../analysis/linalg.js";
import { randomizedSvd } from "../analysis/rsvd.js";
import { mean, r6, std } from "../analysis/stats.js";
import { UserError } from "../util/errors.js";
import { rangeBasis, residualNorms } from "./deltaw-range.js";

/** A weight matrix that is read only when needed. load() returns a fresh [rows, cols] row-major array (consumed). */
export interface MatrixSource {
  rows: number;
  cols: number;
  load(): Float32Array;
}

export type LlamaMlpMatrix = "gate_proj" | "up_proj" | "down_proj";

export interface DeltaWOptions {
  /** Energy fraction of ‖ΔW‖_F² whose singular vectors are tested (default 0.9). */
  energy?: number;
  /** At most this many vectors (default 64). */
  maxVectors?: number;
  /** ε of the rank rule max(m,n)·ε·σ_max (default 2⁻²³, as columnspace.ts). */
  rankEps?: number;
  /** Random directions for the sampled baseline (default 200; 0 skips it). */
  samples?: number;
  seed?: number;
  /** SVD of ΔW: "auto" (default) = exact when min(rows, cols) ≤ 256, randomized otherwise. */
  svd?: "auto" | "exact" | "randomized";
  /** Randomized SVD: extra directions (default 24) and power iterations (default 6). */
  oversample?: number;
  powerIters?: number;
  /** Labels copied into the result. */
  layer?: number;
  matrix?: string;
}

export interface DeltaWResult {
  kind: "llm-deltaw";
  layer: number | null;
  matrix: string | null;
  /** Stored shape [rows, cols] of W. */
  shape: [number, number];
  /** "left": u_i vs N(W_baseᵀ) (tall W); "right": v_i vs N(W_base) (wide W). */
  side: "left" | "right";
  /** Dimension of the space the vectors live in (max(rows, cols)), rank of W_base, null-space dimension. */
  ambient: number;
  rankBase: number;
  nullDim: number;
  /** σ threshold used for rankBase = max(rule, Gram floor); the exact rule max(m,n)·ε·σ_max alone; σ_max(W_base). */
  rankTol: number;
  rankTolRule: number;
  sigmaMaxBase: number;
  energy: number;
  /** Vectors tested; the energy rank if it was found within the computed vectors (null when capped); cap hit? */
  k: number;
  kEnergy: number | null;
  capped: boolean;
  /** Share of ‖ΔW‖_F² held by the k tested vectors. */
  energyCaptured: number;
  normBase: number;
  normDelta: number;
  normRatio: number;
  /** Per tested vector, in singular-value order. */
  sigma: number[];
  projection: number[];
  mean: number;
  min: number;
  fracAbove09: number;
  baselineAnalytic: number;
  baselineSampled: { mean: number; std: number; n: number };
  method: {
    svd: "exact" | "randomized";
    oversample: number | null;
    powerIters: number | null;
    projector: "pivoted CholeskyQR2 (float32 sgemm)";
    choleskyPasses: number;
    /** max|QᵀQ − I| seen before the second (and third) pass. */
    gramDeviation: number[];
  };
  /** Wall seconds per stage; `projector` includes σ_max(W_base) and the factorisation parts listed in projectorParts. */
  seconds: { load: number; subtract: number; svd: number; projector: number; projections: number; total: number };
  projectorParts: { sigmaMax: number; gram: number; cholesky: number; inverse: number; transform: number };
}

const clock = () => Number(process.hrtime.bigint()) / 1e9;

function loadChecked(src: MatrixSource, what: string, rows: number, cols: number): Float32Array {
  const a = src.load();
  if (!(a instanceof Float32Array)) throw new UserError(`deltaW: ${what}.load() returned ${Object.prototype.toString.call(a)}, expected a Float32Array`);
  if (a.length !== rows * cols) throw new UserError(`deltaW: ${what}.load() returned ${a.length} values, expected ${rows}×${cols} = ${rows * cols}`);
  return a;
}

/** Top singular vectors of ΔW on the informative side, with the energy selection (k ≤ maxVectors). */
function deltaVectors(delta: Float32Array, rows: number, cols: number, total: number, o: Required<Pick<DeltaWOptions, "energy" | "maxVectors" | "seed" | "oversample" | "powerIters">> & { exact: boolean }) {
  const tall = rows >= cols, L = Math.max(rows, cols);
  const want = Math.min(o.maxVectors, rows, cols);
  const d: SVD = o.exact ? svd(toMat(delta, rows, cols)) : randomizedSvd(delta, rows, cols, { rank: want, oversample: o.oversample, powerIters: o.powerIters, seed: o.seed });
  let acc = 0, kEnergy: number | null = null;
  for (let i = 0; i < d.s.length && kEnergy === null; i++) {
    acc += d.s[i] * d.s[i];
    if (acc >= o.energy * total * (1 - 1e-12)) kEnergy = i + 1;
  }
  if (total === 0) kEnergy = 0;
  const capped = kEnergy === null || kEnergy > want;
  const k = capped ? want : kEnergy!;
  const vecs = tall ? d.Ut! : d.Vt!;
  const x = Float32Array.from(vecs.data.subarray(0, k * L)); // [k, L]
  let held = 0;
  for (let i = 0; i < k; i++) held += d.s[i] * d.s[i];
  return { k, kEnergy: capped ? (o.exact ? kEnergy : null) : kEnergy, capped, x, sigma: Array.from(d.s.subarray(0, k)), energyCaptured: total > 0 ? held / total : 0 };
}

/**
 * The analysis for one matrix pair. Both sources are loaded once; their arrays are consumed (overwritten).
 * Bad shapes or loads throw one-line UserErrors.
 */
export function analyzeDeltaW(base: MatrixSource, chat: MatrixSource, opts: DeltaWOptions = {}): DeltaWResult {
  const { rows, cols } = base;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) throw new UserError(`deltaW: base shape ${rows}×${cols} is not a positive integer shape`);
  if (chat.rows !== rows || chat.cols !== cols) throw new UserError(`deltaW: chat shape ${chat.rows}×${chat.cols} differs from base shape ${rows}×${cols}`);
  const energy = opts.energy ?? 0.9, maxVectors = opts.maxVectors ?? 64, samples = opts.samples ?? 200, seed = opts.seed ?? 0;
  if (!(energy > 0 && energy <= 1)) throw new UserError(`deltaW: energy must be in (0, 1], got ${energy}`);
  if (!Number.isInteger(maxVectors) || maxVectors < 1) throw new UserError(`deltaW: maxVectors must be a positive integer, got ${maxVectors}`);
  if (!Number.isInteger(samples) || samples < 0) throw new UserError(`deltaW: samples must be a non-negative integer, got ${samples}`);
  const mode = opts.svd ?? "auto";
  if (mode !== "auto" && mode !== "exact" && mode !== "randomized") throw new UserError(`deltaW: svd must be auto, exact or randomized, got ${String(mode)}`);
  const exact = mode === "exact" || (mode === "auto" && Math.min(rows, cols) <= 256);
  const oversample = opts.oversample ?? 24, powerIters = opts.powerIters ?? 6;
  const be = backend();
  const L = Math.max(rows, cols), n = rows * cols;
  const t0 = clock();

  // Stage 1: load both (chat first, so ΔW can take its buffer), then ΔW = W_chat − W_base in place.
  let delta: Float32Array | null = loadChecked(chat, "chat", rows, cols);
  const w = loadChecked(base, "base", rows, cols);
  const t1 = clock();
  const normBase = Math.sqrt(be.sumSquares(w, n));
  if (!Number.isFinite(normBase)) throw new UserError("deltaW: the base matrix holds NaN or infinite values");
  be.axpy(delta, -1, w, n);
  const total = be.sumSquares(delta, n);
  if (!Number.isFinite(total)) throw new UserError("deltaW: the chat matrix holds NaN or infinite values");
  const t2 = clock();

  // Stage 2: ΔW's top singular vectors; ΔW is not needed afterwards.
  const sel = deltaVectors(delta, rows, cols, total, { energy, maxVectors, seed, oversample, powerIters, exact });
  delta = null;
  const t3 = clock();

  // Stage 3: σ_max(W_base) for the rank rule (a cheap rank-1 randomized SVD), then the basis of range(W_base).
  const sigmaMax = randomizedSvd(w, rows, cols, { rank: 1, oversample: 7, powerIters: 4, seed: seed + 1, vectors: false }).s[0] ?? 0;
  const t3s = clock();
  const basis = rangeBasis(w, rows, cols, sigmaMax, opts.rankEps ?? FLOAT32_EPS);
  const t4 = clock();

  // Stage 4: projections of the tested vectors and of the random directions.
  const proj = Array.from(residualNorms(basis, sel.x, sel.k));
  let sampled = { mean: 0, std: 0, n: 0 };
  if (samples > 0 && basis.rank < L) {
    const rng = new Rng(seed, 41);
    const g = new Float32Array(samples * L);
    for (let i = 0; i < g.length; i++) g[i] = rng.normal();
    const v = residualNorms(basis, g, samples);
    sampled = { mean: r6(mean(v)), std: r6(std(v)), n: samples };
  }
  const t5 = clock();

  const r = basis.rank;
  return {
    kind: "llm-deltaw",
    layer: opts.layer ?? null,
    matrix: opts.matrix ?? null,
    shape: [rows, cols],
    side: rows >= cols ? "left" : "right",
    ambient: L,
    rankBase: r,
    nullDim: L - r,
    rankTol: r6(basis.tol),
    rankTolRule: r6(basis.tolSvdRule),
    sigmaMaxBase: r6(sigmaMax),
    energy,
    k: sel.k,
    kEnergy: sel.kEnergy,
    capped: sel.capped,
    energyCaptured: r6(sel.energyCaptured),
    normBase: r6(normBase),
    normDelta: r6(Math.sqrt(total)),
    normRatio: r6(normBase > 0 ? Math.sqrt(total) / normBase : 0),
    sigma: sel.sigma.map(r6),
    projection: proj.map(r6),
    mean: r6(proj.length ? mean(proj) : 0),
    min: r6(proj.length ? Math.min(...proj) : 0),
    fracAbove09: r6(proj.filter((p) => p >= 0.9).length / Math.max(1, proj.length)),
    baselineAnalytic: r6(Math.sqrt((L - r) / L)),
    baselineSampled: sampled,
    method: {
      svd: exact ? "exact" : "randomized",
      oversample: exact ? null : oversample,
      powerIters: exact ? null : powerIters,
      projector: "pivoted CholeskyQR2 (float32 sgemm)",
      choleskyPasses: basis.passes,
      gramDeviation: basis.gramDeviation.map(r6),
    },
    seconds: { load: r6(t1 - t0), subtract: r6(t2 - t1), svd: r6(t3 - t2), projector: r6(t4 - t3), projections: r6(t5 - t4), total: r6(t5 - t0) },
    projectorParts: { sigmaMax: r6(t3s - t3), gram: r6(basis.seconds.gram), cholesky: r6(basis.seconds.cholesky), inverse: r6(basis.seconds.inverse), transform: r6(basis.seconds.transform) },
  };
}
