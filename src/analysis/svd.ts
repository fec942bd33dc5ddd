/**
 * Exact float64 SVD and Householder QR.
 *
 * Method (Drmač–Veselić style one-sided Jacobi): for A (m×n, m ≥ n; a wide A is transposed first)
 *   1. Householder QR with column pivoting, A Π = Q R (R n×n upper triangular, rows graded by pivoting);
 *   2. one-sided Jacobi on Rᵀ: plane rotations W make the columns of Rᵀ W mutually orthogonal, so
 *      Rᵀ W = X Σ and A = (Q W) Σ (Π X)ᵀ.
 * Working on Rᵀ instead of A means (i) rotations touch n-vectors, not m-vectors, and (ii) the rows of a pivoted R
 * are already nearly orthogonal, so Jacobi converges in a few sweeps. One-sided Jacobi is also accurate in the
 * relative sense (small singular values keep their digits), which matters for numerical rank.
 *
 * Layout: matrices are row-major. Singular vectors are returned as ROWS (Ut row i = u_i, Vt row i = v_i), so every
 * vector is contiguous; A = Utᵀ · diag(s) · Vt.
 */
import { dot, FLOAT64_EPS, norm, transpose, zerosMat, type Mat } from "./matrix.js";

// ---------------------------------------------------------------------------------------------------------
// Householder QR. The matrix is given TRANSPOSED (row j = column j of A, length m) so every column operation is a
// contiguous loop. On return row k holds the Householder vector v_k in entries k..m−1 and R[k][j] (j > k) sits in
// row j, entry k; the diagonal of R is returned separately.

interface HouseholderQR {
  m: number;
  n: number;
  /** Transposed factored matrix (n rows of length m), see above. */
  at: Float64Array;
  beta: Float64Array;
  rdiag: Float64Array;
  /** Column permutation: column k of AΠ is column perm[k] of A. */
  perm: Int32Array;
}

function householderQR(at: Float64Array, m: number, n: number, pivot: boolean): HouseholderQR {
  const beta = new Float64Array(n), rdiag = new Float64Array(n);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  const norms = new Float64Array(n); // squared norms of the not-yet-factored parts of each column
  for (let j = 0; j < n; j++) norms[j] = dot(at, at, m, j * m, j * m);
  for (let k = 0; k < n && k < m; k++) {
    if (pivot) {
      let p = k;
      for (let j = k + 1; j < n; j++) if (norms[j] > norms[p]) p = j;
      if (p !== k) {
        const tmp = at.slice(k * m, k * m + m);
        at.copyWithin(k * m, p * m, p * m + m);
        at.set(tmp, p * m);
        [norms[k], norms[p]] = [norms[p], norms[k]];
        [perm[k], perm[p]] = [perm[p], perm[k]];
      }
    }
    const o = k * m;
    let xx = 0;
    for (let i = k; i < m; i++) xx += at[o + i] * at[o + i];
    const xn = Math.sqrt(xx);
    if (xn === 0) continue; // zero column: H_k = I (beta 0), R[k][k] = 0
    const alpha = at[o + k] > 0 ? -xn : xn; // sign chosen so v_k = x − αe_1 does not cancel
    rdiag[k] = alpha;
    at[o + k] -= alpha;
    const vv = xx - 2 * alpha * (at[o + k] + alpha) + alpha * alpha; // ‖x − αe₁‖² without another pass
    beta[k] = vv > 0 ? 2 / vv : 0;
    for (let j = k + 1; j < n; j++) {
      const oj = j * m;
      const w = beta[k] * dot(at, at, m - k, o + k, oj + k);
      let nn = 0;
      for (let i = k; i < m; i++) {
        const v = at[oj + i] - w * at[o + i];
        at[oj + i] = v;
        if (i > k) nn += v * v; // fused exact norm of the remaining part (no downdating drift)
      }
      norms[j] = nn;
    }
  }
  return { m, n, at, beta, rdiag, perm };
}

/** y ← Q y for y of length m (Q = H_0 … H_{n−1}). */
function applyQ(qr: HouseholderQR, y: Float64Array): void {
  const { m, at, beta } = qr;
  for (let k = Math.min(qr.n, m) - 1; k >= 0; k--) {
    if (beta[k] === 0) continue;
    const o = k * m;
    const w = beta[k] * dot(at, y, m - k, o + k, k);
    for (let i = k; i < m; i++) y[i] -= w * at[o + i];
  }
}

/**
 * Orthonormal basis (as rows) of the span of the given rows (k vectors of length m, k ≤ m), and optionally of its
 * orthogonal complement: rows r..m−1 of Q from a Householder QR of the vectors. Returns { basis, complement }.
 */
export function orthonormalize(vectors: Mat, opts: { complement?: boolean } = {}): { basis: Mat; complement: Mat | null } {
  const k = vectors.rows, m = vectors.cols;
  if (k > m) throw new RangeError(`orthonormalize: ${k} vectors of length ${m}`);
  const qr = householderQR(vectors.data.slice(), m, k, false);
  const col = (j: number): Float64Array => {
    const y = new Float64Array(m);
    y[j] = 1;
    applyQ(qr, y);
    return y;
  };
  const basis = zerosMat(k, m);
  for (let j = 0; j < k; j++) basis.data.set(col(j), j * m);
  let complement: Mat | null = null;
  if (opts.complement) {
    complement = zerosMat(m - k, m);
    for (let j = k; j < m; j++) complement.data.set(col(j), (j - k) * m);
  }
  return { basis, complement };
}

// ---------------------------------------------------------------------------------------------------------
// SVD

