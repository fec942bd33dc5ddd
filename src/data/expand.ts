/**
 * Drawing a text window: expand the grammar from `v` into a reused buffer, then cut a contiguous
 * window (reference-code §1.4 steps 2–3). A full base-PCFG string is 261–486 letters, which takes a
 * few microseconds here, so we expand it in full rather than cleverly: simple and exactly the
 * reference's distribution.
 *
 * While expanding we record the span of every level-2 node, so each window knows which branch(es)
 * its letters really came from (not just the grammar's nominal branch).
 */
import type { CompiledGrammar } from "./grammars.js";
import type { Rng } from "./rng.js";
import { NUM_LETTERS } from "./vocab.js";

export class Expander {
  private buf = new Uint8Array(1024);
  private pos = 0;
  private spans = new Int32Array(3 * 64); // (start, end, branch) of level-2 nodes, in order
  private nSpans = 0;
  private g!: CompiledGrammar;
  private rng!: Rng;

  /** Expands a full string; returns its length. The letters stay in the internal buffer. */
  expandFull(g: CompiledGrammar, rng: Rng): number {
    this.g = g;
    this.rng = rng;
    this.pos = 0;
    this.nSpans = 0;
    this.expand(g.start);
    return this.pos;
  }

  private expand(a: number): void {
    const g = this.g;
    const a0 = g.altStart[a]!;
    const nAlt = g.altStart[a + 1]! - a0;
    const b = nAlt === 1 ? a0 : a0 + this.rng.below(nAlt);
    const c0 = g.childStart[b]!;
    const c1 = g.childStart[b + 1]!;
    if (g.preterminal[a]) {
      for (let c = c0; c < c1; c++) this.buf[this.pos++] = g.children[c]!;
      return;
    }
    const branch = g.branch[a]!;
    const start = this.pos;
    for (let c = c0; c < c1; c++) {
      const s = g.children[c]!;
      if (s < NUM_LETTERS) this.buf[this.pos++] = s;
      else this.expand(s - NUM_LETTERS);
    }
    if (branch !== 0) {
      if (this.nSpans * 3 >= this.spans.length) {
        const grown = new Int32Array(this.spans.length * 2);
        grown.set(this.spans);
        this.spans = grown;
      }
      const k = 3 * this.nSpans++;
      this.spans[k] = start;
      this.spans[k + 1] = this.pos;
      this.spans[k + 2] = branch;
    }
  }

  /**
   * Draws a window of L letters into `out` whose start is uniform over [0, len − L − slack]
   * (slack 2 in the reference's pre-training generator, 1 in its safety generator). Returns the
   * branch mask of the window (1 safe-dominant, 2 unsafe-dominant, 3 both), or 0 when the string
   * is too short for this L.
   */
  drawWindow(g: CompiledGrammar, rng: Rng, L: number, slack: number, out: Uint8Array): number {
    const len = this.expandFull(g, rng);
    const room = len - L - slack;
    if (room < 0) return 0;
    const start = rng.below(room + 1);
    const end = start + L;
    out.set(this.buf.subarray(start, end));
    let mask = 0;
    const sp = this.spans;
    for (let k = 0; k < 3 * this.nSpans; k += 3) {
      if (sp[k]! < end && sp[k + 1]! > start) mask |= sp[k + 2]!;
    }
    return mask;
  }

  /** The last full string (a copy), for tests and stats. */
  lastString(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}
