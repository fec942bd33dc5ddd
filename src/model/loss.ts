/** Losses on the model's logits: token-mean cross-entropy and per-sequence masked log-likelihoods. */
import { crossEntropy } from "../engine/ops/nn.js";
import { rowWeightedSum, scale, sum } from "../engine/ops/elementwise.js";
import type { Tensor } from "../engine/tensor.js";

/** Mean cross-entropy over positions with target ≥ 0 (targets < 0 are ignored, like ignore_index). → [1] */
export function meanCrossEntropy(logits: Tensor, targets: Int32Array): Tensor {
  let n = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] >= 0) n++;
  return scale(sum(crossEntropy(logits, targets)), 1 / Math.max(1, n));
}

/**
 * Per-sequence masked log-likelihood: logits [B, T, V], targets [B·T], weights [B·T] (usually a 0/1 loss mask)
 * → { logp: [B] = Σ_t w_t·log p(target_t), count: Σ_t w_t per sequence }. Positions with w = 0 cost nothing.
 */
export function sequenceLogLikelihood(logits: Tensor, targets: Int32Array, weights: Float32Array): { logp: Tensor; count: Float64Array } {
  const [B, T] = logits.shape;
  const masked = new Int32Array(targets.length);
  for (let i = 0; i < targets.length; i++) masked[i] = weights[i] !== 0 ? targets[i] : -1;
  const nll = crossEntropy(logits, masked).reshape([B, T]); // [B, T]
  const count = new Float64Array(B);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) count[b] += weights[b * T + t];
  return { logp: scale(rowWeightedSum(nll, weights), -1), count };
}

/** Targets for cross-entropy: y where the loss mask is on, −1 (ignored) elsewhere. */
export function maskedTargets(y: Int32Array, mask: Float32Array): Int32Array {
  const t = new Int32Array(y.length);
  for (let i = 0; i < y.length; i++) t[i] = mask[i] !== 0 ? y[i] : -1;
  return t;
}
