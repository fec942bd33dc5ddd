/**
 * Infix recogniser: can a text window be a contiguous piece of some string of a grammar, and from
 * which branch(es)? A CYK-style bottom-up pass over the (acyclic) grammar, extended from "A derives
 * w[i:j)" to windows that start or end inside a node. For every nonterminal A it computes
 *   F(A, i, j)  A derives exactly w[i:j);
 *   Lp(A, p)    A's string ends at p and starts at or before 0 (it covers the window's head);
 *   Rp(A, p)    A's string starts at p and ends at or after n (it covers the window's tail);
 *   I(A)        A's string contains the whole window.
 * Children lying entirely outside the window are unconstrained (every symbol derives something).
 *
 * Branches: instead of booleans the entries are small sets of "touch masks" (bit 1 = the window
 * overlaps a safe-dominant level-2 node, bit 2 = an unsafe-dominant one), combined as products, so
 * one pass tells whether some derivation puts the window inside the safe branch only, the unsafe
 * branch only, or across both.
 */
import { compileGrammar, type Branch, type CompiledGrammar, type GrammarVariant } from "./grammars.js";
import { NUM_LETTERS } from "./vocab.js";

/** PROD[s*16 + t] = { a | b : a ∈ s, b ∈ t } over touch masks 0..3, sets as 4-bit masks. */
const PROD = new Uint8Array(256);
for (let s = 0; s < 16; s++) {
  for (let t = 0; t < 16; t++) {
    let r = 0;
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) if (s & (1 << a) && t & (1 << b)) r |= 1 << (a | b);
    PROD[s * 16 + t] = r;
  }
}
const NONE_TOUCHED = 1; // the set {mask 0}

export interface Recognition {
  /** Some derivation contains the window. */
  valid: boolean;
  /** Some derivation puts the window inside safe-dominant nodes only / unsafe-dominant only / across both. */
  safe: boolean;
  unsafe: boolean;
  mixed: boolean;
}

export class Validator {
  private n = 0;
  private w = new Uint8Array(0);
  private stride = 0; // (n+1)² per nonterminal in F
  private F = new Uint8Array(0);
  private Lp = new Uint8Array(0);
  private Rp = new Uint8Array(0);
  private I: Uint8Array;
  // DFS state for the alternative being processed.
  private a = 0;
  private c0 = 0;
  private k = 0;
  private start = 0;

  constructor(readonly g: CompiledGrammar) {
    this.I = new Uint8Array(g.names.length);
  }

  static for(variant: GrammarVariant, pcfg: number): Validator {
    return new Validator(compileGrammar(variant, pcfg));
  }

  /** Touch-mask set of the window (0 = not an infix of the grammar). */
  touchSet(text: ArrayLike<number>): number {
    const g = this.g;
    const n = text.length;
    if (n === 0) return NONE_TOUCHED;
    this.prepare(text);
    const nNt = g.names.length;
    for (let a = 0; a < nNt; a++) {
      this.a = a;
      for (let b = g.altStart[a]!; b < g.altStart[a + 1]!; b++) {
        this.c0 = g.childStart[b]!;
        this.k = g.childStart[b + 1]! - this.c0;
        for (let i = 0; i < n; i++) {
          this.start = i;
          this.walkFull(0, i, NONE_TOUCHED);
        }
        for (let m = 0; m < this.k; m++) {
          const c = g.children[this.c0 + m]!;
          this.I[a] |= this.iOf(c);
          for (let p = 1; p <= n; p++) {
            const l = this.lpOf(c, p);
            if (l) this.walkHead(m + 1, p, l);
          }
        }
      }
      this.I[a] |= this.Lp[a * (n + 1) + n]! | this.Rp[a * (n + 1)]!;
      if (g.branch[a]) this.relabel(a, 1 << g.branch[a]!);
    }
    return this.I[g.start]!;
  }

  recognise(text: ArrayLike<number>): Recognition {
    const s = this.touchSet(text);
    return { valid: s !== 0, safe: (s & 2) !== 0, unsafe: (s & 4) !== 0, mixed: (s & 8) !== 0 };
  }

  /** Whether some derivation of this grammar produces the window with the given branch. */
  accepts(text: ArrayLike<number>, branch?: Branch): boolean {
    const s = this.touchSet(text);
    if (branch === undefined) return s !== 0;
    return (s & (branch === "safe" ? 2 : branch === "unsafe" ? 4 : 8)) !== 0;
  }

