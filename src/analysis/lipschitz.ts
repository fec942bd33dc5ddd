/**
 * Local Lipschitzness proxy (paper Fig. 6):
 *
 *   L(x) = ‖ ∂ max_v logit_v(EOT) / ∂ E ‖_F,   E = input token embeddings at positions 0 .. EOT−1
 *
 * i.e. the gradient of the raw maximal logit at the EOT position (the one predicting the first output token) with
 * respect to the token embeddings of BOS, operators, SOT and text (the reference excludes the EOT token itself).
 * The max is taken at the current input, so the gradient is that of the arg-max logit (max is piecewise linear).
 *
 * Rows of a batch are independent under causal attention, so one backward pass of Σ_b max-logit_b gives every
 * row's gradient at once. Model parameters are frozen during the pass (no parameter gradients are formed).
 */
import { pick, sum } from "../engine/ops/elementwise.js";
import { backward, clearTape, Tensor } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import { PAD } from "../data/vocab.js";
import type { VlSpec } from "../plot/render.js";
import { histogramSpec } from "../plot/specs.js";
import type { SeqInput } from "./features.js";
import { histogram, r6, summarize, type Summary } from "./stats.js";

export interface LipschitzOptions {
  batchSize?: number;
  /** Keep the per-sample gradients (rows [start, C]) in the output (tests; default false). */
  keepGradients?: boolean;
}

/**
 * Gradient norms for token sequences; `start` of each input is its EOT position. Returns the norms and, with
 * keepGradients, each sample's gradient over positions [0, start) as a row-major [start, C] array.
 */
export function maxLogitGradientNorms(model: GPT, inputs: readonly SeqInput[], opts: LipschitzOptions = {}): { norms: Float64Array; gradients?: Float32Array[] } {
  const bs = opts.batchSize ?? 32, C = model.config.n_embd, V = model.config.vocab_size;
  const norms = new Float64Array(inputs.length);
  const gradients: Float32Array[] | undefined = opts.keepGradients ? [] : undefined;
  const flags = [...model.params.values()].map((t) => t.requiresGrad);
  model.setRequiresGrad(false);
  const pad = PAD < V ? PAD : 0;
  try {
    for (let i0 = 0; i0 < inputs.length; i0 += bs) {
      const chunk = inputs.slice(i0, i0 + bs);
      const B = chunk.length;
      // Only positions ≤ EOT matter (causality), so each row is cut there: T = 1 + max start.
      const T = 1 + Math.max(...chunk.map((s) => s.start));
      const tokens = new Int32Array(B * T).fill(pad); // [B, T]
      chunk.forEach((s, b) => {
        if (!(s.start >= 1 && s.start < s.tokens.length)) throw new RangeError(`lipschitz: input ${i0 + b} has EOT position ${s.start} outside [1, ${s.tokens.length})`);
        for (let q = 0; q <= s.start; q++) tokens[b * T + q] = s.tokens[q];
      });
      const embeds = model.embedTokens(tokens, B, T); // [B, T, C] leaf
      embeds.requiresGrad = true;
      try {
        const logits = model.forward({ embeds }); // [B, T, V]
        const idx = chunk.map((s, b) => {
          const o = (b * T + s.start) * V;
          let best = 0;
          for (let v = 1; v < V; v++) if (logits.data[o + v] > logits.data[o + best]) best = v;
          return o + best;
        });
        backward(sum(pick(logits, idx)));
      } finally {
        clearTape();
      }
      const g = embeds.grad!;
      chunk.forEach((s, b) => {
        let ss = 0;
        const o = b * T * C, n = s.start * C;
        for (let k = 0; k < n; k++) ss += g[o + k] * g[o + k];
        norms[i0 + b] = Math.sqrt(ss);
        if (gradients) gradients.push(g.slice(o, o + n));
      });
    }
  } finally {
    [...model.params.values()].forEach((t, k) => { t.requiresGrad = flags[k]; });
  }
  return gradients ? { norms, gradients } : { norms };
}

export interface LipschitzResult {
  kind: "lipschitz";
  models: { label: string; groups: Record<string, Summary> }[];
  /** Shared histogram bins over all models and groups (for comparable plots). */
  histograms: { model: string; group: string; x0: number; x1: number; count: number }[];
}

/** Fig. 6: gradient-norm distributions of each group (e.g. safe, unsafe) for each model (IT, ST). */
export function runLipschitz(models: readonly { label: string; model: GPT }[], groups: Readonly<Record<string, readonly SeqInput[]>>, opts: LipschitzOptions & { bins?: number } = {}): LipschitzResult {
  const raw: { model: string; group: string; norms: Float64Array }[] = [];
  for (const { label, model } of models) for (const [group, inputs] of Object.entries(groups)) raw.push({ model: label, group, norms: maxLogitGradientNorms(model, inputs, opts).norms });
  let lo = Infinity, hi = -Infinity;
  for (const r of raw) for (const v of r.norms) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (!Number.isFinite(lo)) { lo = 0; hi = 1; }
  const histograms = raw.flatMap((r) => histogram(r.norms, lo, hi, opts.bins ?? 30).map((b) => ({ model: r.model, group: r.group, x0: r6(b.x0), x1: r6(b.x1), count: b.count })));
  return {
    kind: "lipschitz",
    models: models.map(({ label }) => ({
      label,
      groups: Object.fromEntries(raw.filter((r) => r.model === label).map((r) => {
        const s = summarize(r.norms);
        return [r.group, { n: s.n, mean: r6(s.mean), std: r6(s.std), min: r6(s.min), q25: r6(s.q25), median: r6(s.median), q75: r6(s.q75), max: r6(s.max) }];
      })),
    })),
    histograms,
  };
}

/** Fig. 6: overlaid histograms of ‖∂ max-logit / ∂ E‖_F, safe vs unsafe, one panel per model. */
export function lipschitzPlot(r: LipschitzResult): VlSpec {
  return histogramSpec({ title: "Local Lipschitzness: ‖∂ max logit(EOT) / ∂ input embeddings‖_F", rows: r.histograms, xTitle: "gradient norm", column: "model" });
}

/** For callers holding embeddings (attacks): the same gradient for one [1, T, C] input (tests, adversarial). */
export function maxLogitGradientFromEmbeds(model: GPT, embeds: Tensor, start: number): Float32Array {
  const V = model.config.vocab_size;
  if (embeds.shape.length !== 3 || embeds.shape[0] !== 1) throw new RangeError(`maxLogitGradientFromEmbeds: expects [1, T, C], got [${embeds.shape.join(", ")}]`);
  const flags = [...model.params.values()].map((t) => t.requiresGrad);
  model.setRequiresGrad(false);
  const leaf = new Tensor(embeds.data.slice(), embeds.shape, true);
  try {
    const logits = model.forward({ embeds: leaf });
    const o = start * V;
    let best = 0;
    for (let v = 1; v < V; v++) if (logits.data[o + v] > logits.data[o + best]) best = v;
    backward(sum(pick(logits, [o + best])));
  } finally {
    clearTape();
    [...model.params.values()].forEach((t, k) => { t.requiresGrad = flags[k]; });
  }
  return leaf.grad!.slice(0, start * embeds.shape[2]);
}
