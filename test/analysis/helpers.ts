/** Shared helpers for the analysis tests (not a test file). */
import { Rng } from "../../src/engine/rng.js";
import { Tensor } from "../../src/engine/tensor.js";
import { GPT } from "../../src/model/gpt.js";
import { validateGPTConfig, type GPTConfig } from "../../src/model/config.js";
import { orthonormalize, zerosMat, type Mat } from "../../src/analysis/linalg.js";
import type { SeqInput } from "../../src/analysis/features.js";

export function randMat(rng: Rng, m: number, n: number, std = 1): Mat {
  const a = zerosMat(m, n);
  for (let i = 0; i < a.data.length; i++) a.data[i] = std * rng.normal();
  return a;
}

/** k orthonormal random vectors of length m, as rows. */
export function randOrthRows(rng: Rng, k: number, m: number): Mat {
  return orthonormalize(randMat(rng, k, m)).basis;
}

/** A = Σ_i s_i u_i v_iᵀ with random orthonormal u (length m) and v (length n). */
export function withSingularValues(rng: Rng, m: number, n: number, s: number[]): { a: Mat; u: Mat; v: Mat } {
  const k = s.length, u = randOrthRows(rng, k, m), v = randOrthRows(rng, k, n), a = zerosMat(m, n);
  for (let r = 0; r < k; r++) for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a.data[i * n + j] += s[r] * u.data[r * m + i] * v.data[r * n + j];
  return { a, u, v };
}

export function tinyConfig(over: Partial<GPTConfig> = {}): GPTConfig {
  return validateGPTConfig({ n_layer: 2, n_head: 2, n_embd: 16, vocab_size: 59, block_size: 64, ...over });
}

/** A random "IT" model and an "ST" model = IT + a low-rank update in every matrix plus small noise elsewhere. */
export function modelPair(seed = 1, cfg = tinyConfig()): { it: GPT; st: GPT } {
  const it = new GPT(cfg, undefined, seed);
  const rng = new Rng(seed, 5);
  for (const t of it.params.values()) for (let i = 0; i < t.size; i++) t.data[i] += 0.05 * rng.normal(); // non-trivial LN/bias
  const params = new Map<string, Tensor>();
  for (const [name, t] of it.params) {
    const d = t.data.slice();
    if (t.shape.length === 2) {
      const [m, n] = t.shape;
      const u = Array.from({ length: m }, () => rng.normal()), v = Array.from({ length: n }, () => rng.normal());
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) d[i * n + j] += 0.01 * u[i] * v[j] + 0.001 * rng.normal();
    }
    params.set(name, new Tensor(d, t.shape, true));
  }
  return { it, st: new GPT(cfg, params) };
}

/** Random token sequences of varying length with a window start ("EOT") inside. */
export function randomInputs(rng: Rng, n: number, V = 59, minLen = 12, maxLen = 20): SeqInput[] {
  return Array.from({ length: n }, () => {
    const len = minLen + rng.int(maxLen - minLen + 1);
    const tokens = Int32Array.from({ length: len }, () => rng.int(V));
    return { tokens, start: 3 + rng.int(len - 8) };
  });
}
