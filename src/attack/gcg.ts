/**
 * A GCG-style discrete attack (Zou et al.; nanoGCG's loop) over n inserted token slots before EOT, for comparison
 * with the continuous attack under the same success measure. Each step:
 *  1. the gradient of the loss w.r.t. the slots' one-hot indicators, ∂L/∂onehot = (∂L/∂e)·wteᵀ  [n, V];
 *  2. per slot, the top-k tokens with the most negative gradient (allowed tokens only, current token excluded);
 *  3. `searchWidth` random single-slot substitutions from those lists, evaluated exactly (forward passes);
 *  4. the best candidate is kept if it lowers the loss (unlike nanoGCG, which always moves: keeping the loss
 *     monotone costs nothing here and makes steps comparable with the soft attack's).
 * Per item (each item its own slots) or universal (one slot string for the set, loss summed over items).
 */
import { crossEntropy } from "../engine/ops/nn.js";
import { rowWeightedSum, scale, sum } from "../engine/ops/elementwise.js";
import { Rng } from "../engine/rng.js";
import { Tensor, alloc, backward, clearTape, noGrad } from "../engine/tensor.js";
import { BOS, EOS, EOT, PAD, SOT, STOP } from "../data/vocab.js";
import type { GPT } from "../model/gpt.js";
import { insertSoft, positionHooks, positionTable } from "./embed.js";
import { activeRows, selectRows, type AttackGroup } from "./layout.js";
import { groupLoss, teacherForced } from "./score.js";
import type { GcgAttackOptions } from "./types.js";

export interface GcgRun {
  embeds: Float32Array[];
  slotTokens: Int32Array;
  lossCurve: number[];
  stepsUsed: Int32Array;
  allowed: number[];
}

const SPECIALS = new Set([EOT, BOS, EOS, SOT, PAD, STOP]);

export function allowedTokens(V: number, allowSpecials: boolean): number[] {
  return Array.from({ length: V }, (_, v) => v).filter((v) => allowSpecials || !SPECIALS.has(v));
}

/** Slot embeddings [D, n, C] = wte rows of the slot tokens. */
function slotEmbeds(w: Float32Array, toks: Int32Array, C: number): Float32Array {
  const out = alloc(toks.length * C);
  for (let i = 0; i < toks.length; i++) out.set(w.subarray(toks[i]! * C, toks[i]! * C + C), i * C);
  return out;
}

/**
 * Per-row losses of K candidate sequences of batch g: row src[k] of g with its slots set to cand[k·n .. k·n+n).
 * Evaluated without a tape in batches of `batch` rows → [K].
 */
function candidateLosses(model: GPT, g: AttackGroup, src: Int32Array, cand: Int32Array, batch: number): Float32Array {
  const K = src.length, T = g.T, n = g.n;
  const out = new Float32Array(K);
  for (let k0 = 0; k0 < K; k0 += batch) {
    const kb = Math.min(batch, K - k0);
    const tokens = new Int32Array(kb * T), targets = new Int32Array(kb * T), weights = new Float32Array(kb * T);
    for (let i = 0; i < kb; i++) {
      const b = src[k0 + i]!;
      tokens.set(g.tokens.subarray(b * T, (b + 1) * T), i * T);
      targets.set(g.targets.subarray(b * T, (b + 1) * T), i * T);
      weights.set(g.weights.subarray(b * T, (b + 1) * T), i * T);
      for (let j = 0; j < n; j++) tokens[i * T + g.slots[j]!] = cand[(k0 + i) * n + j]!;
    }
    const hooks = positionHooks(positionTable(model, g.positions), T, model.config.n_embd);
    const l = noGrad(() => rowWeightedSum(crossEntropy(model.forward({ tokens, B: kb, T }, { hooks }), targets).reshape([kb, T]), weights).data);
    out.set(l, k0);
  }
  return out;
}

