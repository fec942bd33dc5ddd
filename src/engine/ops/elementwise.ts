/**
 * Elementwise ops and reductions: the residual stream's adds (through the backend, they are large) and the small
 * per-sequence arithmetic that safety losses (DPO, unlearning) are written in.
 */
import { backend } from "../backend/index.js";
import { Tensor, alloc, needsGrad, record } from "../tensor.js";

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`${op}: shapes [${a.shape.join(", ")}] and [${b.shape.join(", ")}] differ`);
  }
}

/** a + b (same shape). */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, "add");
  const be = backend();
  const out = new Tensor(alloc(a.size), a.shape);
  be.add(out.data, a.data, b.data, a.size);
  if (needsGrad(a, b)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      if (a.requiresGrad) be.axpy(a.gradBuffer(), 1, out.grad, a.size);
      if (b.requiresGrad) be.axpy(b.gradBuffer(), 1, out.grad, b.size);
    });
  }
  return out;
}

/** a + b with b tiled over a's leading elements (a.size must be a multiple of b.size), e.g. [B,T,C] + [T,C]. */
export function addTiled(a: Tensor, b: Tensor): Tensor {
  if (a.size % b.size !== 0) throw new RangeError(`addTiled: ${a.size} is not a multiple of ${b.size}`);
  const be = backend();
  const reps = a.size / b.size, n = b.size;
  const out = new Tensor(alloc(a.size), a.shape);
  for (let r = 0; r < reps; r++) be.add(out.data.subarray(r * n, r * n + n), a.data.subarray(r * n, r * n + n), b.data, n);
  if (needsGrad(a, b)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      if (a.requiresGrad) be.axpy(a.gradBuffer(), 1, out.grad, a.size);
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        for (let r = 0; r < reps; r++) be.axpy(gb, 1, out.grad.subarray(r * n, r * n + n), n);
      }
    });
  }
  return out;
}

/** Generic unary map with its derivative (small tensors only: plain JS). */
function unary(x: Tensor, f: (v: number) => number, df: (v: number, y: number) => number): Tensor {
  const out = new Tensor(alloc(x.size), x.shape);
  for (let i = 0; i < x.size; i++) out.data[i] = f(x.data[i]);
  if (needsGrad(x)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const g = x.gradBuffer();
      for (let i = 0; i < x.size; i++) g[i] += out.grad[i] * df(x.data[i], out.data[i]);
    });
  }
  return out;
}

/** Generic binary map (same shape) with partial derivatives. */
function binary(a: Tensor, b: Tensor, f: (x: number, y: number) => number, da: (x: number, y: number) => number, db: (x: number, y: number) => number, op: string): Tensor {
  sameShape(a, b, op);
  const out = new Tensor(alloc(a.size), a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = f(a.data[i], b.data[i]);
  if (needsGrad(a, b)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      if (a.requiresGrad) { const g = a.gradBuffer(); for (let i = 0; i < a.size; i++) g[i] += out.grad[i] * da(a.data[i], b.data[i]); }
      if (b.requiresGrad) { const g = b.gradBuffer(); for (let i = 0; i < b.size; i++) g[i] += out.grad[i] * db(a.data[i], b.data[i]); }
    });
  }
  return out;
}

export const sub = (a: Tensor, b: Tensor): Tensor => binary(a, b, (x, y) => x - y, () => 1, () => -1, "sub");
export const mul = (a: Tensor, b: Tensor): Tensor => binary(a, b, (x, y) => x * y, (_x, y) => y, (x) => x, "mul");
export const scale = (x: Tensor, s: number): Tensor => unary(x, (v) => v * s, () => s);
export const neg = (x: Tensor): Tensor => scale(x, -1);

/** log σ(x), computed stably: −softplus(−x). */
export const logSigmoid = (x: Tensor): Tensor =>
  unary(
    x,
    (v) => (v >= 0 ? -Math.log1p(Math.exp(-v)) : v - Math.log1p(Math.exp(v))),
    (v) => 1 / (1 + Math.exp(v)), // d/dx log σ(x) = σ(−x)
  );

/** Sum of all elements → [1] (accumulated in float64). */
export function sum(x: Tensor): Tensor {
  let s = 0;
  for (let i = 0; i < x.size; i++) s += x.data[i];
  const out = new Tensor(alloc(1), [1]);
  out.data[0] = s;
  if (needsGrad(x)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const g = x.gradBuffer(), d = out.grad[0];
      for (let i = 0; i < x.size; i++) g[i] += d;
    });
  }
  return out;
}

export const mean = (x: Tensor): Tensor => scale(sum(x), 1 / x.size);

/**
 * Weighted sums over the last axis: x [R, T] with weights w [R, T] (e.g. 0/1 loss masks) → [R].
 * This is the "per-sequence masked sum" of per-position losses.
 */
export function rowWeightedSum(x: Tensor, w: Float32Array): Tensor {
  const T = x.shape[x.shape.length - 1], R = x.size / T;
  if (w.length !== x.size) throw new RangeError(`rowWeightedSum: ${w.length} weights for ${x.size} elements`);
  const out = new Tensor(alloc(R), x.shape.slice(0, -1));
  for (let r = 0; r < R; r++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += x.data[r * T + t] * w[r * T + t];
    out.data[r] = s;
  }
  if (needsGrad(x)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const g = x.gradBuffer();
      for (let r = 0; r < R; r++) {
        const d = out.grad[r];
        for (let t = 0; t < T; t++) g[r * T + t] += d * w[r * T + t];
      }
    });
  }
  return out;
}

/** out[j] = x.flat[indices[j]] — picks elements (e.g. the max logit at one position, for Lipschitz analysis). */
export function pick(x: Tensor, indices: ArrayLike<number>): Tensor {
  const out = new Tensor(alloc(indices.length), [indices.length]);
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j];
    if (!(i >= 0 && i < x.size)) throw new RangeError(`pick: index ${i} outside [0, ${x.size})`);
    out.data[j] = x.data[i];
  }
  if (needsGrad(x)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const g = x.gradBuffer();
      for (let j = 0; j < indices.length; j++) g[indices[j]] += out.grad[j];
    });
  }
  return out;
}

/** Elementwise a + b·s where b is detached data (constant shift, e.g. reference log-probs in DPO). */
export function addConst(a: Tensor, c: Float32Array, s = 1): Tensor {
  if (c.length !== a.size) throw new RangeError("addConst: size mismatch");
  const out = new Tensor(alloc(a.size), a.shape);
  for (let i = 0; i < a.size; i++) out.data[i] = a.data[i] + s * c[i];
  if (needsGrad(a)) {
    out.requiresGrad = true;
    record(() => {
      if (out.grad) backend().axpy(a.gradBuffer(), 1, out.grad, a.size);
    });
  }
  return out;
}
