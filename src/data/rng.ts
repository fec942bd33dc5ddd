/**
 * Counter-based randomness: every sample is drawn from a xoshiro128** stream whose 128-bit state is
 * a hash of the sample's key (seed, split, set, pcfg, index, trial). Sample i is therefore a pure
 * function of its key: no generator state is carried between samples, workers or processes, and a
 * run can jump to any iteration. Everything is 32-bit integer arithmetic, so results are identical on
 * every platform.
 */

/** murmur3's 32-bit finaliser: a bijective avalanche mix. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Order-sensitive hash of 32-bit words, salted so that different salts give independent hashes. */
export function hashWords(salt: number, words: ArrayLike<number>): number {
  let h = mix32(salt ^ 0x9e3779b9);
  for (let i = 0; i < words.length; i++) h = mix32((h ^ mix32(words[i]! >>> 0)) + 0x7f4a7c15);
  return h;
}

/** Stable 32-bit id of a name (FNV-1a), used to key sets and streams. */
export function nameId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const INV32 = 1 / 4294967296;
const SALTS = [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344];

export class Rng {
  private s0 = 1;
  private s1 = 2;
  private s2 = 3;
  private s3 = 4;
  private readonly key = new Uint32Array(16);

  /** Re-seeds from a key of up to 8 words (numbers up to 2^53 are split into two words). */
  seed(...fields: number[]): this {
    if (fields.length > 8) throw new RangeError("rng key has at most 8 fields");
    const key = this.key;
    let n = 0;
    for (const f of fields) {
      if (!Number.isSafeInteger(f) || f < 0) throw new RangeError(`rng key field must be a non-negative safe integer, got ${f}`);
      key[n++] = f >>> 0;
      key[n++] = Math.floor(f / 4294967296);
    }
    const words = key.subarray(0, n);
    this.s0 = hashWords(SALTS[0]!, words);
    this.s1 = hashWords(SALTS[1]!, words);
    this.s2 = hashWords(SALTS[2]!, words);
    this.s3 = hashWords(SALTS[3]!, words);
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // xoshiro's one forbidden state
    return this;
  }

  /** xoshiro128**: next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s1 = this.s1;
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform integer in [0, n) for 1 ≤ n < 2^31 (multiply-shift; bias below n/2^32). */
  below(n: number): number {
    return Math.floor(this.nextU32() * n * INV32);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.nextU32() * INV32;
  }

  /** Uniform element of a list. */
  pick<T>(list: readonly T[]): T {
    return list[this.below(list.length)]!;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
