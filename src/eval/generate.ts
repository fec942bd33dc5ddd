/**
 * Greedy free-running generation — what a user means by "the model can do the task" (the reference only ever
 * scored teacher-forced argmax). Prompts of one batch share a length; each step re-runs the prefix (no KV cache:
 * sequences here are < 160 tokens, and the forward pass is the engine's fastest path).
 */
import { noGrad } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";

/**
 * prompts: [B, P] ids (row-major). Returns the `steps` generated ids per row, [B, steps].
 * `stopAfter`: optional per-row budget is not needed here — outputs have known lengths in this DGP.
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
