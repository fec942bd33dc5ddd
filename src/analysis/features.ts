/**
 * Per-layer activation features for a set of sequences: one hook (e.g. `mlp.hook_post`, the GELU output) in every
 * requested block, averaged over a window of positions starting at a per-sequence position (the EOT position).
 *
 * Sequences are run in batches (default 64) collated to the longest member with padding after the end. Causal
 * attention means padding never changes the activations at earlier positions, so no mask is needed; the window is
 * clipped to each sequence's own valid positions, and only those are averaged.
 */
import { Tensor, alloc, noGrad } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import { PAD } from "../data/vocab.js";

/**
 * One sequence to featurise. `tokens` is the full unshifted sequence (as the data module builds it); the model
 * reads tokens[0 .. len−2] (its last token is only ever a target). `start` is the first position of the window in
 * those same coordinates (for the paper's features: the EOT position, `segments.eot`).
 */
export interface SeqInput {
  tokens: ArrayLike<number>;
  start: number;
}

export interface FeatureOptions {
  /** Hook name inside a block, e.g. "mlp.hook_post" (GELU output) or "mlp.hook_in" (the c_fc input). */
  hook: string;
  /** Blocks to read (default: all). */
  layers?: number[];
  /** Positions averaged from `start` (default 10: EOT plus the first 9 output positions, as the reference). */
  window?: number;
  /** Keep only the first `units` feature dimensions (the reference kept hidden units 0..191 of 768). */
  units?: number;
  /** Sequences per forward pass (default 64). */
  batchSize?: number;
}

/** Features of n inputs: per layer a row-major [n, dim] float64 matrix. */
export interface LayerFeatures {
  hook: string;
  layers: number[];
  n: number;
  dim: number;
  data: Float64Array[];
}

function resolve(model: GPT, opts: FeatureOptions): { layers: number[]; names: string[]; window: number } {
  const layers = opts.layers ?? Array.from({ length: model.config.n_layer }, (_, l) => l);
  for (const l of layers) if (!(Number.isInteger(l) && l >= 0 && l < model.config.n_layer)) throw new RangeError(`features: layer ${l} outside [0, ${model.config.n_layer})`);
  const window = opts.window ?? 10;
  if (!(Number.isInteger(window) && window >= 1)) throw new RangeError(`features: window must be a positive integer, got ${window}`);
  return { layers, names: layers.map((l) => `blocks.${l}.${opts.hook}`), window };
}

/**
 * Averages cached [B, T, D] activations over each row's window into out[layer] rows [row0, row0 + B).
 * valid[b] = number of readable positions of row b.
 */
function pool(cache: Map<string, Tensor>, names: string[], starts: ArrayLike<number>, valid: ArrayLike<number>, window: number, units: number | undefined, out: LayerFeatures, row0: number): void {
  names.forEach((name, li) => {
    const t = cache.get(name);
    if (!t) throw new Error(`features: hook ${name} was not cached`);
    const [B, T, D] = t.shape as [number, number, number];
    const dim = out.dim;
    if (units === undefined && D !== dim) throw new Error(`features: ${name} has ${D} dims, expected ${dim}`);
    const dst = out.data[li];
    for (let b = 0; b < B; b++) {
      const from = starts[b], to = Math.min(from + window, valid[b], T);
      if (!(from >= 0 && from < to)) throw new RangeError(`features: row ${row0 + b} has no valid position in its window [${from}, ${from + window}) (length ${valid[b]})`);
      const o = (row0 + b) * dim;
      for (let t2 = from; t2 < to; t2++) {
        const src = (b * T + t2) * D;
        for (let c = 0; c < dim; c++) dst[o + c] += t.data[src + c];
      }
      const inv = 1 / (to - from);
      for (let c = 0; c < dim; c++) dst[o + c] *= inv;
    }
  });
}

