/**
 * Operators ("tasks") are maps on the 30 letters. Map 0 (`(`) is the identity, maps 1..9 are NumPy
 * legacy permutations seeded with `start_random + k - 1`, the aliases copy maps 0/1/2, and `ex1`/`ex2`
 * send every letter to `2a`/`2b`. Stop tokens pass through unchanged (they are never mapped here).
 *
 * We use start_random = 150·(k−1) for PCFG k in every stage (design §2), fixing the reference's
 * inconsistency between pre-training (0 for all) and safety data (0/150/300/450).
 */
import { legacyPermutation } from "./mt19937.js";
import { DUP1, EX1, EX2, NUM_LETTERS, NUM_OPERATORS, TOKENS, VOCAB_SIZE } from "./vocab.js";
import { UserError } from "../util/errors.js";

export const PCFGS: readonly number[] = [1, 2, 3, 4];

export function checkPcfg(pcfg: number): void {
  if (!Number.isInteger(pcfg) || pcfg < 1 || pcfg > 4) {
    throw new UserError(`pcfg must be 1, 2, 3 or 4, got ${pcfg}`);
  }
}

/** Default seed offset of PCFG k's operators. */
export function defaultStartRandom(pcfg: number): number {
  checkPcfg(pcfg);
  return 150 * (pcfg - 1);
}

/** What an alias (or dup) token really does: its base operator id. Base ops map to themselves. */
export function underlyingOp(op: number): number {
  if (op === 10 || op === 11) return 0; // + ^ → (
  if (op === 12 || op === 13) return 1; // r1 r2 → )
  if (op === 14 || op === 15) return 2; // r3 r4 → [
  if (op >= DUP1 && op < DUP1 + 5) return 4 + (op - DUP1); // dup1..5 → { } ? ! @ (SSFT dup test set)
  return op;
}

/** True for tokens that can sit in an operator slot. */
export function isOperator(op: number): boolean {
  return (op >= 0 && op < NUM_OPERATORS) || op === EX1 || op === EX2 || (op >= DUP1 && op < DUP1 + 5);
}

/**
 * The rule table of one PCFG: `map[op * 30 + letter]` is the letter that `letter` becomes under
 * operator token `op` (letters are indices 0..29). Non-operator rows hold 255.
 */
export interface OperatorTable {
  readonly startRandom: number;
  readonly map: Uint8Array;
}

const cache = new Map<number, OperatorTable>();

export function operatorTable(startRandom: number): OperatorTable {
  if (!Number.isInteger(startRandom) || startRandom < 0 || startRandom + 8 > 0xffffffff) {
    throw new UserError(`start_random must be a non-negative integer, got ${startRandom}`);
  }
  const hit = cache.get(startRandom);
  if (hit) return hit;
  const map = new Uint8Array(VOCAB_SIZE * NUM_LETTERS).fill(255);
  const base: number[][] = [Array.from({ length: NUM_LETTERS }, (_, i) => i)];
  for (let k = 1; k <= 9; k++) base.push(legacyPermutation(startRandom + k - 1, NUM_LETTERS));
  for (let op = 0; op < VOCAB_SIZE; op++) {
    if (!isOperator(op)) continue;
    for (let i = 0; i < NUM_LETTERS; i++) {
      map[op * NUM_LETTERS + i] = op === EX1 ? 0 : op === EX2 ? 1 : base[underlyingOp(op)]![i]!;
    }
  }
  const table: OperatorTable = { startRandom, map };
  cache.set(startRandom, table);
  return table;
}

/** Operator table of PCFG k, with the default start_random unless overridden. */
export function pcfgOperators(pcfg: number, startRandom?: number): OperatorTable {
  return operatorTable(startRandom ?? defaultStartRandom(pcfg));
}

/** out[j] = T_op(src[j]) for letter arrays (src and out may alias). */
export function applyOp(table: OperatorTable, op: number, src: ArrayLike<number>, out: Uint8Array): Uint8Array {
  const m = table.map;
  const base = op * NUM_LETTERS;
  if (m[base] === 255) throw new Error(`token ${TOKENS[op]} is not an operator`);
  for (let j = 0; j < src.length; j++) out[j] = m[base + src[j]!]!;
  return out;
}

/** T_b(T_a(src)): the composition that fills one output slot (first a, then b). */
export function applyPair(table: OperatorTable, a: number, b: number, src: ArrayLike<number>, out: Uint8Array): Uint8Array {
  const m = table.map;
  const ba = a * NUM_LETTERS;
  const bb = b * NUM_LETTERS;
  for (let j = 0; j < src.length; j++) out[j] = m[bb + m[ba + src[j]!]!]!;
  return out;
}

/** `rules --json` form: entry i of each list is the letter index that letter i maps to. */
export function rulesJson(pcfg: number, startRandom?: number): {
  pcfg: number;
  start_random: number;
  operators: Record<string, number[]>;
} {
  const t = pcfgOperators(pcfg, startRandom);
  const operators: Record<string, number[]> = {};
  for (let op = 0; op < NUM_OPERATORS; op++) {
    operators[TOKENS[op]!] = Array.from(t.map.subarray(op * NUM_LETTERS, (op + 1) * NUM_LETTERS));
  }
  return { pcfg, start_random: t.startRandom, operators };
}
