/**
 * An orthonormal basis of range(A) for a Llama-size A ∈ R^{L×S} (L = 11008, S = 4096), and residual norms
 * ‖(I − QQᵀ)x‖ against it. This is the null-space side of the streamed ΔW analysis (deltaw.ts).
 *
 * Why pivoted CholeskyQR2 on sgemm (and not the exact SVD, Householder QR, or least squares):
 *  - The exact Jacobi SVD of linalg.ts costs hours at this size in JavaScript; even a float64 Cholesky of the
 *    4096² Gram (n³/3 ≈ 2·10¹⁰ flops) takes ~15 s of JS, while native sgemm does a 4096×4096×11008 product in ~2 s.
 *  - CholeskyQR does all O(L·S²) work as matrix products: G = AᵀA, R = chol(G), Q = A·R⁻¹. Its one weakness, the
 *    loss of orthogonality ∝ κ(A)²·ε, is removed by repeating it once on Q (CholeskyQR2, Fukaya et al. 2014):
 *    Q₁ is then well conditioned, so the second pass is accurate to ε₃₂. A third pass runs if the second Gram is
 *    still far from I (κ(A)² ε₃₂ ≳ 1).
 *  - Pivoting the first Cholesky makes it rank revealing: it stops when every remaining Schur-complement diagonal is
 *    below tau², so a rank-deficient W_base gives a basis of its r-dimensional range (the kept pivot columns span
 *    it) instead of a breakdown. tau = max(max(L,S)·ε·σ_max, √(GRAM_FLOOR·ε₃₂)·σ_max): the first term is the exact
 *    analysis's rule (columnspace.ts), the second the float32 factorisation's own resolution. The Gram and the
 *    Schur updates round at ε₃₂·σ_max² per entry, so the Schur complement of an exactly rank-deficient matrix is
 *    not 0 but noise: measured up to 9.5·ε₃₂·σ_max² at 11008×4096 (rank 4000), 0.4·ε₃₂·σ_max² at 2048×512. No σ
 *    below ~3√ε₃₂·σ_max can be told from zero this way, so GRAM_FLOOR = 16 (a margin of 1.7 over that noise).
 *    At Llama size the two terms nearly agree (rule 1.31e-3·σ_max, floor 1.38e-3·σ_max); for small matrices the
 *    floor is the larger, so σ in between (e.g. 4.6e-5..1.4e-3·σ_max at 384×96) count as null here but not in
 *    the exact analysis. The result reports both.
 *  - Least squares per vector (option (b)) needs a factorisation of A anyway; with one, projections are two products.
 *
 * Memory: the basis overwrites A's own buffer (row or column blocks are transformed through a small scratch), so
 * the extra memory is the Gram and two S×S factors (3 × 64 MiB at S = 4096).
 *
 * Layout: A is given as the stored weight W. Tall W [L, S] (gate/up) is A itself ("cols": basis vectors are
 * columns of a row-major [L, S] buffer, ld S). Wide W [S, L] (down) is Aᵀ ("rows": basis vectors are rows of a
 * [S, L] buffer, ld L). Only the first `rank` basis vectors are meaningful after the factorisation.
 */
import { backend } from "../engine/backend/index.js";
import { FLOAT32_EPS } from "../analysis/matrix.js";
import { invertUpper, pivotedCholesky } from "./deltaw-chol.js";

/** Resolution floor of the float32 factorisation: Schur diagonals ≤ GRAM_FLOOR·ε₃₂·σ_max² are round-off. */
export const GRAM_FLOOR = 16;
/** Second and later passes drop directions that the first pass shrank below this (σ(Q₁) < 1e-2: pure round-off). */
const PASS_TAU = 1e-4;
/** A third pass runs when the second pass's Gram deviates from I by more than this (max entry). */
const REPASS = 0.5;

