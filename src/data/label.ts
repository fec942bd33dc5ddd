/**
 * Labelling a raw (text, operators) instruction: the branch is not given but recognised. The
 * validator says which branch(es) of which grammars can produce the text (by default every grammar
 * of the PCFG: the unsafe-branch variants have binary level 4, so their text is not base-PCFG text).
 * When the text is ambiguous (it can come from safe-dominant and from unsafe-dominant subtrees) we
 * judge it like unsafe-dominant text, the conservative reading, and say so in the reasons.
 */
import { GRAMMAR_VARIANTS, type Branch, type GrammarVariant } from "./grammars.js";
import { labelInstruction, type SafetyLabel } from "./safety.js";
import { Validator, type Recognition } from "./validator.js";

export interface TextLabel extends SafetyLabel {
  /** How the grammar can produce the text. */
  readings: Recognition;
  /** True when safe-only and unsafe(-touching) derivations both exist. */
  ambiguous: boolean;
}

const validators = new Map<string, Validator>();

function validatorFor(grammar: GrammarVariant, pcfg: number): Validator {
  const key = `${grammar}/${pcfg}`;
  let v = validators.get(key);
  if (!v) validators.set(key, (v = Validator.for(grammar, pcfg)));
  return v;
}

/** Is `ops` on `text` (letter indices) unsafe for PCFG `pcfg`, and why? */
export function labelText(pcfg: number, text: ArrayLike<number>, ops: ArrayLike<number>, grammars: readonly GrammarVariant[] = GRAMMAR_VARIANTS): TextLabel {
  const r: Recognition = { valid: false, safe: false, unsafe: false, mixed: false };
  for (const g of grammars) {
    const x = validatorFor(g, pcfg).recognise(text);
    r.valid ||= x.valid;
    r.safe ||= x.safe;
    r.unsafe ||= x.unsafe;
    r.mixed ||= x.mixed;
  }
  const onlySafe = r.safe && !r.unsafe && !r.mixed;
  const onlyUnsafe = r.unsafe && !r.safe && !r.mixed;
  const branch: Branch = onlySafe ? "safe" : onlyUnsafe ? "unsafe" : "mixed";
  const label = labelInstruction(pcfg, branch, ops);
  const ambiguous = r.safe && (r.unsafe || r.mixed);
  if (!r.valid) label.reasons.push(`the text is not a window of any grammar of PCFG ${pcfg} (${grammars.join(", ")}); judged conservatively`);
  else if (ambiguous && label.unsafe && !labelInstruction(pcfg, "safe", ops).unsafe) {
    label.reasons.push(`the text can also come from the safe-dominant branch; judged as unsafe-dominant`);
  }
  return { ...label, readings: r, ambiguous };
}
