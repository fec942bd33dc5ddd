/**
 * The one 59-token vocabulary used by every stage (reference-code §1.1). The reference used 52, 54 or
 * 59 tokens depending on the script, which broke strict checkpoint loading; we keep the largest layout
 * everywhere so a pre-trained model can be fine-tuned and evaluated without remapping.
 */

export const TOKENS: readonly string[] = [
  // 0–9: base operators ("tasks"); `(` is the identity.
  "(", ")", "[", "]", "{", "}", "?", "!", "@", "£",
  // 10–15: alias operators (`+ ^` = `(`, `r1 r2` = `)`, `r3 r4` = `[`).
  "+", "^", "r1", "r2", "r3", "r4",
  // 16–21: specials.
  ">", "$", "%", "*", "#", "*^",
  // 22–51: the 30 letters (terminals).
  "2a", "2b", "2c", "2d", "2e", "2f", "2g", "2h", "2i", "2j", "2k", "2l", "2m",
  "2n", "2o", "2p", "2q", "2r", "2s", "2t", "2u", "2v", "2w", "2x", "2y", "2z",
  "3a", "3b", "3c", "3d",
  // 52–53: constant operators (pre-training only); 54–58: never-trained duplicates.
  "ex1", "ex2", "dup1", "dup2", "dup3", "dup4", "dup5",
];

export const VOCAB_SIZE = 59;
export const NUM_LETTERS = 30;
/** Number of real operator tokens (10 base + 6 aliases); ids 0..15. */
export const NUM_OPERATORS = 16;
export const NUM_BASE_OPERATORS = 10;

export const IDENTITY = 0;
export const EOT = 16; // `>`: end of the input text
export const BOS = 17; // `$`
export const EOS = 18; // `%`
export const SOT = 19; // `*`: end of the operator block
export const PAD = 20; // `#`: padding and the loss ignore index
export const STOP = 21; // `*^`: ends each output segment
export const LETTER0 = 22; // `2a`; letter k has id LETTER0 + k
export const REFUSAL_LETTER = 0; // `2a` is the refusal ("null") symbol, an ordinary letter
export const EX1 = 52;
export const EX2 = 53;
export const DUP1 = 54;

/** Alias operator ids. */
export const ALIASES: readonly number[] = [10, 11, 12, 13, 14, 15];

const ID_OF = new Map<string, number>(TOKENS.map((t, i) => [t, i]));

/** Token id of a symbol (throws on unknown symbols). */
export function tokenId(symbol: string): number {
  const id = ID_OF.get(symbol);
  if (id === undefined) throw new Error(`unknown token symbol ${JSON.stringify(symbol)}`);
  return id;
}

/** Symbol of a token id. */
export function tokenSymbol(id: number): string {
  const s = TOKENS[id];
  if (s === undefined) throw new Error(`token id ${id} outside the vocabulary`);
  return s;
}

export function symbols(ids: ArrayLike<number>): string[] {
  const out: string[] = new Array(ids.length);
  for (let i = 0; i < ids.length; i++) out[i] = tokenSymbol(ids[i]!);
  return out;
}

export function isLetterToken(id: number): boolean {
  return id >= LETTER0 && id < LETTER0 + NUM_LETTERS;
}

/** Letter index (0..29) of a letter symbol such as "2a" or "3d"; -1 if it is not a letter. */
export function letterIndex(symbol: string): number {
  const id = ID_OF.get(symbol);
  return id !== undefined && isLetterToken(id) ? id - LETTER0 : -1;
}

/** Letter symbol of letter index k. */
export function letterSymbol(k: number): string {
  return tokenSymbol(LETTER0 + k);
}
