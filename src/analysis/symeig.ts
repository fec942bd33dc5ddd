/**
 * Eigenvalues of a symmetric matrix: Householder tridiagonalisation (values only, 4n³/3 flops) followed by
 * bisection on Sturm counts for every eigenvalue (O(n²) per 60 halvings). Simple and robust; used for the
 * singular-value *shares* of activation clusters through the Gram matrix of the smaller side, where an absolute
 * error of ε·σ₁² in σ² is irrelevant (never for rank decisions: those use the Jacobi SVD).
 */
import { dot, FLOAT64_EPS, type Mat } from "./linalg.js";

/** Reduces symmetric a (copied) to tridiagonal form; returns its diagonal d [n] and off-diagonal e [n − 1]. */
export function tridiagonalize(a: Mat): { d: Float64Array; e: Float64Array } {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`tridiagonalize: ${a.rows}×${a.cols} is not square`);
  const A = a.data.slice();
  const e = new Float64Array(Math.max(0, n - 1));
  const v = new Float64Array(n), p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // x = A[k+1 .., k]; reflect it onto α·e₁.
    let xx = 0;
    for (let i = k + 1; i < n; i++) xx += A[i * n + k] ** 2;
    const x0 = A[(k + 1) * n + k];
    const xn = Math.sqrt(xx);
    if (xn === 0) continue;
    const alpha = x0 > 0 ? -xn : xn;
    for (let i = k + 1; i < n; i++) v[i] = A[i * n + k];
    v[k + 1] -= alpha;
    const vv = xx - 2 * alpha * x0 + alpha * alpha;
    const beta = 2 / vv;
    // Trailing block A22 ← H A22 H with H = I − β v vᵀ:  p = β A22 v, w = p − (β/2)(vᵀp) v, A22 −= v wᵀ + w vᵀ.
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      const o = i * n;
      let s0 = 0, s1 = 0, j = k + 1;
      for (; j + 1 < n; j += 2) {
        s0 += A[o + j] * v[j];
        s1 += A[o + j + 1] * v[j + 1];
      }
      if (j < n) s0 += A[o + j] * v[j];
      p[i] = beta * (s0 + s1);
      vp += v[i] * p[i];
    }
    const K = (beta / 2) * vp;
    for (let i = k + 1; i < n; i++) p[i] -= K * v[i];
    for (let i = k + 1; i < n; i++) {
      const o = i * n, vi = v[i], pi = p[i];
      for (let j = k + 1; j < n; j++) A[o + j] -= vi * p[j] + pi * v[j];
    }
    A[(k + 1) * n + k] = alpha;
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i < n - 1; i++) e[i] = A[(i + 1) * n + i];
  return { d, e };
}

/** Number of eigenvalues of the tridiagonal (d, e) that are < x (Sturm count via LDLᵀ pivots). */
function sturmCount(d: Float64Array, e2: Float64Array, x: number, tiny: number): number {
  let q = d[0] - x, c = q < 0 ? 1 : 0;
  for (let i = 1; i < d.length; i++) {
    if (q === 0) q = tiny;
    q = d[i] - x - e2[i - 1] / q;
    if (q < 0) c++;
  }
  return c;
}

/** The `count` largest (default all) eigenvalues of a symmetric tridiagonal matrix, descending, by bisection. */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array, count = d.length): Float64Array {
  const n = d.length;
  count = Math.max(0, Math.min(count, n));
  if (n === 0) return new Float64Array(0);
  const e2 = Float64Array.from(e, (x) => x * x);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = (i > 0 ? Math.abs(e[i - 1]) : 0) + (i < n - 1 ? Math.abs(e[i]) : 0);
    lo = Math.min(lo, d[i] - r);
    hi = Math.max(hi, d[i] + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  const tiny = FLOAT64_EPS * scale * 1e-3 || Number.MIN_VALUE;
  const out = new Float64Array(count);
  for (let k = n - count; k < n; k++) {
    // The (k+1)-th smallest: the smallest x with count(x) ≥ k + 1.
    let a = lo, b = hi;
    for (let it = 0; it < 200 && b - a > 2 * FLOAT64_EPS * Math.max(Math.abs(a), Math.abs(b)) + tiny; it++) {
      const mid = 0.5 * (a + b);
      if (sturmCount(d, e2, mid, tiny) >= k + 1) b = mid;
      else a = mid;
    }
    out[n - 1 - k] = 0.5 * (a + b);
  }
  return out;
}

/** The `count` largest (default all) eigenvalues of a symmetric matrix, descending. */
export function symmetricEigenvalues(a: Mat, count?: number): Float64Array {
  const { d, e } = tridiagonalize(a);
  return tridiagonalEigenvalues(d, e, count);
}

/** The `count` largest (default all) singular values of x from the Gram matrix of its smaller side (descending). */
export function gramSingularValues(x: Mat, count?: number): Float64Array {
  const { rows: m, cols: n, data } = x;
  const k = Math.min(m, n), g = new Float64Array(k * k);
  if (m <= n) {
    // X Xᵀ [m, m]
    for (let i = 0; i < m; i++) for (let j = i; j < m; j++) g[i * m + j] = g[j * m + i] = dot(data, data, n, i * n, j * n);
  } else {
    // Xᵀ X [n, n], accumulated row by row (contiguous).
    for (let r = 0; r < m; r++) {
      const ro = r * n;
      for (let i = 0; i < n; i++) {
        const v = data[ro + i];
        if (v === 0) continue;
        const go = i * n;
        for (let j = i; j < n; j++) g[go + j] += v * data[ro + j];
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
  }
  return symmetricEigenvalues({ rows: k, cols: k, data: g }, count).map((l) => Math.sqrt(Math.max(0, l)));
}
