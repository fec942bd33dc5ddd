/**
 * Embedding-space plumbing for the attacks: the differentiable "soft slots" op, the budget (ε ball, its default
 * radius, projection and steps), and a model view for sequences longer than the trained block.
 */
import { Tensor, alloc, needsGrad, record } from "../engine/tensor.js";
import { GPT } from "../model/gpt.js";
import type { HookFn } from "../model/hooks.js";
import { sinusoidalPositions } from "../model/params.js";
import { UserError } from "../util/errors.js";

export type AttackNorm = "l2" | "linf";
export type SoftOptimizer = "normalized" | "signed";

/**
 * Input embeddings with soft vectors at the slots: out[b, t] = clean[b, t], except out[b, slots[j]] = base[j] +
 * δ[d(b), j], with d(b) = b when δ is per row (D = B) and 0 when it is shared (D = 1, universal).
 * clean: [B, T, C] data; base: [n, C]; delta: [D, n, C] → [B, T, C]. Only δ gets a gradient (summed over rows when
 * shared), which is what makes one backward pass give every row its own gradient, or the set's summed one.
 */
export function insertSoft(clean: Float32Array, B: number, T: number, slots: readonly number[], base: Float32Array, delta: Tensor): Tensor {
  const [D, n, C] = delta.shape;
  if (delta.shape.length !== 3 || n !== slots.length || (D !== B && D !== 1)) throw new RangeError(`insertSoft: δ [${delta.shape.join(", ")}] for B = ${B}, ${slots.length} slots`);
  if (clean.length !== B * T * C || base.length !== n * C) throw new RangeError("insertSoft: size mismatch");
  const out = new Tensor(alloc(B * T * C), [B, T, C]);
  out.data.set(clean);
  for (let b = 0; b < B; b++) {
    const d = D === 1 ? 0 : b;
    for (let j = 0; j < n; j++) {
      const o = (b * T + slots[j]!) * C, od = (d * n + j) * C;
      for (let c = 0; c < C; c++) out.data[o + c] = base[j * C + c] + delta.data[od + c];
    }
  }
  if (needsGrad(delta)) {
    out.requiresGrad = true;
    record(() => {
      if (!out.grad) return;
      const g = delta.gradBuffer();
      for (let b = 0; b < B; b++) {
        const d = D === 1 ? 0 : b;
        for (let j = 0; j < n; j++) {
          const o = (b * T + slots[j]!) * C, od = (d * n + j) * C;
          for (let c = 0; c < C; c++) g[od + c] += out.grad![o + c];
        }
      }
    });
  }
  return out;
}

/** Rows of the token-embedding matrix wte [V, C]. */
export function wte(model: GPT): Tensor {
  return model.p("transformer.wte.weight");
}

/**
 * Default radius: the mean token-embedding norm over the model's vocabulary — mean ‖w_v‖₂ for L2 (the paper's
 * "mean embedding norm", taken over the vocabulary instead of the padded batch, so it does not depend on the
 * data), mean ‖w_v‖∞ for L∞ (the smallest box around 0 that holds a typical token embedding).
 */
export function defaultEps(model: GPT, norm: AttackNorm): number {
  const w = wte(model);
  const [V, C] = w.shape;
  let s = 0;
  for (let v = 0; v < V; v++) {
    let acc = 0;
    for (let c = 0; c < C; c++) {
      const x = w.data[v * C + c];
      acc = norm === "l2" ? acc + x * x : Math.max(acc, Math.abs(x));
    }
    s += norm === "l2" ? Math.sqrt(acc) : acc;
  }
  return s / V;
}

/**
 * Default step size: `steps` steps cover the ball's diameter along the step direction — 2ε/steps for the
 * reference's pairing (normalised gradient in an L2 ball) and for signed steps in an L∞ box; the mixed pairings are
 * rescaled by √C, the L2 length of a sign vector.
 */
export function defaultLr(eps: number, steps: number, norm: AttackNorm, opt: SoftOptimizer, C: number): number {
  const base = (2 * eps) / Math.max(1, steps);
  if (norm === "l2" && opt === "signed") return base / Math.sqrt(C);
  if (norm === "linf" && opt === "normalized") return base * Math.sqrt(C);
  return base;
}

/** One descent step on a vector v (length C, in place) from its gradient g. */
export function stepVector(v: Float32Array, o: number, g: Float32Array, og: number, C: number, lr: number, opt: SoftOptimizer): void {
  if (opt === "signed") {
    for (let c = 0; c < C; c++) v[o + c] -= lr * Math.sign(g[og + c]);
    return;
  }
  let nrm = 0;
  for (let c = 0; c < C; c++) nrm += g[og + c] * g[og + c];
  nrm = Math.sqrt(nrm);
  if (nrm === 0) return; // a zero gradient gives no direction; the reference would divide by 0
  for (let c = 0; c < C; c++) v[o + c] -= (lr / nrm) * g[og + c];
}

