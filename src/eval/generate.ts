/**
 * Greedy free-running generation — what a user means by "the model can do the task" (the reference only ever
 * scored teacher-forced argmax). Prompts of one batch share a length; each step re-runs the prefix (no KV cache:
 * sequences here are < 160 tokens, and the forward pass is the engine's fastest path).
 */
import { noGrad } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";

/**
 * prompts: [B, P] ids (row-major). Returns the `steps` generated ids per row, [B, steps] (outputs have known
 * lengths in this data-generating process, so there is no stop condition).
 */
export function greedyGenerate(model: GPT, prompts: Int32Array, B: number, P: number, steps: number): Int32Array {
  const V = model.config.vocab_size;
  const T = P + steps;
  if (T - 1 > model.config.block_size) throw new RangeError(`generation needs ${T - 1} positions > block_size ${model.config.block_size}`);
  const seq = new Int32Array(B * T);
  for (let b = 0; b < B; b++) seq.set(prompts.subarray(b * P, b * P + P), b * T);
  const out = new Int32Array(B * steps);
  noGrad(() => {
    for (let s = 0; s < steps; s++) {
      const cur = P + s; // current length
      const x = new Int32Array(B * cur);
      for (let b = 0; b < B; b++) x.set(seq.subarray(b * T, b * T + cur), b * cur);
      const logits = model.forward({ tokens: x, B, T: cur }).data; // [B, cur, V]
      for (let b = 0; b < B; b++) {
        const o = (b * cur + cur - 1) * V;
        let best = 0, bv = -Infinity;
        for (let v = 0; v < V; v++) if (logits[o + v] > bv) { bv = logits[o + v]; best = v; }
        seq[b * T + cur] = best;
        out[b * steps + s] = best;
      }
    }
  });
  return out;
}

/** Greedy continuations for prompts of any lengths: grouped by (prompt length, steps) into batches of ≤ chunk. */
export function generateFor(model: GPT, prompts: Uint8Array[], steps: number[], chunk = 256): Int32Array[] {
  const res = new Array<Int32Array>(prompts.length);
  const groups = new Map<string, number[]>();
  prompts.forEach((p, i) => {
    const k = `${p.length}:${steps[i]}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(i);
  });
  for (const idx of groups.values()) {
    for (let s = 0; s < idx.length; s += chunk) {
      const part = idx.slice(s, s + chunk);
      const P = prompts[part[0]].length, st = steps[part[0]];
      const flat = new Int32Array(part.length * P);
      part.forEach((i, r) => flat.set(prompts[i], r * P));
      const gen = greedyGenerate(model, flat, part.length, P, st);
      part.forEach((i, r) => (res[i] = gen.slice(r * st, (r + 1) * st)));
    }
  }
  return res;
}