  private prepare(text: ArrayLike<number>): void {
    const n = text.length;
    const nNt = this.g.names.length;
    if (this.w.length < n) {
      this.w = new Uint8Array(n);
    }
    for (let i = 0; i < n; i++) this.w[i] = text[i]!;
    this.n = n;
    this.stride = (n + 1) * (n + 1);
    const fSize = nNt * this.stride;
    if (this.F.length < fSize) this.F = new Uint8Array(fSize);
    else this.F.fill(0, 0, fSize);
    const pSize = nNt * (n + 1);
    if (this.Lp.length < pSize) {
      this.Lp = new Uint8Array(pSize);
      this.Rp = new Uint8Array(pSize);
    } else {
      this.Lp.fill(0, 0, pSize);
      this.Rp.fill(0, 0, pSize);
    }
    this.I.fill(0);
  }

  /** Full chain from `start` through children m.. of the current alternative (F and Rp of A). */
  private walkFull(m: number, pos: number, acc: number): void {
    const n = this.n;
    const a = this.a;
    if (m === this.k) {
      this.F[a * this.stride + this.start * (n + 1) + pos] |= acc;
      if (pos === n) this.Rp[a * (n + 1) + this.start] |= acc;
      return;
    }
    const c = this.g.children[this.c0 + m]!;
    // The window ends inside child m (it runs past n); later children lie to the right.
    const r = this.rpOf(c, pos);
    if (r) this.Rp[a * (n + 1) + this.start] |= PROD[acc * 16 + r]!;
    const lens = this.g.lens[c]!;
    for (let li = 0; li < lens.length; li++) {
      const e = pos + lens[li]!;
      if (e > n) break;
      const f = this.fOf(c, pos, e);
      if (!f) continue;
      const acc2 = PROD[acc * 16 + f]!;
      if (e === n && m + 1 < this.k) this.Rp[a * (n + 1) + this.start] |= acc2;
      this.walkFull(m + 1, e, acc2);
    }
  }

  /** The window started inside an earlier child and the chain has reached `pos` (Lp and I of A). */
  private walkHead(m: number, pos: number, acc: number): void {
    const n = this.n;
    const a = this.a;
    if (m === this.k) {
      this.Lp[a * (n + 1) + pos] |= acc;
      return;
    }
    if (pos === n) {
      this.I[a] |= acc; // the remaining children lie to the right
      return;
    }
    const c = this.g.children[this.c0 + m]!;
    const r = this.rpOf(c, pos);
    if (r) this.I[a] |= PROD[acc * 16 + r]!;
    const lens = this.g.lens[c]!;
    for (let li = 0; li < lens.length; li++) {
      const e = pos + lens[li]!;
      if (e > n) break;
      const f = this.fOf(c, pos, e);
      if (f) this.walkHead(m + 1, e, PROD[acc * 16 + f]!);
    }
  }

  private fOf(sym: number, s: number, e: number): number {
    if (sym < NUM_LETTERS) return e === s + 1 && this.w[s] === sym ? NONE_TOUCHED : 0;
    return this.F[(sym - NUM_LETTERS) * this.stride + s * (this.n + 1) + e]!;
  }

  private lpOf(sym: number, p: number): number {
    if (sym < NUM_LETTERS) return p === 1 && this.w[0] === sym ? NONE_TOUCHED : 0;
    return this.Lp[(sym - NUM_LETTERS) * (this.n + 1) + p]!;
  }

  private rpOf(sym: number, p: number): number {
    if (sym < NUM_LETTERS) return p === this.n - 1 && this.w[p] === sym ? NONE_TOUCHED : 0;
    return this.Rp[(sym - NUM_LETTERS) * (this.n + 1) + p]!;
  }

  private iOf(sym: number): number {
    if (sym < NUM_LETTERS) return this.n === 1 && this.w[0] === sym ? NONE_TOUCHED : 0;
    return this.I[sym - NUM_LETTERS]!;
  }

  /** A level-2 node: every derivation through it touches exactly its branch. */
  private relabel(a: number, set: number): void {
    const n1 = this.n + 1;
    const f0 = a * this.stride;
    for (let j = f0; j < f0 + this.stride; j++) if (this.F[j]) this.F[j] = set;
    for (let p = a * n1; p < (a + 1) * n1; p++) {
      if (this.Lp[p]) this.Lp[p] = set;
      if (this.Rp[p]) this.Rp[p] = set;
    }
    if (this.I[a]) this.I[a] = set;
  }
}
