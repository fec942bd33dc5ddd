/** The synthetic data-generating process: `import { … } from "nullspace/data"` style entry. */
export * from "./vocab.js";
export { MT19937, legacyPermutation } from "./mt19937.js";
export * from "./operators.js";
export * from "./grammars.js";
export * from "./safety.js";
export { labelText, type TextLabel } from "./label.js";
export { Rng, nameId } from "./rng.js";
export * from "./sequence.js";
export * from "./sample.js";
export * from "./pretrain.js";
export * from "./safety-data.js";
export * from "./evalsets.js";
export { Validator, type Recognition } from "./validator.js";
export * from "./batch.js";
export { openSet, setKind, SET_NAMES, type SampleRecord } from "./sets.js";
export { setStats, ambiguity, overlapFraction, type SetStats, type Ambiguity } from "./stats.js";
export { benchData, type BenchDataOptions } from "./bench.js";
