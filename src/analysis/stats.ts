/** Small statistics used by every analysis: mean/std, quantiles, AUC. All in float64. */

export interface Summary {
  n: number;
  mean: number;
  /** Population standard deviation (ddof = 0, numpy's default, as the reference plots). */
  std: number;
  min: number;
  q25: number;
  median: number;
  q75: number;
  max: number;
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return xs.length ? Math.sqrt(s / xs.length) : NaN;
}

/** Linear-interpolation quantile (numpy's default "linear" method) of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q, lo = Math.floor(h), hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function summarize(xs: ArrayLike<number>): Summary {
  const s = Float64Array.from(xs).sort();
  return {
    n: s.length,
    mean: mean(s),
    std: std(s),
    min: s.length ? s[0] : NaN,
    q25: quantileSorted(s, 0.25),
    median: quantileSorted(s, 0.5),
    q75: quantileSorted(s, 0.75),
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/**
 * Area under the ROC curve for "positives score higher than negatives": the Mann–Whitney U statistic / (n₊·n₋),
 * i.e. P(x₊ > x₋) + ½·P(x₊ = x₋). Ties get mid-ranks, so tied scores count one half. NaN if a group is empty.
 */
export function auc(positives: ArrayLike<number>, negatives: ArrayLike<number>): number {
  const np = positives.length, nn = negatives.length;
  if (np === 0 || nn === 0) return NaN;
  const all: { v: number; pos: boolean }[] = [];
  for (let i = 0; i < np; i++) all.push({ v: positives[i], pos: true });
  for (let i = 0; i < nn; i++) all.push({ v: negatives[i], pos: false });
  all.sort((a, b) => a.v - b.v);
  let rankSum = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1].v === all[i].v) j++;
    const mid = (i + j) / 2 + 1; // 1-based mid-rank of the tie group
    for (let t = i; t <= j; t++) if (all[t].pos) rankSum += mid;
    i = j + 1;
  }
  return (rankSum - (np * (np + 1)) / 2) / (np * nn);
}

/** Histogram with `bins` equal bins over [lo, hi] (values outside are clamped into the end bins). */
export function histogram(xs: ArrayLike<number>, lo: number, hi: number, bins: number): { x0: number; x1: number; count: number }[] {
  const w = (hi - lo) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < xs.length; i++) {
    const b = Math.min(bins - 1, Math.max(0, Math.floor((xs[i] - lo) / w)));
    counts[b]++;
  }
  return counts.map((count, b) => ({ x0: lo + b * w, x1: lo + (b + 1) * w, count }));
}

/** Rounds for JSON output (keeps files small and diffs readable); non-finite values pass through (JSON writes null). */
export function r6(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : x;
}
