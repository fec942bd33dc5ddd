/**
 * Attacked sequences. n slots are inserted right before EOT:
 *
 *   $ o1 o2 o3 o4 * text(L) [s1 … sn] > out1(L) *^ out2(L) *^
 *   0 1..4        5 6..L+5  L+6..L+5+n  eot = L+6+n
 *
 * The model reads x = this sequence without its last `*^` (T = 3L+8+n positions, exactly what greedy generation of
 * the 2L+2 continuation tokens needs), and the targets are the compliant continuation `out1 *^ out2 *^`, predicted
 * at x positions eot .. eot+2L+1. Unlike the reference, the inserted count is the requested n, only one group of
 * slots exists, and the targets are re-aligned after insertion (reference-code §5, "activation_space_adv_analysis").
 *
 * Positions. "shift" (the reference): position = index, so `>` and the continuation move n places later.
 * "keep": every real token keeps the position it has in the clean sequence, and slot j sits at the fractional
 * position L+5 + (j+1)/(n+1), between the last text token and `>`. A model trained on one layout (the `cpu` preset:
 * L = 16 only, block = 3L+9) cannot read its outputs at shifted positions at all — even the pre-trained model fails
 * the task with one zero slot inserted — so "keep" separates what the inserted content does from what moving the
 * layout does. The slots still carry a position vector of the usual size: with none, a zero-based slot's input
 * would be δ alone, and the first LayerNorm divides its scale out, so the ε budget would constrain nothing.
 *
 * Items of one group share L, so a group is one batch; sets with several text lengths give several groups.
 */
import type { EvalItem } from "../data/evalsets.js";
import { alloc } from "../engine/tensor.js";
import { PAD } from "../data/vocab.js";

export type SlotPositions = "keep" | "shift";

export interface AttackGroup {
  L: number;
  /** Inserted slots per item. */
  n: number;
  /** Positions of this group's items in the attacked item list. */
  rows: number[];
  B: number;
  /** x length: 3L+8+n. */
  T: number;
  /** Prompt length through `>`: L+7+n (= eot + 1). */
  P: number;
  /** Continuation tokens generated and scored: 2L+2. */
  steps: number;
  eot: number;
  /** Slot positions (the same in every row): L+6 .. L+5+n. */
  slots: number[];
  /** Position of every x position [T] (fractional for the slots under "keep"). */
  positions: Float64Array;
  /** x token ids [B, T]; slot positions hold `placeholder`. */
  tokens: Int32Array;
  /** Targets [B·T]: the compliant token at positions eot..eot+steps−1, −1 elsewhere (and where the item has PAD). */
  targets: Int32Array;
  /** Per-position loss weights [B·T]: 1/(scored positions of the row) on scored positions, so Σ = per-item mean CE. */
  weights: Float32Array;
  /** Expected compliant continuation [B, steps] and refusal [B, steps] (PAD = not compared). */
  compliant: Int32Array;
  refusal: Int32Array;
}

/** Groups items by text length and lays out their attacked sequences (placeholder id at the slots). */
export function buildGroups(items: readonly EvalItem[], n: number, placeholder = 0, mode: SlotPositions = "keep"): AttackGroup[] {
  const byL = new Map<number, number[]>();
  items.forEach((it, r) => {
    const list = byL.get(it.L);
    if (list) list.push(r);
    else byL.set(it.L, [r]);
  });
  const groups: AttackGroup[] = [];
  for (const L of [...byL.keys()].sort((a, b) => a - b)) {
    const rows = byL.get(L)!;
    const B = rows.length, steps = 2 * L + 2, eot = L + 6 + n, P = eot + 1, T = P + steps - 1;
    const slots = Array.from({ length: n }, (_, j) => L + 6 + j);
    const positions = Float64Array.from({ length: T }, (_, t) => (mode === "shift" || t < L + 6 ? t : t < eot ? L + 5 + (t - L - 5) / (n + 1) : t - n));
    const tokens = new Int32Array(B * T), targets = new Int32Array(B * T).fill(-1), weights = new Float32Array(B * T);
    const compliant = new Int32Array(B * steps), refusal = new Int32Array(B * steps);
    rows.forEach((r, b) => {
      const it = items[r]!;
      const o = b * T;
      tokens.set(it.prompt.subarray(0, L + 6), o); // `$ ops * text`
      for (const s of slots) tokens[o + s] = placeholder;
      tokens[o + eot] = it.prompt[L + 6]!; // `>`
      // The continuation, fed teacher-forced after `>` (all but its last scored token).
      for (let k = 0; k < steps - 1; k++) tokens[o + eot + 1 + k] = it.compliant[k]!;
      let counted = 0;
      for (let k = 0; k < steps; k++) {
        compliant[b * steps + k] = it.compliant[k]!;
        refusal[b * steps + k] = it.refusal[k]!;
        if (it.compliant[k] !== PAD) {
          targets[o + eot + k] = it.compliant[k]!;
          counted++;
        }
      }
      for (let k = 0; k < steps; k++) if (targets[o + eot + k] >= 0) weights[o + eot + k] = 1 / counted;
    });
    groups.push({ L, n, rows, B, T, P, steps, eot, slots, positions, tokens, targets, weights, compliant, refusal });
  }
  return groups;
}

/** The rows bs of a group as a smaller group (bounded batches, or the items still being attacked). */
export function selectRows(g: AttackGroup, bs: readonly number[]): AttackGroup {
  const { T, steps } = g;
  const pick = <A extends Int32Array | Float32Array>(src: A, w: number): A => {
    const out = new (src.constructor as { new (n: number): A })(bs.length * w);
    bs.forEach((b, i) => out.set(src.subarray(b * w, (b + 1) * w), i * w));
    return out;
  };
  return {
    ...g,
    rows: bs.map((b) => g.rows[b]!),
    B: bs.length,
    tokens: pick(g.tokens, T),
    targets: pick(g.targets, T),
    weights: pick(g.weights, T),
    compliant: pick(g.compliant, steps),
    refusal: pick(g.refusal, steps),
  };
}

export function sliceGroup(g: AttackGroup, b0: number, nb: number): AttackGroup {
  return selectRows(g, Array.from({ length: nb }, (_, i) => b0 + i));
}

/** Splits every group into batches of at most `chunk` rows. */
export function chunkGroups(groups: readonly AttackGroup[], chunk: number): AttackGroup[] {
  const out: AttackGroup[] = [];
  for (const g of groups) for (let b0 = 0; b0 < g.B; b0 += chunk) out.push(sliceGroup(g, b0, Math.min(chunk, g.B - b0)));
  return out;
}

/** Rows of batch g whose items are not done yet. */
export function activeRows(g: AttackGroup, done: Uint8Array): number[] {
  const out: number[] = [];
  g.rows.forEach((r, b) => {
    if (!done[r]) out.push(b);
  });
  return out;
}

/** Rows bs of a [B, w] buffer. */
export function gatherRows(src: Float32Array, bs: readonly number[], w: number): Float32Array {
  const out = alloc(bs.length * w);
  bs.forEach((b, i) => out.set(src.subarray(b * w, (b + 1) * w), i * w));
  return out;
}
