/**
 * Float32 dense kernels behind the streamed ΔW analysis (deltaw-range.ts): a blocked, pivoted Cholesky factorisation
 * of a Gram matrix and a blocked inverse of an upper-triangular matrix.
 *
 * Both are written for n ≈ 4096 (Llama-2 7B's hidden size), where O(n³) float64 loops in JavaScript take tens of
 * seconds while the engine's native sgemm runs at ~200 GFLOP/s. So the O(n³) part (trailing updates, off-diagonal
 * blocks) goes through sgemm in float32, and only the O(n²·b) panel work runs in float64 JavaScript. Float32 is
 * enough here because the inputs are themselves float32 Grams (their rounding error is ε₃₂·‖G‖ already), and the
 * caller repeats the orthogonalisation (CholeskyQR2), which removes the error of the first pass.
 *
 * Layout: row-major Float32Arrays with explicit leading dimensions, like the kernel interface.
 */
import { backend } from "../engine/backend/index.js";

export interface PivotedCholesky {
  /** Order of the factored matrix. */
  n: number;
  /** Number of pivots taken before every remaining Schur-complement diagonal was ≤ tau. */
  rank: number;
  /** Column k of R belongs to column perm[k] of G (ΠᵀGΠ ≈ RᵀR). */
  perm: Int32Array;
  /** Largest remaining Schur diagonal when the factorisation stopped (0 when rank = n). */
  residual: number;
}

/**
 * Right-looking pivoted Cholesky ΠᵀGΠ = RᵀR of a symmetric PSD float32 matrix G [n, n] (full storage, ld n),
 * IN PLACE: on return rows 0..rank−1 of `g` hold R (upper trapezoidal [rank, n] in pivoted column order, zeros below
 * the diagonal); the other rows are scratch. Stops when the largest remaining Schur diagonal is ≤ tau (the rank
 * decision; see deltaw-range.ts for the tolerance).
 *
 * Pivoting follows LAPACK's dpstrf: the diagonal of the Schur complement is kept up to date step by step (float64),
 * while the off-diagonal Schur complement is only brought up to date once per panel of `block` steps, by one sgemm.
 * Within a panel, row i of R is G's row (as of the panel start) minus the panel rows computed so far.
 * `lazy` pivots only when the natural pivot is below half the largest (for well-conditioned G; still stops at tau).
 */
export function pivotedCholesky(g: Float32Array, n: number, tau: number, opts: { lazy?: boolean; block?: number } = {}): PivotedCholesky {
  const block = opts.block ?? 64, lazy = opts.lazy ?? false;
  if (g.length < n * n) throw new RangeError(`pivotedCholesky: ${g.length} values for ${n}×${n}`);
  const be = backend();
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const d = new Float64Array(n); // Schur-complement diagonal
  for (let j = 0; j < n; j++) d[j] = g[j * n + j];
  const acc = new Float64Array(n);
  let rank = n, residual = 0;
  outer: for (let k0 = 0; k0 < n; k0 += block) {
    const k1 = Math.min(n, k0 + block);
    for (let i = k0; i < k1; i++) {
      let p = i;
      for (let j = i + 1; j < n; j++) if (d[j] > d[p]) p = j;
      // Lazy pivoting (for Grams close to I): keep the natural order unless it would take a pivot far below the
      // largest, which avoids n strided column swaps per step when there is nothing to reveal.
      if (lazy && d[i] >= 0.5 * d[p]) p = i;
      if (!(d[p] > tau)) { // also stops on NaN
        rank = i;
        residual = Math.max(0, d[p]);
        break outer;
      }
      if (p !== i) swapSymmetric(g, n, k0, i, p, perm, d);
      // Row i of R: (G[i, j] − Σ_{k0 ≤ k < i} R[k, i]·R[k, j]) / R[i, i], j > i.
      const rii = Math.sqrt(d[i]);
      const oi = i * n;
      for (let j = i + 1; j < n; j++) acc[j] = g[oi + j];
      for (let k = k0; k < i; k++) {
        const ok = k * n, c = g[ok + i];
        if (c === 0) continue;
        for (let j = i + 1; j < n; j++) acc[j] -= c * g[ok + j];
      }
      g[oi + i] = rii;
      for (let j = i + 1; j < n; j++) {
        const v = acc[j] / rii;
        g[oi + j] = v;
        d[j] -= v * v;
      }
    }
    if (k1 < n) {
      // Schur update of the trailing block: G[k1:, k1:] −= R[k0:k1, k1:]ᵀ · R[k0:k1, k1:]  (sgemm, beta = 1).
      const w = n - k1, b = k1 - k0;
      const neg = new Float32Array(b * w); // [b, w] = −R[k0:k1, k1:]
      for (let k = 0; k < b; k++) for (let j = 0; j < w; j++) neg[k * w + j] = -g[(k0 + k) * n + k1 + j];
      be.sgemm(true, false, w, w, b, neg, w, g.subarray(k0 * n + k1), n, 1, g.subarray(k1 * n + k1), n);
      for (let j = k1; j < n; j++) d[j] = g[j * n + j];
    }
  }
  // Clean R: zeros below the diagonal of the kept rows (they held stale Gram entries).
  for (let i = 0; i < rank; i++) g.fill(0, i * n, i * n + i);
  return { n, rank, perm, residual };
}

