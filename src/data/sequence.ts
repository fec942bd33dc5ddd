/**
 * The sequence layout shared by every stage (unshifted positions):
 *
 *   0     1..4         5    6 .. L+5    L+6   L+7 .. 2L+6   2L+7   2L+8 .. 3L+7   3L+8   3L+9
 *   $   o1 o2 o3 o4    *    text(L)      >     out1(L)        *^     out2(L)        *^     %
 *
 * Content length 3L+10. Unlike the reference there is no padding to 160: batches are collated to
 * their longest sequence. The model reads x = s[0:T-1] and predicts y = s[1:T], so the logits at x
 * position q predict the token at unshifted position q+1 (the EOT position `eot` is where out1[0]
 * is predicted; it equals the reference's shifted `start_idx`).
 */
import { BOS, EOS, EOT, LETTER0, PAD, SOT, STOP } from "./vocab.js";

/** Segment boundaries of one sample, in unshifted positions; ranges are [start, end). */
export interface Segments {
  L: number;
  sot: number;
  textStart: number;
  eot: number;
  out1: [number, number];
  stop1: number;
  out2: [number, number];
  stop2: number;
  eos: number;
  /** Length of the full layout (3L+10); a sample's sequence may be shorter (pcfg/comp1 modes). */
  full: number;
}

export function segmentsFor(L: number): Segments {
  return {
    L,
    sot: 5,
    textStart: 6,
    eot: L + 6,
    out1: [L + 7, 2 * L + 7],
    stop1: 2 * L + 7,
    out2: [2 * L + 8, 3 * L + 8],
    stop2: 3 * L + 8,
    eos: 3 * L + 9,
    full: 3 * L + 10,
  };
}

/** A sequence and its targets, both unshifted and of equal length; targets are PAD where not counted. */
export interface Seq {
  input: Uint8Array;
  target: Uint8Array;
}

/** A slot entry that becomes a PAD token (slots otherwise hold letter indices 0..29). */
export const PAD_LETTER = 255;

/** Writes `$ o1..o4 * text > slot1 *^ slot2 *^ %` into a new array (letters as indices 0..29). */
export function layout(ops: ArrayLike<number>, text: ArrayLike<number>, slot1: ArrayLike<number>, slot2: ArrayLike<number>): Uint8Array {
  const L = text.length;
  const s = new Uint8Array(3 * L + 10);
  s[0] = BOS;
  for (let k = 0; k < 4; k++) s[1 + k] = ops[k]!;
  s[5] = SOT;
  for (let j = 0; j < L; j++) s[6 + j] = LETTER0 + text[j]!;
  s[L + 6] = EOT;
  for (let j = 0; j < L; j++) {
    const a = slot1[j]!;
    const b = slot2[j]!;
    s[L + 7 + j] = a === PAD_LETTER ? PAD : LETTER0 + a;
    s[2 * L + 8 + j] = b === PAD_LETTER ? PAD : LETTER0 + b;
  }
  s[2 * L + 7] = STOP;
  s[3 * L + 8] = STOP;
  s[3 * L + 9] = EOS;
  return s;
}

/** Sets s[from:to) to PAD. */
export function padRange(s: Uint8Array, from: number, to: number): void {
  s.fill(PAD, from, Math.min(to, s.length));
}

/** The default target: the sequence itself with BOS and the operator slots not counted. */
export function baseTarget(input: Uint8Array): Uint8Array {
  const t = input.slice();
  t.fill(PAD, 0, 5);
  return t;
}

/** Letters of the prompt part `$ o1..o4 * text >` of a full sequence. */
export function promptOf(seq: Uint8Array, L: number): Uint8Array {
  return seq.slice(0, L + 7);
}

/** The continuation after `>`: `slot1 *^ slot2 *^ %`. */
export function continuationOf(seq: Uint8Array, L: number): Uint8Array {
  return seq.slice(L + 7, 3 * L + 10);
}