export interface RangeBasis {
  layout: "cols" | "rows";
  /** Ambient dimension L (the long side) and the short side S. */
  L: number;
  S: number;
  rank: number;
  /** The transformed buffer: [L, S] ("cols") or [S, L] ("rows"). */
  q: Float32Array;
  /** The σ threshold used for the rank, and the parts it was built from. */
  tol: number;
  tolSvdRule: number;
  tolGramFloor: number;
  sigmaMax: number;
  /** CholeskyQR passes run and max|QᵢᵀQᵢ − I| seen before each pass after the first. */
  passes: number;
  gramDeviation: number[];
  /** Wall seconds inside the factorisation, summed over passes. */
  seconds: { gram: number; cholesky: number; inverse: number; transform: number };
}

const clock = () => Number(process.hrtime.bigint()) / 1e9;

/**
 * Replaces `w` (the stored W_base, consumed) by an orthonormal basis of range(A) (A = W if rows ≥ cols, else Wᵀ).
 * sigmaMax: the largest singular value of W (from the caller's estimate); eps: the rank rule's ε (default 2⁻²³).
 */
export function rangeBasis(w: Float32Array, rows: number, cols: number, sigmaMax: number, eps = FLOAT32_EPS): RangeBasis {
  if (w.length !== rows * cols) throw new RangeError(`rangeBasis: ${w.length} values for ${rows}×${cols}`);
  const layout = rows >= cols ? "cols" : "rows";
  const L = Math.max(rows, cols), S = Math.min(rows, cols);
  const tolSvdRule = L * eps * sigmaMax, tolGramFloor = Math.sqrt(GRAM_FLOOR * FLOAT32_EPS) * sigmaMax;
  const tol = Math.max(tolSvdRule, tolGramFloor);
  const basis: RangeBasis = { layout, L, S, rank: S, q: w, tol, tolSvdRule, tolGramFloor, sigmaMax, passes: 0, gramDeviation: [], seconds: { gram: 0, cholesky: 0, inverse: 0, transform: 0 } };
  if (sigmaMax === 0) {
    basis.rank = 0;
    return basis;
  }
  let k = S; // basis vectors currently held
  let passes = 2;
  for (let pass = 1; pass <= passes; pass++) {
    const sec = basis.seconds;
    let t = clock();
    const lap = (key: keyof typeof sec) => {
      const now = clock();
      sec[key] += now - t;
      t = now;
    };
    const g = gram(basis, k); // [k, k]
    lap("gram");
    if (pass > 1) {
      // After this pass the basis is orthonormal to ~ε₃₂·κ(current)²; a deviation near 1 means κ is large.
      const dev = deviationFromIdentity(g, k);
      basis.gramDeviation.push(dev);
      if (pass === 2 && dev > REPASS) passes = 3;
    }
    const chol = pass === 1 ? pivotedCholesky(g, k, tol * tol) : pivotedCholesky(g, k, PASS_TAU, { lazy: true });
    lap("cholesky");
    const r = chol.rank;
    const x = invertUpper(g, k, r); // [r, r] = R₁₁⁻¹
    lap("inverse");
    // (current basis)·Π[:, :r] = Q·R₁₁ (up to the dropped Schur remainder), so the new basis is that times R₁₁⁻¹.
    transformInPlace(basis, chol.perm, x, r);
    lap("transform");
    k = r;
    basis.rank = r;
    basis.passes = pass;
    if (r === 0) break;
  }
  return basis;
}

/**
 * G = BᵀB [k, k] of the first k basis vectors (float32, full storage). Only the block upper triangle is multiplied
 * (block column J: G[0:J1, J] = B[:, 0:J1]ᵀ·B[:, J], half the flops of the full product), then mirrored.
 */
function gram(b: RangeBasis, k: number): Float32Array {
  const g = new Float32Array(k * k);
  const be = backend(), { L, S, q } = b, blk = 512;
  for (let j0 = 0; j0 < k; j0 += blk) {
    const j1 = Math.min(k, j0 + blk), w = j1 - j0, out = g.subarray(j0);
    if (b.layout === "cols") be.sgemm(true, false, j1, w, L, q, S, q.subarray(j0), S, 0, out, k); // [L, j1]ᵀ·[L, w]
    else be.sgemm(false, true, j1, w, L, q, L, q.subarray(j0 * L), L, 0, out, k); // [j1, L]·[w, L]ᵀ
  }
  for (let i = 0; i < k; i++) for (let j = 0; j < i; j++) g[i * k + j] = g[j * k + i];
  return g;
}