/**
 * Symmetric swap of indices i and p (p > i ≥ k0) in the partially factored matrix: rows are swapped over the active
 * columns k0..n−1 (columns before k0 of Schur rows are stale and never read), columns over all rows (rows < i hold
 * R, whose columns follow the pivoting).
 */
function swapSymmetric(g: Float32Array, n: number, k0: number, i: number, p: number, perm: Int32Array, d: Float64Array): void {
  const oi = i * n, op = p * n;
  for (let j = k0; j < n; j++) {
    const t = g[oi + j];
    g[oi + j] = g[op + j];
    g[op + j] = t;
  }
  for (let r = 0; r < n; r++) {
    const o = r * n, t = g[o + i];
    g[o + i] = g[o + p];
    g[o + p] = t;
  }
  const tp = perm[i];
  perm[i] = perm[p];
  perm[p] = tp;
  const td = d[i];
  d[i] = d[p];
  d[p] = td;
}

/**
 * X = R⁻¹ for an upper-triangular R [r, r] stored with leading dimension ldr (only the upper triangle is read).
 * Returns X [r, r] row-major (ld r, zeros below the diagonal). Blocked back substitution from the bottom block row:
 * X_JJ = R_JJ⁻¹ in float64, then X[J, >J] = −X_JJ · (R[J, >J] · X[>J, >J]) by two sgemms (~⅔·r³ flops in all).
 */
export function invertUpper(rm: Float32Array, ldr: number, r: number, block = 128): Float32Array {
  const be = backend();
  const x = new Float32Array(r * r);
  const starts: number[] = [];
  for (let j0 = 0; j0 < r; j0 += block) starts.push(j0);
  for (let bi = starts.length - 1; bi >= 0; bi--) {
    const j0 = starts[bi], j1 = Math.min(r, j0 + block), bs = j1 - j0;
    const inv = invertUpperSmall(rm, ldr, j0, bs); // [bs, bs] float64
    for (let a = 0; a < bs; a++) for (let c = a; c < bs; c++) x[(j0 + a) * r + j0 + c] = inv[a * bs + c];
    const w = r - j1;
    if (w === 0) continue;
    const s = new Float32Array(bs * w); // [bs, w] = R[J, >J] · X[>J, >J]
    be.sgemm(false, false, bs, w, w, rm.subarray(j0 * ldr + j1), ldr, x.subarray(j1 * r + j1), r, 0, s, w);
    const negInv = Float32Array.from(inv, (v) => -v); // [bs, bs]
    be.sgemm(false, false, bs, w, bs, negInv, bs, s, w, 0, x.subarray(j0 * r + j1), r);
  }
  return x;
}

/** Inverse of the bs×bs upper-triangular diagonal block of R starting at (j0, j0), by float64 back substitution. */
function invertUpperSmall(rm: Float32Array, ldr: number, j0: number, bs: number): Float64Array {
  const inv = new Float64Array(bs * bs);
  const at = (a: number, c: number) => rm[(j0 + a) * ldr + j0 + c];
  // Column c of the inverse solves R_JJ y = e_c; y[a] = 0 for a > c.
  for (let c = 0; c < bs; c++) {
    for (let a = c; a >= 0; a--) {
      let s = a === c ? 1 : 0;
      for (let t = a + 1; t <= c; t++) s -= at(a, t) * inv[t * bs + c];
      inv[a * bs + c] = s / at(a, a);
    }
  }
  return inv;
}
