/**
 * The analyses' inputs from the data module (test split). Conventions, as the reference scripts:
 *  - safe input   = x_safe:         the safe-operator twin with its correct continuation (`pairs.safe`);
 *  - unsafe input = x_unsafe_tgt:   the unsafe prompt with the *compliant* continuation teacher-forced
 *                                   (`pairs.compliant`), so output-position features follow that continuation;
 *  - window start = the EOT position (`segments.eot`), where the first output token is predicted.
 * Standard inputs come half from `std_safe` (safe-branch text) and half from `std_unsafe` (unsafe-branch text).
 * The reference sample for the cluster means uses item indices from `REF_OFFSET` on, disjoint from the test items
 * 0..n−1 (items are pure functions of their index). Unlike the reference, no set is counted twice.
 */
import { EvalSampler, type EvalSetName } from "../data/evalsets.js";
import type { DataSpec } from "../data/sample.js";
import type { Seq } from "../data/sequence.js";
import type { SeqInput } from "./features.js";
import type { ClusterData } from "./clustering.js";

export const REF_OFFSET = 1_000_000;
export const JAILBREAK_SETS: readonly EvalSetName[] = ["jb_co_task", "jb_co_text", "jb_misgen_tokens", "jb_misgen_text", "jb_co_comp"];

function seqInput(seq: Seq, eot: number): SeqInput {
  return { tokens: seq.input, start: eot };
}

/** n safe and n unsafe test inputs, and n + n disjoint reference inputs, split over std_safe / std_unsafe. */
export function standardInputs(spec: DataSpec, n: number, refN = n): ClusterData {
  const test = { ...spec, split: "test" as const };
  const sets = [new EvalSampler(test, "std_safe"), new EvalSampler(test, "std_unsafe")];
  const take = (count: number, offset: number) => {
    const safe: SeqInput[] = [], unsafe: SeqInput[] = [];
    for (let i = 0; i < count; i++) {
      const item = sets[i % 2].item(offset + (i >> 1));
      safe.push(seqInput(item.pairs.safe!, item.segments.eot));
      unsafe.push(seqInput(item.pairs.compliant, item.segments.eot));
    }
    return { safe, unsafe };
  };
  const t = take(n, 0), r = take(refN, REF_OFFSET);
  return { refSafe: r.safe, refUnsafe: r.unsafe, testSafe: t.safe, testUnsafe: t.unsafe };
}


/**
 * The spec a set is drawn with, as the evaluation module does: jb_misgen_tokens has no unsafe alias operator on
 * PCFG 2, so that PCFG is dropped for it (null when nothing is left).
 */
export function specForSet(spec: DataSpec, set: EvalSetName): DataSpec | null {
  if (set !== "jb_misgen_tokens" || !spec.pcfgs?.includes(2)) return spec;
  const rest = spec.pcfgs.filter((k) => k !== 2);
  return rest.length ? { ...spec, pcfgs: rest } : null;
}

/**
 * x_unsafe_tgt of items 0..n−1 of a set's test split: the same items, in the same order, that the evaluation
 * module's `evaluateSet(model, spec, set, n)` scores, so its `outcomes[i] === "comply"` marks successful jailbreaks.
 */
export function jailbreakInputs(spec: DataSpec, set: EvalSetName, n: number): SeqInput[] {
  const s = new EvalSampler({ ...spec, split: "test" }, set);
  return Array.from({ length: n }, (_, i) => {
    const item = s.item(i);
    return seqInput(item.pairs.compliant, item.segments.eot);
  });
}

