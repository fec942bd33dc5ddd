/**
 * One optimisation step: zero grads → forward → loss → backward → clip → AdamW. The generic trainer and the
 * benchmarks share it, so what is benchmarked is what trains.
 */
import { AdamW, clipGradNorm } from "../engine/optim.js";
import { backward, clearTape, withArena, type Tensor } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";

export interface StepResult {
  loss: number;
  gradNorm: number;
}

/**
 * Runs `lossFn` (which builds the graph and returns a scalar), back-propagates, clips the global grad norm to
 * `clip` (after backward — the reference pre-training called it before, where it never acted) and updates.
 */
export function optimStep(model: GPT, opt: AdamW, lr: number, clip: number, lossFn: () => Tensor): StepResult {
  opt.zeroGrad();
  clearTape();
  // Activations and their gradients live only for this step: pool them (see withArena).
  return withArena(() => {
    const loss = lossFn();
    backward(loss);
    const params = [...model.params.values()];
    const gradNorm = clipGradNorm(params, clip > 0 ? clip : Infinity); // clip ≤ 0: measure only
    opt.update(lr);
    return { loss: loss.item(), gradNorm };
  });
}