function deviationFromIdentity(g: Float32Array, k: number): number {
  let dev = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) dev = Math.max(dev, Math.abs(g[i * k + j] - (i === j ? 1 : 0)));
  return dev;
}

/**
 * Basis ← (Basis·Π)[:, :r]·X for the pivoting Π (perm) and X = R₁₁⁻¹ [r, r] upper triangular, in place, a block of
 * rows (cols layout) or columns (rows layout) at a time: each block of the result depends only on the same block of
 * the input, which is first gathered (permuted) into a scratch P. X is triangular, so output block J only needs the
 * first J1 columns of P: half the flops of a full product.
 */
function transformInPlace(b: RangeBasis, perm: Int32Array, x: Float32Array, r: number): void {
  if (r === 0) return;
  const be = backend(), { L, S, q } = b, blk = 512;
  const p = new Float32Array(blk * r);
  if (b.layout === "cols") {
    for (let i0 = 0; i0 < L; i0 += blk) {
      const rb = Math.min(blk, L - i0);
      for (let i = 0; i < rb; i++) {
        const src = (i0 + i) * S, dst = i * r;
        for (let c = 0; c < r; c++) p[dst + c] = q[src + perm[c]];
      }
      for (let j0 = 0; j0 < r; j0 += blk) {
        const j1 = Math.min(r, j0 + blk); // Q[rows, J] = P[:, 0:j1]·X[0:j1, J]: [rb, j1]·[j1, w]
        be.sgemm(false, false, rb, j1 - j0, j1, p, r, x.subarray(j0), r, 0, q.subarray(i0 * S + j0), S);
      }
    }
  } else {
    for (let c0 = 0; c0 < L; c0 += blk) {
      const cb = Math.min(blk, L - c0);
      for (let c = 0; c < r; c++) p.set(q.subarray(perm[c] * L + c0, perm[c] * L + c0 + cb), c * cb);
      for (let j0 = 0; j0 < r; j0 += blk) {
        const j1 = Math.min(r, j0 + blk); // Qᵀ[J, cols] = X[0:j1, J]ᵀ·P[0:j1, :]: [w, j1]·[j1, cb]
        be.sgemm(true, false, j1 - j0, cb, j1, x.subarray(j0), r, p, cb, 0, q.subarray(j0 * L + c0), L);
      }
    }
  }
}

/**
 * ‖(I − QQᵀ)x_i‖ / ‖x_i‖ for each row of x [K, L] (float32, consumed as scratch): two classical Gram–Schmidt
 * passes through sgemm, so the residual is formed explicitly and stays accurate near 0 as well as near 1.
 */
export function residualNorms(b: RangeBasis, x: Float32Array, K: number): Float64Array {
  const { L, S, q, rank: r } = b;
  if (x.length !== K * L) throw new RangeError(`residualNorms: ${x.length} values for ${K}×${L}`);
  const be = backend();
  const n0 = rowNorms(x, K, L);
  if (r > 0) {
    const c = new Float32Array(K * r); // [K, r]
    for (let pass = 0; pass < 2; pass++) {
      if (b.layout === "cols") be.sgemm(false, false, K, r, L, x, L, q, S, 0, c, r); // X·Q
      else be.sgemm(false, true, K, r, L, x, L, q, L, 0, c, r); // X·(Qᵀ)ᵀ
      for (let i = 0; i < c.length; i++) c[i] = -c[i];
      if (b.layout === "cols") be.sgemm(false, true, K, L, r, c, r, q, S, 1, x, L); // X −= C·Qᵀ
      else be.sgemm(false, false, K, L, r, c, r, q, L, 1, x, L);
    }
  }
  const n1 = rowNorms(x, K, L);
  return n0.map((v, i) => (v === 0 ? 0 : Math.min(1, n1[i] / v)));
}

function rowNorms(x: Float32Array, K: number, L: number): Float64Array {
  const out = new Float64Array(K);
  for (let i = 0; i < K; i++) {
    let s = 0;
    for (let j = i * L; j < (i + 1) * L; j++) s += x[j] * x[j];
    out[i] = Math.sqrt(s);
  }
  return out;
}
