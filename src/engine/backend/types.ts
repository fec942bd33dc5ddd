/**
 * The kernel interface. Everything the tape and the model need is expressed as a handful of coarse,
 * llm.c-style kernels over flat row-major Float32Arrays, so a backend only has to get ~20 functions right.
 *
 * Conventions:
 * - All arrays are row-major and may be subarray views (any byte offset that is a multiple of 4).
 * - "accumulate" kernels ADD into their outputs (gradients are summed over uses); forward kernels overwrite.
 * - `N` = number of rows (tokens, B·T), `C` = channels. Shapes are given next to each argument.
 * - Integer ids are Int32Array.
 */
export type BackendName = "js" | "native";

export interface Backend {
  readonly name: BackendName;
  /** Worker threads the backend uses for large kernels (1 for js). */
  readonly threads: number;

  /**
   * C = beta·C + op(A) @ op(B), op(A): [m, k], op(B): [k, n], C: [m, n] with leading dimension ldc.
   * transA: A is stored [k, m] (lda ≥ m); otherwise [m, k] (lda ≥ k). transB: B stored [n, k] (ldb ≥ k);
   * otherwise [k, n] (ldb ≥ n). beta ∈ {0, 1}.
   */
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number,
    beta: 0 | 1, c: Float32Array, ldc: number,
  ): void;

  /** out[N, O] = x[N, I] @ w[O, I]ᵀ + bias[O] (bias may be null). Overwrites out. */
  linearForward(out: Float32Array, x: Float32Array, w: Float32Array, bias: Float32Array | null, N: number, I: number, O: number): void;
  /**
   * Accumulates dx[N, I] += dout @ w, dw[O, I] += doutᵀ @ x, dbias[O] += Σ_rows dout. Any of dx/dw/dbias may be null
   * (not needed). dout: [N, O].
   */
  linearBackward(
    dx: Float32Array | null, dw: Float32Array | null, dbias: Float32Array | null,
    dout: Float32Array, x: Float32Array, w: Float32Array, N: number, I: number, O: number,
  ): void;

  /** out[N, C] = (x − mean)·rstd·w + b per row; writes mean[N] and rstd[N] for backward. */
  layernormForward(out: Float32Array, mean: Float32Array, rstd: Float32Array, x: Float32Array, w: Float32Array, b: Float32Array, N: number, C: number, eps: number): void;
  /** Accumulates dx[N, C], dw[C], db[C] (dx/dw/db may be null). */
  layernormBackward(
    dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null,
    dout: Float32Array, x: Float32Array, w: Float32Array, mean: Float32Array, rstd: Float32Array, N: number, C: number,
  ): void;

  /** out[n] = GELU_tanh(x[n]) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))). */
  geluForward(out: Float32Array, x: Float32Array, n: number): void;
  /** dx[n] += GELU'(x)·dout. */
  geluBackward(dx: Float32Array, x: Float32Array, dout: Float32Array, n: number): void;

  /**
   * Fused causal multi-head self-attention on packed qkv [B, T, 3C] (q | k | v along the last axis; head h uses
   * channels [h·hs, (h+1)·hs) of each). Scores are scaled by 1/√hs, masked causally and, if `mask` is given,
   * also where mask[b, t, s] == 0 (mask: [B, T, T]). Softmax rows that are entirely masked give zeros (not NaN).
   * Writes att [B, H, T, T] (the probabilities, needed for backward and for hook_pattern) and out [B, T, C].
   */
  attentionForward(out: Float32Array, att: Float32Array, qkv: Float32Array, mask: Uint8Array | null, B: number, T: number, C: number, H: number): void;
  /** Accumulates dqkv [B, T, 3C] from dout [B, T, C], using att from the forward pass. */
  attentionBackward(dqkv: Float32Array, dout: Float32Array, qkv: Float32Array, att: Float32Array, B: number, T: number, C: number, H: number): void;

  /**
   * Row softmax + cross-entropy. For each row i with targets[i] ≥ 0: losses[i] = −log softmax(logits[i])[targets[i]];
   * rows with targets[i] < 0 (ignored) get losses[i] = 0. probs [N, V] receives the softmax of every row.
   */
  crossEntropyForward(losses: Float32Array, probs: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  /** dlogits[i, :] += dlosses[i]·(probs[i, :] − onehot(targets[i])) for rows with targets[i] ≥ 0. */
  crossEntropyBackward(dlogits: Float32Array, dlosses: Float32Array, probs: Float32Array, targets: Int32Array, N: number, V: number): void;

  /** out[n] = a[n] + b[n] (out may alias a or b). */
  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
  /** dst[n] += alpha·src[n]. */
  axpy(dst: Float32Array, alpha: number, src: Float32Array, n: number): void;
  /** x[n] *= s. */
  scale(x: Float32Array, s: number, n: number): void;
  /** Σ x[i]², accumulated in float64. */
  sumSquares(x: Float32Array, n: number): number;

  /**
   * One AdamW step in place (decoupled weight decay, bias-corrected moments), PyTorch semantics:
   * p −= lr·wd·p; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p −= lr·(m/(1−β1^t)) / (√(v/(1−β2^t)) + eps).
   * `step` is t ≥ 1.
   */
  adamw(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
        lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}