/** The k allowed tokens with the smallest one-hot gradient g·w_v, excluding `current`. */
function topTokens(g: Float32Array, og: number, w: Float32Array, C: number, allowed: readonly number[], current: number, k: number): number[] {
  const scored: [number, number][] = [];
  for (const v of allowed) {
    if (v === current) continue;
    let s = 0;
    for (let c = 0; c < C; c++) s += g[og + c] * w[v * C + c];
    scored.push([s, v]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return scored.slice(0, k).map((x) => x[1]);
}

export function gcgAttack(model: GPT, groups: readonly AttackGroup[], N: number, o: GcgAttackOptions): GcgRun {
  const C = model.config.n_embd, V = model.config.vocab_size, n = o.tokens;
  const w = model.p("transformer.wte.weight").data;
  const allowed = allowedTokens(V, o.allowSpecials);
  const D = o.universal ? 1 : N;
  const toks = new Int32Array(D * n).fill(o.initToken);
  const rng = new Rng(o.seed, 62);
  const zeroBase = alloc(n * C);
  const done = new Uint8Array(N), stepsUsed = new Int32Array(N);
  const lossCurve: number[] = [];
  const rowToks = (g: AttackGroup) => (o.universal ? toks.slice() : Int32Array.from(g.rows.flatMap((r) => Array.from(toks.subarray(r * n, (r + 1) * n)))));
  const lastLoss = new Float64Array(N);
  for (let step = 0; step < o.steps; step++) {
    const grad = alloc(D * n * C), cur = new Float64Array(D);
    let total = 0, solved = 0;
    for (let r = 0; r < N; r++) if (done[r]) {
      total += lastLoss[r]!;
      solved++;
    }
    for (const full of groups) {
      const active = o.universal ? null : activeRows(full, done);
      if (active && active.length === 0) continue;
      const g = active && active.length < full.B ? selectRows(full, active) : full;
      const t = rowToks(g);
      const leaf = new Tensor(slotEmbeds(w, t, C), [o.universal ? 1 : g.B, n, C], true);
      let perItem: Tensor, logits: Tensor;
      try {
        const clean = model.embedTokens(g.tokens, g.B, g.T).data;
        ({ perItem, logits } = groupLoss(model, g, insertSoft(clean, g.B, g.T, g.slots, zeroBase, leaf)));
        backward(o.universal ? scale(sum(perItem), 1 / N) : sum(perItem));
      } catch (e) {
        clearTape();
        throw e;
      }
      const lg = leaf.grad!;
      if (o.universal) for (let i = 0; i < n * C; i++) grad[i] += lg[i];
      else g.rows.forEach((r, b) => grad.set(lg.subarray(b * n * C, (b + 1) * n * C), r * n * C));
      const { exact } = teacherForced(g, logits.data, V);
      g.rows.forEach((r, b) => {
        total += perItem.data[b];
        lastLoss[r] = perItem.data[b];
        cur[o.universal ? 0 : r] += o.universal ? perItem.data[b] / N : perItem.data[b];
        if (exact[b]) solved++;
        if (o.earlyStop && !o.universal && exact[b]) done[r] = 1;
      });
    }
    lossCurve.push(total / N);
    if (o.earlyStop && (o.universal ? solved === N : done.every((x) => x === 1))) break;
    // Candidate lists and random single-slot substitutions per active perturbation d.
    const W = o.searchWidth;
    const cands = new Int32Array(D * W * n);
    for (let d = 0; d < D; d++) {
      if (!o.universal && done[d]) continue;
      const lists = Array.from({ length: n }, (_, j) => topTokens(grad, (d * n + j) * C, w, C, allowed, toks[d * n + j]!, o.topk));
      for (let c = 0; c < W; c++) {
        const base = (d * W + c) * n;
        cands.set(toks.subarray(d * n, (d + 1) * n), base);
        const j = rng.int(n), list = lists[j]!;
        if (list.length > 0) cands[base + j] = list[rng.int(list.length)]!;
      }
    }
    // Exact losses of the candidates: per item, row b × its W candidates; universal, every candidate × every row.
    const candLoss = new Float64Array(D * W);
    for (const g of groups) {
      const rows = o.universal ? g.B * W : g.rows.filter((r) => !done[r]).length * W;
      const src = new Int32Array(rows), cand = new Int32Array(rows * n), owner = new Int32Array(rows);
      let k = 0;
      g.rows.forEach((r, b) => {
        if (!o.universal && done[r]) return;
        for (let c = 0; c < W; c++, k++) {
          const d = o.universal ? 0 : r;
          src[k] = b;
          owner[k] = d * W + c;
          cand.set(cands.subarray((d * W + c) * n, (d * W + c + 1) * n), k * n);
        }
      });
      const l = candidateLosses(model, g, src, cand, 256);
      for (let i = 0; i < rows; i++) candLoss[owner[i]!] += o.universal ? l[i]! / N : l[i]!;
    }
    for (let d = 0; d < D; d++) {
      if (!o.universal && done[d]) continue;
      let best = -1, bl = cur[d]!;
      for (let c = 0; c < W; c++) if (candLoss[d * W + c]! < bl) { bl = candLoss[d * W + c]!; best = c; }
      if (best >= 0) toks.set(cands.subarray((d * W + best) * n, (d * W + best + 1) * n), d * n);
    }
    for (let r = 0; r < N; r++) if (o.universal || !done[r]) stepsUsed[r]++;
  }
  const embeds = groups.map((g) => {
    const t = rowToks(g);
    return noGrad(() => insertSoft(model.embedTokens(g.tokens, g.B, g.T).data, g.B, g.T, g.slots, zeroBase, new Tensor(slotEmbeds(w, t, C), [o.universal ? 1 : g.B, n, C]))).data;
  });
  return { embeds, slotTokens: toks, lossCurve, stepsUsed, allowed };
}
