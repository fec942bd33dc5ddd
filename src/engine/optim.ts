/**
 * AdamW with decoupled weight decay and parameter groups (PyTorch semantics), and global grad-norm clipping.
 * The update itself is one backend kernel per parameter.
 */
import { backend } from "./backend/index.js";
import type { Tensor } from "./tensor.js";

export interface ParamGroup {
  params: { name: string; tensor: Tensor }[];
  weightDecay: number;
}

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
}

export class AdamW {
  readonly groups: ParamGroup[];
  readonly opts: AdamWOptions;
  /** Number of completed steps (t in the bias correction). */
  step = 0;
  /** First and second moments by parameter name. */
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();

  constructor(groups: ParamGroup[], opts: Partial<AdamWOptions> = {}) {
    this.groups = groups;
    this.opts = { lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, ...opts };
    for (const g of groups) for (const { name, tensor } of g.params) {
      this.m.set(name, new Float32Array(tensor.size));
      this.v.set(name, new Float32Array(tensor.size));
    }
  }

  /** Applies one update with learning rate `lr` (the schedule lives in the trainer). Params without grad are skipped. */
  update(lr = this.opts.lr): void {
    const be = backend();
    this.step++;
    const [b1, b2] = this.opts.betas;
    for (const g of this.groups) for (const { name, tensor } of g.params) {
      if (!tensor.grad) continue;
      be.adamw(tensor.data, tensor.grad, this.m.get(name)!, this.v.get(name)!, tensor.size, lr, b1, b2, this.opts.eps, g.weightDecay, this.step);
    }
  }

  zeroGrad(): void {
    for (const g of this.groups) for (const { tensor } of g.params) tensor.zeroGrad();
  }

  /** Moments as named tensors for optimizer.safetensors (`exp_avg.<name>`, `exp_avg_sq.<name>`). */
  stateTensors(): Record<string, { shape: number[]; data: Float32Array }> {
    const out: Record<string, { shape: number[]; data: Float32Array }> = {};
    for (const g of this.groups) for (const { name, tensor } of g.params) {
      out[`exp_avg.${name}`] = { shape: tensor.shape.slice(), data: this.m.get(name)! };
      out[`exp_avg_sq.${name}`] = { shape: tensor.shape.slice(), data: this.v.get(name)! };
    }
    return out;
  }

  /** Restores moments saved by stateTensors(); throws on a missing or mis-sized entry. */
  loadStateTensors(tensors: Map<string, { data: Float32Array }>, step: number): void {
    for (const g of this.groups) for (const { name, tensor } of g.params) {
      for (const [key, map] of [[`exp_avg.${name}`, this.m], [`exp_avg_sq.${name}`, this.v]] as const) {
        const t = tensors.get(key);
        if (!t) throw new Error(`optimizer state: missing tensor "${key}"`);
        if (t.data.length !== tensor.size) throw new Error(`optimizer state: "${key}" has ${t.data.length} values, expected ${tensor.size}`);
        map.get(name)!.set(t.data);
      }
    }
    this.step = step;
  }
}

/** Scales all gradients so their global L2 norm is ≤ maxNorm; returns the norm before clipping. */
export function clipGradNorm(params: Tensor[], maxNorm: number): number {
  const be = backend();
  let sq = 0;
  for (const p of params) if (p.grad) sq += be.sumSquares(p.grad, p.size);
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const s = maxNorm / (norm + 1e-6);
    for (const p of params) if (p.grad) be.scale(p.grad, s, p.size);
  }
  return norm;
}
