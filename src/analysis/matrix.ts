/** Dense row-major float64 matrices and vector helpers for the analyses. */

/** A dense row-major float64 matrix. */
export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

export const FLOAT64_EPS = 2 ** -52;
/** Machine epsilon of float32: the weights are stored in float32, so their own rounding is at this level. */
export const FLOAT32_EPS = 2 ** -23;

export function zerosMat(rows: number, cols: number): Mat {
  return { rows, cols, data: new Float64Array(rows * cols) };
}

/** Copies a row-major array (e.g. a Float32Array weight) into a float64 matrix. */
export function toMat(data: ArrayLike<number>, rows: number, cols: number): Mat {
  if (data.length !== rows * cols) throw new RangeError(`toMat: ${data.length} values for ${rows}×${cols}`);
  return { rows, cols, data: Float64Array.from(data) };
}

export function transpose(a: Mat): Mat {
  const t = zerosMat(a.cols, a.rows);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) t.data[j * a.rows + i] = a.data[i * a.cols + j];
  return t;
}

/** a − b (same shape). */
export function subMat(a: Mat, b: Mat): Mat {
  if (a.rows !== b.rows || a.cols !== b.cols) throw new RangeError(`subMat: ${a.rows}×${a.cols} vs ${b.rows}×${b.cols}`);
  const out = zerosMat(a.rows, a.cols);
  for (let i = 0; i < out.data.length; i++) out.data[i] = a.data[i] - b.data[i];
  return out;
}

/** a · b, plain float64 (i-k-j order so the inner loop is contiguous). */
export function matMul(a: Mat, b: Mat): Mat {
  if (a.cols !== b.rows) throw new RangeError(`matMul: ${a.rows}×${a.cols} · ${b.rows}×${b.cols}`);
  const out = zerosMat(a.rows, b.cols);
  const n = b.cols;
  for (let i = 0; i < a.rows; i++) {
    const oi = i * n;
    for (let k = 0; k < a.cols; k++) {
      const v = a.data[i * a.cols + k];
      if (v === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) out.data[oi + j] += v * b.data[bk + j];
    }
  }
  return out;
}

export function frobenius(a: Mat): number {
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += a.data[i] * a.data[i];
  return Math.sqrt(s);
}

/** Each column minus its mean over the rows (numpy's W − W.mean(0)): the reference scripts' centring. */
export function centreColumns(a: Mat): Mat {
  const out = zerosMat(a.rows, a.cols);
  const mu = new Float64Array(a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) mu[j] += a.data[i * a.cols + j];
  for (let j = 0; j < a.cols; j++) mu[j] /= a.rows;
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out.data[i * a.cols + j] = a.data[i * a.cols + j] - mu[j];
  return out;
}

/** Row i of a as a view. */
export function row(a: Mat, i: number): Float64Array {
  return a.data.subarray(i * a.cols, (i + 1) * a.cols);
}

export function dot(x: ArrayLike<number>, y: ArrayLike<number>, n = x.length, xo = 0, yo = 0): number {
  let s0 = 0, s1 = 0, i = 0;
  for (; i + 1 < n; i += 2) {
    s0 += x[xo + i] * y[yo + i];
    s1 += x[xo + i + 1] * y[yo + i + 1];
  }
  if (i < n) s0 += x[xo + i] * y[yo + i];
  return s0 + s1;
}

export function norm(x: ArrayLike<number>): number {
  return Math.sqrt(dot(x, x));
}
