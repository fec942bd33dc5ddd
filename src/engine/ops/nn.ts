/**
 * Coarse differentiable ops for transformers. Each op runs one backend kernel forward and records one closure that
 * runs the matching backward kernel, accumulating into the inputs' gradients.
 */
import { backend } from "../backend/index.js";
import { Tensor, alloc, needsGrad, record } from "../tensor.js";

function rows(t: Tensor): number {
  return t.size / t.shape[t.shape.length - 1];
}

/** y = x @ wᵀ + b.  x: [..., I], w: [O, I], b: [O] | null → [..., O]. */
export function linear(x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  const I = x.shape[x.shape.length - 1], O = w.shape[0], N = rows(x);
  if (w.shape[1] !== I) throw new RangeError(`linear: x last dim ${I} != w in-dim ${w.shape[1]}`);
  const be = backend();
  const out = new Tensor(alloc(N * O), [...x.shape.slice(0, -1), O]);
  be.linearForward(out.data, x.data, w.data, b ? b.data : null, N, I, O);
  if (needsGrad(x, w, b)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      be.linearBackward(
        x.requiresGrad ? x.gradBuffer() : null, w.requiresGrad ? w.gradBuffer() : null,
        b && b.requiresGrad ? b.gradBuffer() : null, out.grad, x.data, w.data, N, I, O,
      );
    });
  }
  return out;
}

/**
 * General 2-D matrix product with either operand transposed: op(a) [m, k] @ op(b) [k, n] → [m, n].
 * transA: a is stored [k, m]; transB: b is stored [n, k].
 */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const tA = !!opts.transA, tB = !!opts.transB;
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new RangeError("matmul: expects 2-D tensors");
  const m = tA ? a.shape[1] : a.shape[0], k = tA ? a.shape[0] : a.shape[1];
  const k2 = tB ? b.shape[1] : b.shape[0], n = tB ? b.shape[0] : b.shape[1];
  if (k !== k2) throw new RangeError(`matmul: inner dims ${k} != ${k2}`);
  const be = backend();
  const out = new Tensor(alloc(m * n), [m, n]);
  be.sgemm(tA, tB, m, n, k, a.data, a.shape[1], b.data, b.shape[1], 0, out.data, n);
  if (needsGrad(a, b)) {
    out.requiresGrad = true;
    record(() => {
      const g = out.grad;
      if (!g) return;
      // C = op(A)·op(B):  d op(A) = G·op(B)ᵀ [m,k];  d op(B) = op(A)ᵀ·G [k,n]; store back in A's/B's layout.
      if (a.requiresGrad) {
        const ga = a.gradBuffer();
        if (!tA) be.sgemm(false, !tB, m, k, n, g, n, b.data, b.shape[1], 1, ga, k); // [m,n]@op(B)ᵀ
        else be.sgemm(tB, true, k, m, n, b.data, b.shape[1], g, n, 1, ga, m); // (G·op(B)ᵀ)ᵀ = op(B)·Gᵀ [k,m]
      }
      if (b.requiresGrad) {
        const gb = b.gradBuffer();
        if (!tB) be.sgemm(!tA, false, k, n, m, a.data, a.shape[1], g, n, 1, gb, n); // op(A)ᵀ@G
        else be.sgemm(true, tA, n, k, m, g, n, a.data, a.shape[1], 1, gb, k); // Gᵀ·op(A) [n,k]
      }
    });
  }
  return out;
}

/** Row gather: out[i, :] = w[ids[i], :].  w: [V, C], ids: N → [...shape, C]. */
export function embedding(w: Tensor, ids: Int32Array, shape: readonly number[]): Tensor {
  const [V, C] = w.shape;
  const N = ids.length;
  const out = new Tensor(alloc(N * C), [...shape, C]);
  for (let i = 0; i < N; i++) {
    const id = ids[i];
    if (!(id >= 0 && id < V)) throw new RangeError(`embedding: token id ${id} at position ${i} is outside [0, ${V})`);
    out.data.set(w.data.subarray(id * C, id * C + C), i * C);
  }
  if (needsGrad(w)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const gw = w.gradBuffer(), g = out.grad;
      for (let i = 0; i < N; i++) {
        const o = ids[i] * C, r = i * C;
        for (let c = 0; c < C; c++) gw[o + c] += g[r + c];
      }
    });
  }
  return out;
}

