/**
 * Safety fine-tuning objectives as losses on per-sequence masked log-likelihoods. The trainer is generic; these
 * are the only place where SSFT, DPO and unlearning differ (reference-code §4, paper §4).
 *
 * Per-sequence log-likelihood normalisation (`logp_norm`):
 *  - "mean_fixed": Σ_t m_t·log p_t / block_size — the reference's ℓ = (1/159)·Σ CE (a mean over a fixed length);
 *  - "sum": Σ_t m_t·log p_t — standard DPO (TRL);
 *  - "mean_tokens": Σ_t m_t·log p_t / Σ_t m_t.
 */
import { addConst, logSigmoid, mean, mul, neg, pick, scale, sub } from "../engine/ops/elementwise.js";
import { Tensor, alloc, noGrad } from "../engine/tensor.js";
import type { Batch } from "../data/batch.js";
import type { GPT } from "../model/gpt.js";
import { maskedTargets, meanCrossEntropy, sequenceLogLikelihood } from "../model/loss.js";
import { UserError } from "../util/errors.js";

export type Method = "ssft" | "dpo" | "unlearn";
export const METHODS: readonly Method[] = ["ssft", "dpo", "unlearn"];

export interface LossConfig {
  /**
   * DPO: "reference" = the paper's code (two betas, per-position mean over the block); "standard" = one beta on
   * summed log-probs (TRL); "length_normalized" = one beta on per-token mean log-probs (as SimPO normalises, with
   * the reference model kept), so a refusal's log-ratio saturates the sigmoid without an unbounded push on the
   * rejected response.
   */
  dpo_variant: "reference" | "standard" | "length_normalized";
  /** Reference DPO weights on the chosen / rejected log-ratios (dpo_weight_safe, dpo_weight_unsafe). */
  beta_w: number;
  beta_l: number;
  /** Standard DPO's beta. */
  beta: number;
  /** Unlearning: weight of gradient ascent on the rejected response (unlearn_weight_unsafe). */
  gamma: number;
  logp_norm: "mean_fixed" | "sum" | "mean_tokens";
  /**
   * DPO: weight of an added NLL term on the chosen response (per-token mean), TRL's `rpo_alpha` (Pang et al. 2024,
   * "Iterative Reasoning Preference Optimization"). 0 = plain DPO. It anchors the chosen likelihood, which plain DPO
   * lets fall together with the rejected one.
   */
  rpo_alpha: number;
  /**
   * Unlearning: "reference" = the paper's gradient difference ℓ(w) − γ·ℓ(l), whose ascent term is unbounded;
   * "npo" = Negative Preference Optimization (Zhang et al. 2024) on the rejected response,
   * ℓ(w) + γ·(2/β_npo)·softplus(β_npo·(logπθ(l) − logπref(l))): the same gradient as the reference at the start
   * (policy = reference), fading once the rejected response is e^(−1/β_npo)-fold less likely than under the
   * reference (in the `logp_norm` units). Needs the frozen reference model.
   */
  unlearn_variant: "reference" | "npo";
  npo_beta: number;
}

export const defaultLossConfig: LossConfig = { dpo_variant: "reference", beta_w: 0.1, beta_l: 0.01, beta: 0.1, gamma: 0.1, logp_norm: "mean_fixed", rpo_alpha: 0, unlearn_variant: "reference", npo_beta: 5 };

/** Concatenates two batches of equal T row-wise: [chosen; rejected] → one forward pass of 2B rows. */
function stack(a: Batch, b: Batch): { x: Int32Array; y: Int32Array; mask: Float32Array; B: number; T: number } {
  if (a.T !== b.T) throw new RangeError(`chosen and rejected batches differ in width (${a.T} vs ${b.T})`);
  const n = a.B * a.T, T = a.T;
  const x = new Int32Array(2 * n), y = new Int32Array(2 * n), mask = new Float32Array(2 * n);
  x.set(a.x); x.set(b.x, n); y.set(a.y); y.set(b.y, n); mask.set(a.mask); mask.set(b.mask, n);
  return { x, y, mask, B: a.B + b.B, T };
}

/**
 * Per-sequence log-likelihoods [2B] of chosen then rejected rows, normalised by `norm`; with `perToken`, also the
 * per-token mean (only then is it put on the tape).
 */
function pairLogps(model: GPT, s: ReturnType<typeof stack>, norm: LossConfig["logp_norm"], perToken = false): { lp: Tensor; perToken: Tensor | null } {
  const logits = model.forward({ tokens: s.x, B: s.B, T: s.T }); // [2B, T, V]
  const { logp, count } = sequenceLogLikelihood(logits, s.y, s.mask); // [2B] (positions with mask 0 are ignored there)
  const tokenMean = () => {
    const inv = alloc(s.B);
    for (let i = 0; i < s.B; i++) inv[i] = 1 / Math.max(1, count[i]);
    // Division by the per-row token count: a constant factor, so no gradient flows to the counts.
    return mul(logp, new Tensor(inv, [s.B]));
  };
  const pt = norm === "mean_tokens" || perToken ? tokenMean() : null;
  const lp = norm === "sum" ? logp : norm === "mean_fixed" ? scale(logp, 1 / model.config.block_size) : pt!;
  return { lp, perToken: pt };
}

