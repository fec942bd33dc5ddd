/**
 * Rotary position embeddings as Hugging Face's LlamaRotaryEmbedding computes them: inv_freq = θ^(−2i/d) (with the
 * Llama-3.1 frequency scaling when configured), angles p·inv_freq in float32, and the rotate_half pairing of
 * channel i with channel i + d/2 (not the interleaved pairs of the original paper; HF checkpoints are
 * permuted for this convention).
 */
import type { LlamaConfig } from "./config.js";

/** inv_freq [headDim/2], rounded to float32 like HF's buffer. */
export function ropeInvFreq(cfg: LlamaConfig): Float32Array {
  const d = cfg.headDim;
  const inv = new Float32Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / cfg.ropeTheta ** ((2 * i) / d);
  const s = cfg.ropeScaling;
  if (s === null) return inv;
  // Llama 3.1: long wavelengths (beyond the original context) are slowed by `factor`, short ones kept, and the
  // band in between interpolated smoothly.
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i]!;
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) {
      inv[i] = f / s.factor;
      continue;
    }
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
  }
  return inv;
}

/** cos/sin tables [T, headDim/2] for positions 0..T−1, grown on demand. */
export class RopeTable {
  private cosT = new Float32Array(0);
  private sinT = new Float32Array(0);
  private rows = 0;

  constructor(private readonly invFreq: Float32Array) {}

  /** Tables covering at least T positions. */
  get(T: number): { cos: Float32Array; sin: Float32Array } {
    if (T > this.rows) {
      const half = this.invFreq.length;
      this.cosT = new Float32Array(T * half);
      this.sinT = new Float32Array(T * half);
      for (let p = 0; p < T; p++) {
        for (let i = 0; i < half; i++) {
          // HF forms the angle as a float32 product before cos/sin; doing the same keeps long positions aligned.
          const a = Math.fround(p * this.invFreq[i]!);
          this.cosT[p * half + i] = Math.cos(a);
          this.sinT[p * half + i] = Math.sin(a);
        }
      }
      this.rows = T;
    }
    return { cos: this.cosT, sin: this.sinT };
  }
}

/**
 * Rotates x [T, nHeads·hd] in place, row t at position t: x'[i] = x[i]·cos − x[i+h]·sin and
 * x'[i+h] = x[i+h]·cos + x[i]·sin for i < h = hd/2.
 */
export function applyRope(x: Float32Array, T: number, nHeads: number, hd: number, table: RopeTable): void {
  const { cos, sin } = table.get(T);
  const half = hd / 2;
  const width = nHeads * hd;
  for (let t = 0; t < T; t++) {
    const c0 = t * half;
    for (let h = 0; h < nHeads; h++) {
      const o = t * width + h * hd;
      for (let i = 0; i < half; i++) {
        const a = x[o + i]!, b = x[o + i + half]!;
        const c = cos[c0 + i]!, s = sin[c0 + i]!;
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}