function allocate(hook: string, layers: number[], n: number, dim: number): LayerFeatures {
  return { hook, layers, n, dim, data: layers.map(() => new Float64Array(n * dim)) };
}

function hookDim(model: GPT, hook: string, units?: number): number {
  const C = model.config.n_embd;
  const full = /mlp\.hook_(pre|post)$/.test(hook) ? 4 * C : C;
  if (units === undefined) return full;
  if (!(Number.isInteger(units) && units >= 1 && units <= full)) throw new RangeError(`features: units must be in 1..${full}, got ${units}`);
  return units;
}

/** Features of token sequences (batched forward passes, no gradient). */
export function extractFeatures(model: GPT, inputs: readonly SeqInput[], opts: FeatureOptions): LayerFeatures {
  const { layers, names, window } = resolve(model, opts);
  const out = allocate(opts.hook, layers, inputs.length, hookDim(model, opts.hook, opts.units));
  const bs = opts.batchSize ?? 64;
  const pad = PAD < model.config.vocab_size ? PAD : 0;
  for (let i0 = 0; i0 < inputs.length; i0 += bs) {
    const chunk = inputs.slice(i0, i0 + bs);
    const B = chunk.length;
    // The model reads all but the last token; positions after the window cannot affect it (causal attention), so
    // each row is cut at the end of its window and the batch at its longest cut row.
    const valid = chunk.map((s) => Math.min(s.tokens.length - 1, s.start + window));
    const T = Math.max(1, ...valid);
    if (T > model.config.block_size) throw new RangeError(`features: sequence of ${T + 1} tokens exceeds block_size ${model.config.block_size} + 1`);
    const tokens = new Int32Array(B * T).fill(pad); // [B, T]
    chunk.forEach((s, b) => {
      for (let q = 0; q < valid[b]; q++) tokens[b * T + q] = s.tokens[q];
    });
    const { cache } = noGrad(() => model.runWithCache({ tokens, B, T }, { namesFilter: names }));
    pool(cache, names, chunk.map((s) => s.start), valid, window, opts.units, out, i0);
  }
  return out;
}

/**
 * Features of input-embedding tensors (adversarial soft-token inputs from the attack module): embeds [B, T, C]
 * token embeddings (positions are added by the model), starts[b] = window start of row b. All T positions valid
 * (the attack module zero-pads shorter rows at the end, which causal attention ignores).
 */
export function extractFeaturesFromEmbeds(model: GPT, embeds: Tensor, starts: ArrayLike<number>, opts: FeatureOptions): LayerFeatures {
  const { layers, names, window } = resolve(model, opts);
  const [B, T, C] = embeds.shape as [number, number, number];
  if (starts.length !== B) throw new RangeError(`features: ${starts.length} starts for ${B} rows`);
  const out = allocate(opts.hook, layers, B, hookDim(model, opts.hook, opts.units));
  const bs = opts.batchSize ?? 64;
  for (let i0 = 0; i0 < B; i0 += bs) {
    const nb = Math.min(bs, B - i0);
    const st = Array.from({ length: nb }, (_, b) => starts[i0 + b]);
    // As for tokens: positions after the last window end cannot matter (causal), so rows are cut there. [nb, Tc, C]
    const Tc = Math.min(T, Math.max(...st) + window);
    const data = alloc(nb * Tc * C);
    for (let b = 0; b < nb; b++) data.set(embeds.data.subarray((i0 + b) * T * C, (i0 + b) * T * C + Tc * C), b * Tc * C);
    const { cache } = noGrad(() => model.runWithCache({ embeds: new Tensor(data, [nb, Tc, C]) }, { namesFilter: names }));
    pool(cache, names, st, new Array<number>(nb).fill(Tc), window, opts.units, out, i0);
  }
  return out;
}

/** Row i of layer li as a view. */
export function featureRow(f: LayerFeatures, li: number, i: number): Float64Array {
  return f.data[li].subarray(i * f.dim, (i + 1) * f.dim);
}
