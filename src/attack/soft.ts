/**
 * The soft-token attack (paper §5, reference `activation_space_adv_analysis.py`, done as intended): n free vectors
 * base + δ_j inserted before EOT, each δ_j in its own ε ball, optimised towards the compliant continuation by
 * normalised-gradient (paper) or signed-gradient (Schwinn et al.) descent with a projection after every step.
 *
 * Per-item mode batches the items: one forward/backward over B rows, each row with its own δ (the summed loss gives
 * each δ exactly its own item's gradient). Universal mode shares one δ and minimises the set's mean loss.
 */
import { scale, sum } from "../engine/ops/elementwise.js";
import { Rng } from "../engine/rng.js";
import { Tensor, alloc, backward, clearTape, noGrad } from "../engine/tensor.js";
import type { GPT } from "../model/gpt.js";
import { defaultEps, defaultLr, insertSoft, projectVector, stepVector, type SoftOptimizer } from "./embed.js";
import { activeRows, gatherRows, selectRows, type AttackGroup } from "./layout.js";
import { groupLoss, teacherForced } from "./score.js";
import type { SoftAttackOptions } from "./types.js";

export interface SoftRun {
  embeds: Float32Array[];
  delta: Float32Array;
  lossCurve: number[];
  stepsUsed: Int32Array;
  settings: { eps: number; eps_default: number; optimizer: SoftOptimizer; lr: number };
}

/** The base vectors [n, C] under δ. */
function baseVectors(model: GPT, n: number, init: "zero" | number): Float32Array {
  const C = model.config.n_embd;
  const base = alloc(n * C);
  if (init !== "zero") {
    const w = model.p("transformer.wte.weight").data;
    for (let j = 0; j < n; j++) base.set(w.subarray(init * C, init * C + C), j * C);
  }
  return base;
}

/** δ rows of a batch as a leaf [D, n, C] (D = B, or 1 when shared). */
function deltaLeaf(delta: Float32Array, g: AttackGroup, universal: boolean, nC: number): Tensor {
  const n = g.n, C = nC / n;
  if (universal) return new Tensor(delta.slice(), [1, n, C], true);
  const d = alloc(g.B * nC);
  g.rows.forEach((r, b) => d.set(delta.subarray(r * nC, (r + 1) * nC), b * nC));
  return new Tensor(d, [g.B, n, C], true);
}

/**
 * Runs the attack on batches `groups` (from chunkGroups) of `N` items with a model that can read their length.
 * Returns the final attacked embeddings per batch and δ.
 */
export function softAttack(model: GPT, groups: readonly AttackGroup[], N: number, o: SoftAttackOptions): SoftRun {
  const C = model.config.n_embd, n = o.tokens, nC = n * C;
  const epsDefault = defaultEps(model, o.norm);
  const eps = o.eps ?? epsDefault;
  const optimizer: SoftOptimizer = o.optimizer ?? (o.norm === "l2" ? "normalized" : "signed");
  const lr = o.lr ?? defaultLr(eps, o.steps, o.norm, optimizer, C);
  const D = o.universal ? 1 : N;
  const delta = alloc(D * nC);
  new Rng(o.seed, 61).fillNormal(delta, o.initStd);
  for (let k = 0; k < D * n; k++) projectVector(delta, k * C, C, eps, o.norm);
  const base = baseVectors(model, n, o.init);
  // Clean embeddings per batch (slot rows are overwritten by insertSoft).
  const clean = groups.map((g) => model.embedTokens(g.tokens, g.B, g.T).data);
  const grad = alloc(D * nC);
  const done = new Uint8Array(N), stepsUsed = new Int32Array(N);
  const lossCurve: number[] = [];
  const V = model.config.vocab_size;
  const lastLoss = new Float64Array(N); // per item, from its last forward pass (frozen items keep theirs)
  for (let step = 0; step < o.steps; step++) {
    grad.fill(0);
    let total = 0, solved = 0, frozenLoss = 0;
    for (let r = 0; r < N; r++) if (done[r]) {
      frozenLoss += lastLoss[r]!;
      solved++;
    }
    groups.forEach((full, gi) => {
      // Items already solved (early stop) leave the batch: their δ is frozen, so their loss is not needed.
      const active = o.universal ? null : activeRows(full, done);
      if (active && active.length === 0) return;
      const g = active && active.length < full.B ? selectRows(full, active) : full;
      const cl = g === full ? clean[gi]! : gatherRows(clean[gi]!, active!, g.T * C);
      const leaf = deltaLeaf(delta, g, o.universal, nC);
      let perItem: Tensor, logits: Tensor;
      try {
        const emb = insertSoft(cl, g.B, g.T, g.slots, base, leaf); // [B, T, C]
        ({ perItem, logits } = groupLoss(model, g, emb));
        backward(o.universal ? scale(sum(perItem), 1 / N) : sum(perItem));
      } catch (e) {
        clearTape();
        throw e;
      }
      const lg = leaf.grad!;
      if (o.universal) for (let i = 0; i < nC; i++) grad[i] += lg[i];
      else g.rows.forEach((r, b) => grad.set(lg.subarray(b * nC, (b + 1) * nC), r * nC));
      g.rows.forEach((r, b) => {
        total += perItem.data[b];
        lastLoss[r] = perItem.data[b];
      });
      // Teacher-forced exact match of the current input = greedy success (see score.ts).
      const { exact } = teacherForced(g, logits.data, V);
      g.rows.forEach((r, b) => {
        if (exact[b]) solved++;
        if (o.earlyStop && !o.universal && exact[b]) done[r] = 1;
      });
    });
    lossCurve.push((total + frozenLoss) / N);
    if (o.earlyStop && (o.universal ? solved === N : done.every((x) => x === 1))) break;
    for (let d = 0; d < D; d++) {
      if (!o.universal && done[d]) continue;
      for (let j = 0; j < n; j++) {
        const off = (d * n + j) * C;
        stepVector(delta, off, grad, off, C, lr, optimizer);
        projectVector(delta, off, C, eps, o.norm);
      }
    }
    for (let r = 0; r < N; r++) if (o.universal || !done[r]) stepsUsed[r]++;
  }
  const embeds = noGrad(() => groups.map((g, gi) => insertSoft(clean[gi]!, g.B, g.T, g.slots, base, deltaLeaf(delta, g, o.universal, nC)).data));
  return { embeds, delta, lossCurve, stepsUsed, settings: { eps, eps_default: epsDefault, optimizer, lr } };
}