const oneOf = (field: string, v: string, valid: readonly string[]) => {
  if (!valid.includes(v)) throw new UserError(`loss.${field} must be one of ${valid.join(", ")}, got ${JSON.stringify(v)}`);
};

/** One-line errors for a loss config from a file or --set. */
export function checkLossConfig(l: LossConfig): void {
  oneOf("dpo_variant", l.dpo_variant, ["reference", "standard", "length_normalized"]);
  oneOf("unlearn_variant", l.unlearn_variant, ["reference", "npo"]);
  oneOf("logp_norm", l.logp_norm, ["mean_fixed", "sum", "mean_tokens"]);
  for (const k of ["beta_w", "beta_l", "beta", "gamma", "rpo_alpha", "npo_beta"] as const) {
    if (!(Number.isFinite(l[k]) && l[k] >= 0)) throw new UserError(`loss.${k} must be a number ≥ 0, got ${l[k]}`);
  }
  if (l.npo_beta === 0) throw new UserError("loss.npo_beta must be > 0");
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

export interface SafetyLossResult {
  loss: Tensor;
  metrics: Record<string, number>;
}

/**
 * The loss of one step. `chosen`/`rejected` are the batch's preferred and dispreferred sequences (refusal vs
 * compliance on unsafe batches; answer vs refusal on safe ones). `ref` is the frozen reference policy (DPO).
 */
export function safetyLoss(method: Method, model: GPT, ref: GPT | null, chosen: Batch, rejected: Batch, cfg: LossConfig): SafetyLossResult {
  if (method === "ssft") {
    const logits = model.forward({ tokens: chosen.x, B: chosen.B, T: chosen.T });
    return { loss: meanCrossEntropy(logits, maskedTargets(chosen.y, chosen.mask)), metrics: {} };
  }
  const B = chosen.B;
  const s = stack(chosen, rejected);
  const norm = method !== "dpo" || cfg.dpo_variant === "reference" ? cfg.logp_norm : cfg.dpo_variant === "standard" ? "sum" : "mean_tokens";
  const { lp, perToken } = pairLogps(model, s, norm, method === "dpo" && cfg.rpo_alpha > 0); // [2B]
  const lpW = pick(lp, range(0, B)), lpL = pick(lp, range(B, B));
  const metrics: Record<string, number> = { "logps/chosen": avg(lpW.data), "logps/rejected": avg(lpL.data) };
  if (method === "unlearn" && cfg.unlearn_variant === "reference") {
    // mean_b( w_s·ℓ(w) − γ·ℓ(l) ) with ℓ = −logp: descend on the preferred, ascend on the dispreferred.
    const loss = sub(mean(neg(lpW)), scale(mean(neg(lpL)), cfg.gamma));
    return { loss, metrics };
  }
  if (!ref) throw new Error(`${method === "dpo" ? "DPO" : "NPO unlearning"} needs a reference model`);
  const refLp = noGrad(() => pairLogps(ref, s, norm).lp).data;
  const refW = refLp.slice(0, B), refL = refLp.slice(B);
  if (method === "unlearn") {
    // (2/β)·softplus(β·Δ) = −(2/β)·logσ(−β·Δ), Δ = logπθ(l) − logπref(l) [B].
    const bn = cfg.npo_beta;
    const npo = scale(mean(logSigmoid(scale(addConst(lpL, refL, -1), -bn))), -2 / bn);
    metrics["npo/log_ratio_rejected"] = avg(addConst(lpL, refL, -1).data);
    return { loss: sub(mean(neg(lpW)), scale(npo, -cfg.gamma)), metrics };
  }
  const [bw, bl] = cfg.dpo_variant === "reference" ? [cfg.beta_w, cfg.beta_l] : [cfg.beta, cfg.beta];
  const rW = scale(addConst(lpW, refW, -1), bw); // β_w·(logπθ(w) − logπref(w))
  const rL = scale(addConst(lpL, refL, -1), bl);
  const margin = sub(rW, rL);
  const dpo = neg(mean(logSigmoid(margin)));
  // RPO: + α·NLL(chosen), the per-token mean over the chosen rows.
  let loss = dpo;
  if (cfg.rpo_alpha > 0) {
    const lpTokW = mean(pick(perToken!, range(0, B))); // mean per-token log-likelihood of the chosen rows
    loss = sub(dpo, scale(lpTokW, cfg.rpo_alpha));
    metrics["nll_loss"] = -lpTokW.data[0];
  }
  let acc = 0;
  for (let i = 0; i < B; i++) if (rW.data[i] > rL.data[i]) acc++;
  Object.assign(metrics, { "rewards/chosen": avg(rW.data), "rewards/rejected": avg(rL.data), "rewards/accuracies": acc / B, "rewards/margins": avg(margin.data) });
  return { loss, metrics };
}

function avg(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / Math.max(1, x.length);
}
