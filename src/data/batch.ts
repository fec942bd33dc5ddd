/**
 * Collation: B sequences → shifted, padded arrays of width T = (longest sequence) − 1.
 *
 *   x[b, q] = input[q]        for q < T      (PAD beyond the sequence)
 *   y[b, q] = target[q + 1]                   (PAD where not counted)
 *   mask[b, q] = 1 iff y[b, q] is counted     (= y != PAD)
 *
 * Segment indices are kept in unshifted positions (see sequence.ts). To use them on the shifted
 * arrays: the token at unshifted position p is x[p] (as input) and y[p − 1] (as target); so the
 * logits predicting out1 are at x positions [out1Start − 1, out1End − 1), the first of which is eot.
 */
import type { EvalItem, EvalSampler } from "./evalsets.js";
import type { PretrainSample, PretrainSampler } from "./pretrain.js";
import type { SafetyQuad, SafetySampler } from "./safety-data.js";
import type { SamplerCore } from "./sample.js";
import type { Seq } from "./sequence.js";
import { PAD } from "./vocab.js";

export interface Batch {
  B: number;
  T: number;
  x: Int32Array;
  y: Int32Array;
  mask: Float32Array;
  /** Per row, unshifted: sequence length, text length and segment starts/ends. */
  length: Int32Array;
  L: Int32Array;
  eot: Int32Array;
  out1Start: Int32Array;
  out1End: Int32Array;
  out2Start: Int32Array;
  out2End: Int32Array;
}

export function collate(seqs: readonly Seq[], Ls: ArrayLike<number>): Batch {
  const B = seqs.length;
  let longest = 2;
  for (const s of seqs) longest = Math.max(longest, s.input.length);
  const T = longest - 1;
  const x = new Int32Array(B * T).fill(PAD);
  const y = new Int32Array(B * T).fill(PAD);
  const mask = new Float32Array(B * T);
  const col = (): Int32Array => new Int32Array(B);
  const batch: Batch = { B, T, x, y, mask, length: col(), L: col(), eot: col(), out1Start: col(), out1End: col(), out2Start: col(), out2End: col() };
  for (let b = 0; b < B; b++) {
    const { input, target } = seqs[b]!;
    const n = input.length;
    const row = b * T;
    // A shorter row keeps its last token as input too (its target is beyond the row: PAD).
    for (let q = 0; q < Math.min(n, T); q++) x[row + q] = input[q]!;
    for (let q = 0; q < n - 1; q++) {
      const t = target[q + 1]!;
      y[row + q] = t;
      mask[row + q] = t === PAD ? 0 : 1;
    }
    const L = Ls[b]!;
    batch.length[b] = n;
    batch.L[b] = L;
    batch.eot[b] = L + 6;
    batch.out1Start[b] = L + 7;
    batch.out1End[b] = 2 * L + 7;
    batch.out2Start[b] = 2 * L + 8;
    batch.out2End[b] = 3 * L + 8;
  }
  return batch;
}

/** The text length of a batch: one L per batch when the spec asks for it (default), else per sample. */
function lengthFor(core: SamplerCore, batchIndex: number, perBatch?: boolean): number | undefined {
  return (perBatch ?? core.spec.lengthPerBatch) ? core.batchLength(batchIndex) : undefined;
}

/** Pre-training batch `batchIndex` (= the iteration, which sets the mode mixture). */
export function pretrainBatch(s: PretrainSampler, batchIndex: number, batchSize: number, perBatchLength?: boolean): { batch: Batch; samples: PretrainSample[] } {
  const L = lengthFor(s.core, batchIndex, perBatchLength);
  const samples: PretrainSample[] = new Array(batchSize);
  for (let j = 0; j < batchSize; j++) samples[j] = s.sample(batchIndex * batchSize + j, batchIndex, L);
  return { batch: collate(samples, samples.map((x) => x.L)), samples };
}

export interface SafetyBatch {
  safe: Batch;
  unsafeRefusal: Batch;
  unsafeCompliant: Batch;
  safeRefusal: Batch;
  quads: SafetyQuad[];
}

/** Safety fine-tuning batch: the four members collated separately (same T, row b = quad b). */
/** The safety quadruples of batch `batchIndex` (one text length per batch when `perBatchLength`). */
export function safetyQuads(s: SafetySampler, batchIndex: number, batchSize: number, perBatchLength?: boolean): SafetyQuad[] {
  const L = lengthFor(s.core, batchIndex, perBatchLength);
  const quads: SafetyQuad[] = new Array(batchSize);
  for (let j = 0; j < batchSize; j++) quads[j] = s.sample(batchIndex * batchSize + j, L);
  return quads;
}

export function safetyBatch(s: SafetySampler, batchIndex: number, batchSize: number, perBatchLength?: boolean): SafetyBatch {
  const quads = safetyQuads(s, batchIndex, batchSize, perBatchLength);
  const Ls = quads.map((q) => q.L);
  return {
    safe: collate(quads.map((q) => q.safe), Ls),
    unsafeRefusal: collate(quads.map((q) => q.unsafeRefusal), Ls),
    unsafeCompliant: collate(quads.map((q) => q.unsafeCompliant), Ls),
    safeRefusal: collate(quads.map((q) => q.safeRefusal), Ls),
    quads,
  };
}

/** Items [from, from + n) of an evaluation set with teacher-forced batches of its pairs. */
export function evalBatch(s: EvalSampler, from: number, n: number, L?: number): { items: EvalItem[]; refusal: Batch; compliant: Batch; safe?: Batch } {
  const items: EvalItem[] = new Array(n);
  for (let j = 0; j < n; j++) items[j] = s.item(from + j, L);
  const Ls = items.map((i) => i.L);
  const hasSafe = items.every((i) => i.pairs.safe);
  return {
    items,
    refusal: collate(items.map((i) => i.pairs.refusal), Ls),
    compliant: collate(items.map((i) => i.pairs.compliant), Ls),
    ...(hasSafe ? { safe: collate(items.map((i) => i.pairs.safe!), Ls) } : {}),
  };
}