/** Projects v[o : o+C] onto the ε ball (L2) or box (L∞) around 0. */
export function projectVector(v: Float32Array, o: number, C: number, eps: number, norm: AttackNorm): void {
  if (norm === "linf") {
    for (let c = 0; c < C; c++) v[o + c] = Math.min(eps, Math.max(-eps, v[o + c]));
    return;
  }
  let nrm = 0;
  for (let c = 0; c < C; c++) nrm += v[o + c] * v[o + c];
  nrm = Math.sqrt(nrm);
  if (nrm > eps) for (let c = 0; c < C; c++) v[o + c] *= eps / nrm;
}

/** ‖v[o : o+C]‖ in the attack's norm. */
export function vectorNorm(v: Float32Array, o: number, C: number, norm: AttackNorm): number {
  let acc = 0;
  for (let c = 0; c < C; c++) acc = norm === "l2" ? acc + v[o + c] * v[o + c] : Math.max(acc, Math.abs(v[o + c]));
  return norm === "l2" ? Math.sqrt(acc) : acc;
}

/**
 * The model, able to read T positions. Inserting slots lengthens sequences past the trained block when the block is
 * tight (the `cpu` preset trains exactly 3L+9 positions). Fixed sinusoidal positions extend to any length, so a
 * view with a longer block sharing the same weights is returned (`extended` says so: those positions were never
 * trained); learned positions cannot be extended.
 */
export function modelForLength(model: GPT, T: number): { model: GPT; extended: boolean } {
  if (T <= model.config.block_size) return { model, extended: false };
  // Under "keep" the view is only needed to pass forward()'s length check; no position past the block is used.
  if (model.config.pos !== "pe") {
    throw new UserError(`attacked sequences need ${T} positions but the model has learned positions up to ${model.config.block_size}; use fewer tokens or shorter texts (--length)`);
  }
  return { model: new GPT({ ...model.config, block_size: T }, model.params), extended: true };
}

const tables = new WeakMap<Float64Array, { model: GPT; table: Float32Array }>();

/**
 * Position vectors [T, C] for (possibly fractional) positions [T]: the sinusoid evaluated at the position (the
 * model's own formula, so integer positions give its table exactly), or for learned positions the linear
 * interpolation of the two neighbouring wpe rows. Cached per positions array (groups keep theirs).
 */
export function positionTable(model: GPT, positions: Float64Array): Float32Array {
  const hit = tables.get(positions);
  if (hit && hit.model === model) return hit.table;
  const C = model.config.n_embd;
  const table = alloc(positions.length * C);
  positions.forEach((pos, t) => {
    const o = t * C;
    if (model.config.pos === "pe") {
      for (let i = 0; i < C / 2; i++) {
        const angle = pos / Math.pow(10000, (2 * i) / C);
        table[o + 2 * i] = Math.sin(angle);
        table[o + 2 * i + 1] = Math.cos(angle);
      }
      return;
    }
    const lo = Math.floor(pos), hi = Math.ceil(pos), w = pos - lo;
    if (lo < 0 || hi >= model.config.block_size) throw new UserError(`position ${pos} is outside the learned positions (block_size ${model.config.block_size})`);
    const wpe = model.p("transformer.wpe.weight").data;
    for (let c = 0; c < C; c++) table[o + c] = (1 - w) * wpe[lo * C + c] + w * wpe[hi * C + c];
  });
  tables.set(positions, { model, table });
  return table;
}

/** Forward hooks that make the model add the first T rows of `table` [≥T, C] instead of positions 0..T−1. */
export function positionHooks(table: Float32Array, T: number, C: number): [string, HookFn][] {
  return [["hook_pos_embed", () => new Tensor(table.subarray(0, T * C), [T, C])]];
}

/**
 * Input embeddings [B, T, C] rewritten so that a plain forward pass (positions 0..T−1 added by the model, as the
 * analyses run it) computes what the attack computed with its own position ids: e + table − default positions.
 * The identity under "shift".
 */
export function foldPositions(model: GPT, embeds: Float32Array, B: number, T: number, ids: Float64Array): Float32Array {
  const C = model.config.n_embd;
  const table = positionTable(model, ids);
  const def = model.config.pos === "pe" ? sinusoidalPositions(T, C) : model.p("transformer.wpe.weight").data;
  const out = embeds.slice();
  for (let t = 0; t < T; t++) {
    if (ids[t] === t) continue;
    for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) out[(b * T + t) * C + c] += table[t * C + c] - def[t * C + c];
  }
  return out;
}
