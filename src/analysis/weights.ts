/** Weight matrices of a GPT as float64 matrices, and the safety fine-tuning update ΔW = W_ST − W_IT. */
import type { GPT } from "../model/gpt.js";
import { UserError } from "../util/errors.js";
import { subMat, toMat, type Mat } from "./linalg.js";

/** The MLP matrices the analyses look at: c_fc [4C, C] (the paper's W1) and c_proj [C, 4C]. */
export type MlpMatrix = "c_fc" | "c_proj";
export const MLP_MATRICES: readonly MlpMatrix[] = ["c_fc", "c_proj"];

export function paramName(layer: number, which: MlpMatrix): string {
  return `transformer.h.${layer}.mlp.${which}.weight`;
}

/** The stored weight [out, in] as a float64 matrix (so columns live in the input space, rows in the output space). */
export function weightMat(model: GPT, layer: number, which: MlpMatrix): Mat {
  const t = model.p(paramName(layer, which));
  return toMat(t.data, t.shape[0], t.shape[1]);
}

/** ΔW = W_ST − W_IT for one matrix. */
export function deltaMat(it: GPT, st: GPT, layer: number, which: MlpMatrix): Mat {
  return subMat(weightMat(st, layer, which), weightMat(it, layer, which));
}

/** Throws a one-line UserError unless the two models have the same architecture (and so comparable weights). */
export function checkSameArchitecture(a: GPT, b: GPT, what = "instruction-tuned and safety-tuned models"): void {
  const ka = JSON.stringify(a.config), kb = JSON.stringify(b.config);
  if (ka !== kb) throw new UserError(`the ${what} have different configs: ${ka} vs ${kb}`);
}
