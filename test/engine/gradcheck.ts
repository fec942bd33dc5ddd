/**
 * Float64 finite-difference gradient checking. The engine runs with float64 storage on the js backend
 * (withFloat64), so central differences with h = 1e-6 agree with analytic gradients to ~1e-8 relative.
 */
import assert from "node:assert/strict";
import { setBackend, backend, jsBackend } from "../../src/engine/backend/index.js";
import { Tensor, alloc, backward, clearTape, noGrad, withFloat64 } from "../../src/engine/tensor.js";
import { Rng } from "../../src/engine/rng.js";

/** A float64 leaf tensor with N(0, std²) entries. */
export function randTensor(rng: Rng, shape: number[], std = 1, requiresGrad = true): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = alloc(n);
  for (let i = 0; i < n; i++) d[i] = std * rng.normal();
  return new Tensor(d, shape, requiresGrad);
}

/** Runs fn in float64 mode on the js backend. */
export function f64<T>(fn: () => T): T {
  const prev = backend();
  setBackend(jsBackend);
  try {
    return withFloat64(fn);
  } finally {
    setBackend(prev);
  }
}

/**
 * Checks d f / d input for every input (at most `maxPerInput` randomly chosen elements each).
 * f must return a 1-element tensor. Fails with the worst element if |analytic − numeric| > atol + rtol·|numeric|.
 */
export function gradCheck(f: () => Tensor, inputs: Tensor[], opts: { h?: number; rtol?: number; atol?: number; maxPerInput?: number; seed?: number } = {}): number {
  const h = opts.h ?? 1e-6, rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-8, maxPer = opts.maxPerInput ?? 64;
  const rng = new Rng(opts.seed ?? 7, 99);
  for (const t of inputs) t.grad = null;
  clearTape();
  const out = f();
  assert.equal(out.size, 1, "gradCheck: f must return a scalar");
  backward(out);
  let worst = 0;
  for (const [k, t] of inputs.entries()) {
    const analytic = t.grad ? t.grad.slice() : alloc(t.size);
    const idx = t.size <= maxPer ? [...Array(t.size).keys()] : Array.from({ length: maxPer }, () => rng.int(t.size));
    for (const i of idx) {
      const orig = t.data[i];
      t.data[i] = orig + h;
      const fp = noGrad(() => f().data[0]);
      t.data[i] = orig - h;
      const fm = noGrad(() => f().data[0]);
      t.data[i] = orig;
      const numeric = (fp - fm) / (2 * h);
      const err = Math.abs(analytic[i] - numeric);
      const tol = atol + rtol * Math.abs(numeric);
      worst = Math.max(worst, err / tol);
      if (err > tol) assert.fail(`input ${k} [${t.shape.join(",")}] element ${i}: analytic ${analytic[i]} vs numeric ${numeric} (|diff| ${err.toExponential(2)})`);
    }
  }
  return worst;
}
