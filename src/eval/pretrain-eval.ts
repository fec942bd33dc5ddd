/**
 * Held-out evaluation of pre-training / instruction tuning, per mode and per PCFG: teacher-forced token accuracy
 * and exact match (as the reference), and greedy free-running exact match of both outputs.
 */
import { pretrainBatch } from "../data/batch.js";
import { PretrainSampler, PRETRAIN_MODES } from "../data/pretrain.js";
import type { GPT } from "../model/gpt.js";
import type { PretrainRunConfig } from "../stages/presets.js";
import { generateFor } from "./generate.js";
import { argmaxPredictions, scoreTeacherForced, segmentMask } from "./teacher.js";

export interface GreedyCase {
  L: number;
  prompt: Uint8Array;
  /** Expected continuation to score (e.g. `out1 *^ out2 *^`). */
  expected: Uint8Array;
}

/**
 * Greedy exact match over cases. Returns per case whether the first `firstLen(L)` tokens and the whole expected
 * continuation were produced.
 */
export function greedyExactMatch(model: GPT, cases: GreedyCase[], firstLen: (L: number) => number): { first: boolean[]; full: boolean[]; outputs: Int32Array[] } {
  const outputs = generateFor(model, cases.map((c) => c.prompt), cases.map((c) => c.expected.length));
  const first: boolean[] = [], full: boolean[] = [];
  cases.forEach((c, i) => {
    const out = outputs[i], f = firstLen(c.L);
    let okFirst = true, okAll = true;
    for (let t = 0; t < c.expected.length; t++) if (out[t] !== c.expected[t]) { okAll = false; if (t < f) okFirst = false; }
    first.push(okFirst);
    full.push(okAll);
  });
  return { first, full, outputs };
}

const mean = (xs: boolean[]) => (xs.length ? xs.filter(Boolean).length / xs.length : NaN);

/** Flat metric map: `tf/<mode>/pcfg<k>/{acc,em}`, `greedy/pcfg<k>/{em,em_out1}`, and PCFG averages. */
export function evaluatePretrain(model: GPT, cfg: PretrainRunConfig, opts: { n?: number; greedyN?: number } = {}): Record<string, number> {
  const n = opts.n ?? cfg.eval.n, gn = opts.greedyN ?? cfg.eval.greedy_n;
  const [lo, hi] = cfg.data.text_length;
  const out: Record<string, number> = {};
  const spec = (pcfg: number) => ({ seed: cfg.data.seed, split: "test" as const, pcfgs: [pcfg], textLength: { min: lo, max: hi } });
  for (const pcfg of cfg.data.pcfgs) {
    for (const mode of PRETRAIN_MODES) {
      const s = new PretrainSampler(spec(pcfg), { mode, exProb: 0 });
      const { batch } = pretrainBatch(s, 0, n, false);
      // Score the mode's own segment as the reference does: text+EOT for pcfg, the outputs (with their stops)
      // for full / comp1 / comp2 — the text itself is sampled from the PCFG and cannot be predicted exactly.
      const stop = (end: Int32Array) => end.map((e) => e + 1);
      const w =
        mode === "pcfg" ? batch.mask
        : mode === "full" ? segmentMask(batch, batch.out1Start, stop(batch.out2End))
        : mode === "comp1" ? segmentMask(batch, batch.out1Start, stop(batch.out1End))
        : segmentMask(batch, batch.out2Start, stop(batch.out2End));
      const score = scoreTeacherForced(batch, argmaxPredictions(model, batch), w);
      out[`tf/${mode}/pcfg${pcfg}/acc`] = score.tokenAcc;
      out[`tf/${mode}/pcfg${pcfg}/em`] = score.exactMatch;
    }
    const s = new PretrainSampler(spec(pcfg), { mode: "full", exProb: 0 });
    const cases: GreedyCase[] = [];
    for (let i = 0; i < gn; i++) {
      const smp = s.sample(1_000_000 + i); // indices disjoint from the teacher-forced batch above
      // `$ o1..o4 * text >` then `out1 *^ out2 *^`
      cases.push({ L: smp.L, prompt: smp.input.slice(0, smp.L + 7), expected: smp.input.slice(smp.L + 7, 3 * smp.L + 9) });
    }
    const g = greedyExactMatch(model, cases, (L) => L + 1);
    out[`greedy/pcfg${pcfg}/em`] = mean(g.full);
    out[`greedy/pcfg${pcfg}/em_out1`] = mean(g.first);
  }
  // Averages over PCFGs: `<prefix>/<metric>` from `<prefix>/pcfg<k>/<metric>`.
  for (const [prefix, metric] of [["greedy", "em"], ["greedy", "em_out1"], ["tf/pcfg", "acc"], ["tf/full", "em"]]) {
    const vals = cfg.data.pcfgs.map((k) => out[`${prefix}/pcfg${k}/${metric}`]);
    out[`${prefix}/${metric}`] = vals.reduce((x, y) => x + y, 0) / vals.length;
  }
  return out;
}
