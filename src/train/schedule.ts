/** Learning-rate schedule and optimisation settings shared by every training stage. */

export interface TrainConfig {
  batch_size: number;
  max_iters: number;
  /** Peak learning rate. */
  lr: number;
  min_lr: number;
  warmup_iters: number;
  /** Cosine decay ends here; the LR then stays at min_lr. */
  lr_decay_iters: number;
  weight_decay: number;
  beta1: number;
  beta2: number;
  /** Global grad-norm clip (≤ 0: off). Applied after backward. */
  grad_clip: number;
  log_interval: number;
  eval_interval: number;
  ckpt_interval: number;
}

/** Linear warm-up from 0, cosine from warmup_iters to lr_decay_iters, then min_lr (nanoGPT / the reference). */
export function lrAt(it: number, c: Pick<TrainConfig, "lr" | "min_lr" | "warmup_iters" | "lr_decay_iters">): number {
  if (it < c.warmup_iters) return (c.lr * it) / c.warmup_iters;
  if (it >= c.lr_decay_iters) return c.min_lr;
  const ratio = (it - c.warmup_iters) / Math.max(1, c.lr_decay_iters - c.warmup_iters);
  return c.min_lr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (c.lr - c.min_lr);
}
