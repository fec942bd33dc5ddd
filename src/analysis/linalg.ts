/**
 * Dense float64 linear algebra for the analyses: matrices (matrix.ts), the exact SVD (svd.ts), numerical rank,
 * projections onto spans and complements, energy and entropy ranks.
 */
import { dot, FLOAT32_EPS, norm, type Mat } from "./matrix.js";
import { orthonormalize, svd } from "./svd.js";

export * from "./matrix.js";
export * from "./svd.js";

// ---------------------------------------------------------------------------------------------------------
// Ranks, spans and projections

/**
 * The tolerance below which singular values count as zero: max(m, n)·ε·σ_max (numpy.linalg.matrix_rank's rule).
 * ε defaults to float32's 2⁻²³ because the weights are float32: their own rounding already perturbs singular values
 * by about ‖W‖·2⁻²⁴, so anything below that scale is noise, not rank.
 */
export function rankTolerance(s: ArrayLike<number>, m: number, n: number, eps = FLOAT32_EPS): number {
  return Math.max(m, n) * eps * (s.length ? s[0] : 0);
}

export function numericalRank(s: ArrayLike<number>, m: number, n: number, eps = FLOAT32_EPS): number {
  const tol = rankTolerance(s, m, n, eps);
  let r = 0;
  while (r < s.length && s[r] > tol) r++;
  return r;
}

/**
 * The smallest k whose top-k singular values hold at least `frac` of Σσ² (so the kept vectors hold ≥ frac).
 * The reference scripts keep one fewer (the crossing index is excluded): `referenceCut` reproduces that.
 */
export function energyRank(s: ArrayLike<number>, frac = 0.9, referenceCut = false): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += s[i] * s[i];
  if (total === 0) return 0;
  let acc = 0;
  for (let i = 0; i < s.length; i++) {
    acc += s[i] * s[i];
    if (referenceCut ? acc > frac * total : acc >= frac * total * (1 - 1e-12)) return referenceCut ? i : i + 1;
  }
  return s.length;
}

/** Roy & Vetterli (2007) effective rank: exp(H(p)), p_i = σ_i / Σσ. Between 1 and the rank. */
export function entropyEffectiveRank(s: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < s.length; i++) total += Math.abs(s[i]);
  if (total === 0) return 0;
  let h = 0;
  for (let i = 0; i < s.length; i++) {
    const p = Math.abs(s[i]) / total;
    if (p > 0) h -= p * Math.log(p);
  }
  return Math.exp(h);
}

/** ‖(I − P) x‖ / ‖x‖ with P the orthogonal projector onto the span of the first k (orthonormal) rows of basis. */
export function residualFraction(basis: Mat, k: number, x: ArrayLike<number>): number {
  const m = basis.cols;
  const y = Float64Array.from(x);
  const nx = norm(y);
  if (nx === 0) return 0;
  // Two passes of modified Gram–Schmidt: the residual stays accurate even when it is tiny.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < k; i++) {
      const d = dot(basis.data, y, m, i * m, 0);
      for (let j = 0; j < m; j++) y[j] -= d * basis.data[i * m + j];
    }
  }
  return Math.min(1, norm(y) / nx);
}

/**
 * Orthonormal basis (rows) of the left null space N(Aᵀ) = range(A)^⊥ ⊂ R^m, using the numerical rank r of A:
 * the complement of A's first r left singular vectors. Shape [m − r, m].
 */
export function leftNullSpace(a: Mat, eps = FLOAT32_EPS): { basis: Mat; rank: number } {
  const d = svd(a);
  const rank = numericalRank(d.s, a.rows, a.cols, eps);
  const ur: Mat = { rows: rank, cols: a.rows, data: d.Ut!.data.slice(0, rank * a.rows) };
  const { complement } = orthonormalize(ur, { complement: true });
  return { basis: complement!, rank };
}
