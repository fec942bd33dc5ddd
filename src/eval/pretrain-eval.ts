/**
 * Held-out evaluation of pre-training / instruction tuning, per mode and per PCFG: teacher-forced token accuracy
 * and exact match (as the reference), and greedy free-running exact match of both outputs.
 */
import { pretrainBatch } from "../data/batch.js";
import { PretrainSampler, PRETRAIN_MODES } from "../data/pretrain.js";
import type { GPT } from "../model/gpt.js";
import type { PretrainRunConfig } from "../stages/presets.js";
import { greedyGenerate } from "./generate.js";
import { argmaxPredictions, scoreTeacherForced, segmentMask } from "./teacher.js";

export interface GreedyCase {
  L: number;
  prompt: Uint8Array;
  /** Expected continuation to score (e.g. `out1 *^ out2 *^`). */
  expected: Uint8Array;
}

/**
 * Greedy exact match over cases (grouped by prompt length so each group is one batch). Returns per-case
 * [first-segment match, full match], where the first segment is the first `firstLen(L)` tokens.
 */
export function greedyExactMatch(model: GPT, cases: GreedyCase[], firstLen: (L: number) => number, chunk = 256): { first: boolean[]; full: boolean[]; outputs: Int32Array[] } {
  const first = new Array<boolean>(cases.length), full = new Array<boolean>(cases.length), outputs = new Array<Int32Array>(cases.length);
  const groups = new Map<string, number[]>();
  cases.forEach((c, i) => {
    const key = `${c.prompt.length}:${c.expected.length}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(i);
  });
  for (const idx of groups.values()) {
    for (let s = 0; s < idx.length; s += chunk) {
      const part = idx.slice(s, s + chunk);
      const P = cases[part[0]].prompt.length, steps = cases[part[0]].expected.length;
      const prompts = new Int32Array(part.length * P);
      part.forEach((ci, r) => prompts.set(cases[ci].prompt, r * P));
      const gen = greedyGenerate(model, prompts, part.length, P, steps);
      part.forEach((ci, r) => {
        const out = gen.subarray(r * steps, (r + 1) * steps);
        const exp = cases[ci].expected, f = firstLen(cases[ci].L);
        let okFirst = true, okAll = true;
        for (let t = 0; t < steps; t++) if (out[t] !== exp[t]) { okAll = false; if (t < f) okFirst = false; }
        first[ci] = okFirst;
        full[ci] = okAll;
        outputs[ci] = out.slice();
      });
    }
  }
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
  for (const key of ["greedy/em", "greedy/em_out1", "tf/pcfg/acc", "tf/full/em"]) {
    const [a, b] = key.split("/").length === 2 ? [key.split("/")[0], key.split("/")[1]] : [key.split("/").slice(0, 2).join("/"), key.split("/")[2]];
    const vals = cfg.data.pcfgs.map((k) => out[`${a}/pcfg${k}/${b}`]);
    out[key] = vals.reduce((x, y) => x + y, 0) / vals.length;
  }
  return out;
}
