/**
 * Teacher-forced scoring (the reference's metrics): argmax of the logits against the targets, as token accuracy
 * over the loss mask and as per-sequence exact match ("And" in the reference).
 */
import { noGrad } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import type { Batch } from "../data/batch.js";

export interface TeacherScore {
  /** Correct / counted positions over the whole batch. */
  tokenAcc: number;
  /** Fraction of sequences whose counted positions are all correct (sequences with none counted are skipped). */
  exactMatch: number;
  /** Per sequence: all counted positions correct (null when the sequence has none). */
  perSeq: (boolean | null)[];
  counted: number;
}

/** Argmax predictions [B·T] for a batch, in chunks of `chunk` rows to bound memory. */
export function argmaxPredictions(model: GPT, batch: Batch, chunk = 128): Int32Array {
  const { B, T } = batch;
  const V = model.config.vocab_size;
  const pred = new Int32Array(B * T);
  noGrad(() => {
    for (let b0 = 0; b0 < B; b0 += chunk) {
      const nb = Math.min(chunk, B - b0);
      const logits = model.forward({ tokens: batch.x.subarray(b0 * T, (b0 + nb) * T), B: nb, T }).data;
      for (let r = 0; r < nb * T; r++) {
        let best = 0, bv = -Infinity;
        const o = r * V;
        for (let v = 0; v < V; v++) if (logits[o + v] > bv) { bv = logits[o + v]; best = v; }
        pred[b0 * T + r] = best;
      }
    }
  });
  return pred;
}

/** Scores predictions against batch.y over `weights` (default: the batch's loss mask). */
export function scoreTeacherForced(batch: Batch, pred: Int32Array, weights: Float32Array = batch.mask): TeacherScore {
  const { B, T } = batch;
  let correct = 0, counted = 0, em = 0, emN = 0;
  const perSeq: (boolean | null)[] = [];
  for (let b = 0; b < B; b++) {
    let n = 0, ok = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (weights[i] === 0) continue;
      n++;
      if (pred[i] === batch.y[i]) ok++;
    }
    correct += ok;
    counted += n;
    if (n === 0) perSeq.push(null);
    else {
      perSeq.push(ok === n);
      emN++;
      if (ok === n) em++;
    }
  }
  return { tokenAcc: counted ? correct / counted : NaN, exactMatch: emN ? em / emN : NaN, perSeq, counted };
}

/** Mask selecting shifted positions whose targets lie in unshifted [from[b], to[b]) per row. */
export function segmentMask(batch: Batch, from: Int32Array, to: Int32Array): Float32Array {
  const { B, T } = batch;
  const w = new Float32Array(B * T);
  for (let b = 0; b < B; b++) for (let p = from[b]; p < to[b]; p++) if (p - 1 >= 0 && p - 1 < T) w[b * T + p - 1] = batch.mask[b * T + p - 1];
  return w;
}