export interface SVD {
  m: number;
  n: number;
  /** Singular values, descending, length min(m, n). */
  s: Float64Array;
  /** Left singular vectors as rows: [min(m,n), m]. Absent when only values were asked for. */
  Ut: Mat | null;
  /** Right singular vectors as rows: [min(m,n), n]. */
  Vt: Mat | null;
  /** Jacobi sweeps used (for benchmarks and tests). */
  sweeps: number;
}

export interface SvdOptions {
  /** false: singular values only (skips accumulating the rotations and applying Q; about 2× faster). */
  vectors?: boolean;
  maxSweeps?: number;
}

/** Thin SVD of a (any shape). See the header for the method. */
export function svd(a: Mat, opts: SvdOptions = {}): SVD {
  if (a.rows < a.cols) {
    const r = svd(transpose(a), opts);
    return { m: a.rows, n: a.cols, s: r.s, Ut: r.Vt, Vt: r.Ut, sweeps: r.sweeps };
  }
  const m = a.rows, n = a.cols, wantVec = opts.vectors ?? true;
  const qr = householderQR(transpose(a).data, m, n, true);
  // G: row i = row i of R = column i of Rᵀ (the vectors Jacobi orthogonalises). [n, n]
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    g[i * n + i] = qr.rdiag[i];
    for (let j = i + 1; j < n; j++) g[i * n + j] = qr.at[j * m + i];
  }
  // W accumulated as rows (row j = column j of W). [n, n]
  const w = wantVec ? new Float64Array(n * n) : null;
  if (w) for (let i = 0; i < n; i++) w[i * n + i] = 1;
  const sweeps = jacobiSweeps(g, w, n, opts.maxSweeps ?? 60);
  const sig = new Float64Array(n);
  for (let j = 0; j < n; j++) sig[j] = Math.sqrt(dot(g, g, n, j * n, j * n));
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => sig[y] - sig[x] || x - y);
  const s = Float64Array.from(order, (j) => sig[j]);
  if (!w) return { m, n, s, Ut: null, Vt: null, sweeps };
  const Ut = zerosMat(n, m), Vt = zerosMat(n, n);
  const missing: number[] = [];
  for (let r = 0; r < n; r++) {
    const j = order[r];
    // u_r = Q · w_j (w_j padded with zeros to length m).
    const y = Ut.data.subarray(r * m, r * m + m);
    y.set(w.subarray(j * n, j * n + n));
    applyQ(qr, y);
    // v_r = Π x_j, x_j = (column j of Rᵀ W) / σ_j.
    if (sig[j] > 0) for (let i = 0; i < n; i++) Vt.data[r * n + qr.perm[i]] = g[j * n + i] / sig[j];
    else missing.push(r);
  }
  if (missing.length) completeRows(Vt, missing);
  return { m, n, s, Ut, Vt, sweeps };
}

/**
 * Cyclic one-sided Jacobi on the rows of g ([n, n], row i is the i-th column vector). A pair is rotated when
 * |g_p·g_q| > tol·‖g_p‖‖g_q‖ with tol = √n·ε (LAPACK dgesvj's choice); stops after a sweep without rotations.
 * Squared norms are updated in closed form within a sweep (α' = α − tγ, β' = β + tγ) and recomputed each sweep.
 */
function jacobiSweeps(g: Float64Array, w: Float64Array | null, n: number, maxSweeps: number): number {
  const tol = Math.sqrt(n) * FLOAT64_EPS;
  const nrm = new Float64Array(n);
  for (let sweep = 1; sweep <= maxSweeps; sweep++) {
    for (let j = 0; j < n; j++) nrm[j] = dot(g, g, n, j * n, j * n);
    let rotations = 0;
    for (let p = 0; p < n - 1; p++) {
      const op = p * n;
      for (let q = p + 1; q < n; q++) {
        const a = nrm[p], b = nrm[q];
        if (a === 0 || b === 0) continue;
        const oq = q * n;
        const c0 = dot(g, g, n, op, oq);
        if (Math.abs(c0) <= tol * Math.sqrt(a * b)) continue;
        rotations++;
        const zeta = (b - a) / (2 * c0);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        rotate(g, op, oq, n, c, s);
        if (w) rotate(w, op, oq, n, c, s);
        nrm[p] = a - t * c0;
        nrm[q] = b + t * c0;
      }
    }
    if (rotations === 0) return sweep;
  }
  return maxSweeps;
}

/** (x_p, x_q) ← (c x_p − s x_q, s x_p + c x_q) on rows starting at op and oq. */
function rotate(x: Float64Array, op: number, oq: number, n: number, c: number, s: number): void {
  for (let i = 0; i < n; i++) {
    const u = x[op + i], v = x[oq + i];
    x[op + i] = c * u - s * v;
    x[oq + i] = s * u + c * v;
  }
}

/** Fills the listed rows of an otherwise orthonormal row set with unit vectors orthogonal to all others. */
function completeRows(a: Mat, missing: number[]): void {
  const n = a.cols;
  const filled = new Set(Array.from({ length: a.rows }, (_, i) => i).filter((i) => !missing.includes(i)));
  let e = 0;
  for (const r of missing) {
    for (; e < n; e++) {
      const y = new Float64Array(n);
      y[e] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (const i of filled) {
          const d = dot(a.data, y, n, i * n, 0);
          for (let k = 0; k < n; k++) y[k] -= d * a.data[i * n + k];
        }
      }
      const ny = norm(y);
      if (ny > 0.5) {
        for (let k = 0; k < n; k++) a.data[r * n + k] = y[k] / ny;
        filled.add(r);
        e++;
        break;
      }
    }
  }
}