/** LayerNorm over the last axis (eps 1e-5, PyTorch's default). */
export function layerNorm(x: Tensor, w: Tensor, b: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.shape.length - 1], N = rows(x);
  const be = backend();
  const out = new Tensor(alloc(x.size), x.shape);
  const mean = alloc(N), rstd = alloc(N);
  be.layernormForward(out.data, mean, rstd, x.data, w.data, b.data, N, C, eps);
  if (needsGrad(x, w, b)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      be.layernormBackward(
        x.requiresGrad ? x.gradBuffer() : null, w.requiresGrad ? w.gradBuffer() : null,
        b.requiresGrad ? b.gradBuffer() : null, out.grad, x.data, w.data, mean, rstd, N, C,
      );
    });
  }
  return out;
}

/** GELU, tanh approximation (as minGPT / GPT-2). */
export function gelu(x: Tensor): Tensor {
  const be = backend();
  const out = new Tensor(alloc(x.size), x.shape);
  be.geluForward(out.data, x.data, x.size);
  if (needsGrad(x)) {
    out.requiresGrad = true;
    record(() => {
      if (out.grad) be.geluBackward(x.gradBuffer(), x.data, out.grad, x.size);
    });
  }
  return out;
}

/**
 * Fused causal self-attention on packed qkv [B, T, 3C] with nHead heads → { out [B, T, C], pattern [B, H, T, T] }.
 * `mask` [B, T, T] (1 = may attend) is applied on top of causality. The pattern is returned for hooks/caching and
 * is not differentiable (patching it is not supported).
 */
export function attention(qkv: Tensor, nHead: number, mask: Uint8Array | null = null): { out: Tensor; pattern: Tensor } {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3, H = nHead;
  if (C % H !== 0) throw new RangeError(`attention: n_embd ${C} not divisible by n_head ${H}`);
  if (mask && mask.length !== B * T * T) throw new RangeError(`attention: mask must have B·T·T = ${B * T * T} entries`);
  const be = backend();
  const out = new Tensor(alloc(B * T * C), [B, T, C]);
  const pattern = new Tensor(alloc(B * H * T * T), [B, H, T, T]);
  be.attentionForward(out.data, pattern.data, qkv.data, mask, B, T, C, H);
  if (needsGrad(qkv)) {
    out.requiresGrad = true;
    record(() => {
      if (out.grad) be.attentionBackward(qkv.gradBuffer(), out.grad, qkv.data, pattern.data, B, T, C, H);
    });
  }
  return { out, pattern };
}

/**
 * Per-position cross-entropy: logits [..., V], targets (N ints, < 0 = ignored) → losses [...] (0 where ignored).
 * Reductions (per-sequence sums, means) are separate ops so losses can weight positions freely.
 */
export function crossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  const V = logits.shape[logits.shape.length - 1], N = rows(logits);
  if (targets.length !== N) throw new RangeError(`crossEntropy: ${targets.length} targets for ${N} rows`);
  for (let i = 0; i < N; i++) {
    if (targets[i] >= V) throw new RangeError(`crossEntropy: target ${targets[i]} at row ${i} is outside [0, ${V})`);
  }
  const be = backend();
  const losses = new Tensor(alloc(N), logits.shape.slice(0, -1));
  const probs = alloc(N * V);
  be.crossEntropyForward(losses.data, probs, logits.data, targets, N, V);
  if (needsGrad(logits)) {
    losses.requiresGrad = true;
    record(() => {
      if (losses.grad) be.crossEntropyBackward(logits.gradBuffer(), losses.grad, probs, targets, N, V);
    });
  }
  return losses;
}
