/**
 * Truncated SVD by randomized subspace iteration (Halko, Martinsson & Tropp 2011, Alg. 4.4): for matrices too large
 * for the exact SVD (7B-model weights, 4096×11008) and for the top of a spectrum when only a few values are needed
 * (the clusters' leading singular values).
 *
 * The matrix is only touched through products with blocks of vectors, so the same driver runs on
 *  - `sgemmOperator`: a float32 row-major matrix, products through the engine's sgemm (native kernels);
 *  - `denseOperator`: a float64 `Mat`, plain loops.
 * Blocks are stored as rows ([l, m] or [l, n]) and re-orthonormalised in float64 after every product, which keeps
 * the power iterations stable (no loss of the small directions to round-off).
 */
import { backend } from "../engine/backend/index.js";
import { Rng } from "../engine/rng.js";
import { orthonormalize, svd, zerosMat, type Mat, type SVD } from "./linalg.js";

/** A linear map A: Rⁿ → Rᵐ seen through block products; blocks hold vectors as rows. */
export interface BlockOperator {
  m: number;
  n: number;
  /** rows [l, n] → rows [l, m]: each row x ↦ A x (i.e. X Aᵀ). */
  apply(x: Mat): Mat;
  /** rows [l, m] → rows [l, n]: each row y ↦ Aᵀ y (i.e. Y A). */
  applyT(y: Mat): Mat;
}

/** A float32 row-major [m, n] matrix (e.g. a weight), multiplied with the engine's sgemm. */
export function sgemmOperator(a: Float32Array, m: number, n: number): BlockOperator {
  if (a.length !== m * n) throw new RangeError(`sgemmOperator: ${a.length} values for ${m}×${n}`);
  const be = backend();
  return {
    m, n,
    apply(x) {
      const l = x.rows, xf = Float32Array.from(x.data), out = new Float32Array(l * m);
      be.sgemm(false, true, l, m, n, xf, n, a, n, 0, out, m); // X [l,n] · Aᵀ → [l, m]
      return { rows: l, cols: m, data: Float64Array.from(out) };
    },
    applyT(y) {
      const l = y.rows, yf = Float32Array.from(y.data), out = new Float32Array(l * n);
      be.sgemm(false, false, l, n, m, yf, m, a, n, 0, out, n); // Y [l,m] · A → [l, n]
      return { rows: l, cols: n, data: Float64Array.from(out) };
    },
  };
}

/** A float64 matrix, plain loops (accurate; fine for the few-hundred-wide matrices of the analyses). */
export function denseOperator(a: Mat): BlockOperator {
  const { rows: m, cols: n } = a;
  return {
    m, n,
    apply(x) {
      const out = zerosMat(x.rows, m), ad = a.data, xd = x.data, od = out.data;
      for (let r = 0; r < x.rows; r++) {
        const xo = r * n;
        for (let i = 0; i < m; i++) {
          const ao = i * n;
          let s0 = 0, s1 = 0, j = 0;
          for (; j + 1 < n; j += 2) {
            s0 += ad[ao + j] * xd[xo + j];
            s1 += ad[ao + j + 1] * xd[xo + j + 1];
          }
          if (j < n) s0 += ad[ao + j] * xd[xo + j];
          od[r * m + i] = s0 + s1;
        }
      }
      return out;
    },
    applyT(y) {
      const out = zerosMat(y.rows, n), ad = a.data, yd = y.data, od = out.data;
      for (let r = 0; r < y.rows; r++) {
        const oo = r * n;
        for (let i = 0; i < m; i++) {
          const v = yd[r * m + i];
          if (v === 0) continue;
          const ao = i * n;
          for (let j = 0; j < n; j++) od[oo + j] += v * ad[ao + j];
        }
      }
      return out;
    },
  };
}

export interface TruncatedSvdOptions {
  /** Number of singular triplets wanted. */
  rank: number;
  /** Extra random directions (default 10). */
  oversample?: number;
  /** Power (subspace) iterations (default 4). With `tol`, the maximum. */
  powerIters?: number;
  /** Stop early when the top-`rank` Ritz values change by less than tol (relative). */
  tol?: number;
  seed?: number;
  /** Also return the vectors (default true). */
  vectors?: boolean;
}

/**
 * Approximate top-`rank` SVD: returns an SVD whose s has `rank` entries (Ut [rank, m], Vt [rank, n]).
 * Accuracy of σ_j improves like (σ_{l+1}/σ_j)^(2q+1) with l = rank + oversample and q power iterations.
 */
export function truncatedSvd(op: BlockOperator, opts: TruncatedSvdOptions): SVD & { iterations: number } {
  const { m, n } = op;
  const k = Math.min(opts.rank, m, n);
  const l = Math.min(k + (opts.oversample ?? 10), m, n);
  const rng = new Rng(opts.seed ?? 0, 7);
  const omega = zerosMat(l, n);
  for (let i = 0; i < omega.data.length; i++) omega.data[i] = rng.normal();
  let q = orthonormalize(op.apply(omega)).basis; // [l, m]: orthonormal basis of range(A Ω)
  const maxIt = opts.powerIters ?? 4;
  let prev: Float64Array | null = null;
  let it = 0;
  for (; it < maxIt; it++) {
    const p = orthonormalize(op.applyT(q)).basis; // [l, n]
    q = orthonormalize(op.apply(p)).basis; // [l, m]
    if (opts.tol !== undefined) {
      const cur = svd(op.applyT(q), { vectors: false }).s.subarray(0, k);
      if (prev && cur.every((v, i) => Math.abs(v - prev![i]) <= opts.tol! * Math.max(cur[0], 1e-300))) {
        it++;
        break;
      }
      prev = cur.slice();
    }
  }
  // A ≈ Q Qᵀ A = Q B with B = Qᵀ A [l, n]; B = Ubᵀ diag(s) Vt, so u_j = Qᵀ-rows combined by ub_j.
  const b = op.applyT(q);
  const d = svd(b, { vectors: opts.vectors ?? true });
  const s = d.s.slice(0, k);
  if (!d.Ut || !d.Vt) return { m, n, s, Ut: null, Vt: null, sweeps: d.sweeps, iterations: it };
  const Ut = zerosMat(k, m), Vt = zerosMat(k, n);
  for (let j = 0; j < k; j++) {
    for (let i = 0; i < l; i++) {
      const c = d.Ut.data[j * l + i];
      for (let x = 0; x < m; x++) Ut.data[j * m + x] += c * q.data[i * m + x];
    }
    Vt.data.set(d.Vt.data.subarray(j * n, (j + 1) * n), j * n);
  }
  return { m, n, s, Ut, Vt, sweeps: d.sweeps, iterations: it };
}

/** Randomized SVD of a float32 row-major [m, n] matrix through sgemm (for Llama-size weights). */
export function randomizedSvd(a: Float32Array, m: number, n: number, opts: TruncatedSvdOptions): SVD & { iterations: number } {
  return truncatedSvd(sgemmOperator(a, m, n), opts);
}
